"""The seed flow's stage half: the real render_html output -> render_pdf -> deploy -> served PDF."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader
from test_pdf_stage import first_line, page_texts, toc_numbers

from stages.base import StageContext, StageResult
from stages.deploy import stage as deploy_stage
from stages.deploy.options import Options as DeployOptions
from stages.render_html import stage as html_stage
from stages.render_html.options import Options as HtmlOptions
from stages.render_pdf import stage as pdf_stage
from stages.render_pdf.options import Options as PdfOptions
from stages.site.options import SiteOptions

SAMPLES = Path(__file__).resolve().parents[2] / "content-samples"


@pytest.mark.slow
async def test_sample_site_to_a_deployed_pdf(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(SAMPLES, source)
    site = SiteOptions.model_validate({
        "name": "samples", "title": "Sample Docs", "source": str(source),
        "languages": ["en", "es"], "base_url": "http://127.0.0.1:8080/sites/staging/",
    })
    ws = tmp_path / "jobs" / "job1"
    base = StageContext(job_id="job1", workspace=ws, source=source, out=ws / "out",
                        cache_dir=tmp_path / "cache", sites_dir=tmp_path / "sites", site=site,
                        options=HtmlOptions())
    html = await html_stage.run(base)
    assert html.status == "passed"
    previous: dict[str, StageResult] = {"render_html": html}

    pdf = await pdf_stage.run(dataclasses.replace(base, options=PdfOptions(), previous=previous))

    assert pdf.status == "passed", pdf
    assert set(pdf.artifacts) == {"pdf.en", "pdf.es"}
    assert not [f for f in pdf.findings if f.rule == "pdf-missing-page"]
    book = ws / pdf.artifacts["pdf.en"]
    texts = page_texts(book)
    numbers = toc_numbers(texts)
    en_pages = html.outputs["languages"]["en"]["pages"]
    assert len(numbers) >= len(en_pages)
    for entry in en_pages:
        page = texts[numbers[entry["title"]] - 1]
        assert entry["title"] in page, entry["title"]
    reader = PdfReader(book)
    internal = sum(1 for p in reader.pages for a in (p.get("/Annots") or []) if "/Dest" in a.get_object())
    assert internal > len(en_pages)  # the TOC's links and the pages' own cross-links
    assert first_line(texts[0]) == "Sample Docs"
    previous["render_pdf"] = pdf

    deployed = await deploy_stage.run(dataclasses.replace(base, options=DeployOptions(), previous=previous))

    live = tmp_path / "sites" / "staging" / "current"
    assert os.readlink(live) == "releases/job1"
    assert (live / "en" / "samples.pdf").read_bytes() == book.read_bytes()
    assert (live / "es" / "samples.pdf").is_file()
    assert deployed.outputs["pdf"]["en"] == "http://127.0.0.1:8080/sites/staging/en/samples.pdf"
    assert deployed.counts["pages"] >= len(en_pages)
