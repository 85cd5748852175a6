"""The render_pdf stage on small fixture books: content, numbering, navigation, cache, failures."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import hashlib
import multiprocessing
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from pdf_fixtures import SVG, FixturePage, paragraphs, small_book, write_site
from pypdf import PdfReader

from stages.base import Cancelled, StageContext, StageResult
from stages.render_pdf import builder
from stages.render_pdf import stage as pdf_stage
from stages.render_pdf.options import Options
from stages.site.options import SiteOptions


def make_ctx(ws: Path, outputs: dict[str, Any], **opts: Any) -> StageContext:
    return StageContext(
        job_id="job1", workspace=ws, source=ws / "source", out=ws / "out", cache_dir=ws.parent / "cache",
        sites_dir=ws.parent / "sites", site=SiteOptions(title="Fixture Book", version="2.0"),
        options=Options(**{"chapter_pages": 2, **opts}), trigger={"commit": "abc123def4567890"},
        now=lambda: datetime.datetime(2026, 11, 23, 16, 0, tzinfo=datetime.UTC), previous={"render_html": StageResult(outputs=outputs)},
    )


def page_texts(pdf: Path) -> list[str]:
    count = len(PdfReader(pdf).pages)
    return [
        subprocess.run(["pdftotext", "-layout", "-f", str(i), "-l", str(i), str(pdf), "-"],
                       capture_output=True, text=True, check=True).stdout
        for i in range(1, count + 1)
    ]


def image_x_ppi(pdf: Path) -> int:
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(listing.splitlines()[2].split()[12])


def toc_numbers(texts: list[str]) -> dict[str, int]:
    """``Title ....... 7`` lines of the contents page(s)."""
    numbers = {}
    for text in texts[1:3]:
        for m in re.finditer(r"^\s*(\S.*?)\s*\.{3,}\s*(\d+)\s*$", text, re.MULTILINE):
            numbers[m.group(1)] = int(m.group(2))
    return numbers


def first_line(text: str) -> str:
    return next(line.strip() for line in text.splitlines() if line.strip())


def footer_number(text: str) -> int | None:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return int(lines[-1]) if lines and lines[-1].isdigit() else None


@pytest.fixture
def site(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    ws = tmp_path / "ws"
    outputs = write_site(ws / "out", {"en": small_book()})
    (ws / "out" / "assets" / "pic.svg").write_text(SVG)
    return ws, outputs


async def test_book_has_cover_toc_numbers_headers_and_footers(site: tuple[Path, dict[str, Any]]) -> None:
    ws, outputs = site
    result = await pdf_stage.run(make_ctx(ws, outputs))

    assert result.status == "passed", result
    assert result.artifacts == {"pdf.en": "out/pdf/en.pdf"}
    pdf = ws / "out" / "pdf" / "en.pdf"
    texts = page_texts(pdf)
    assert "Fixture Book" in texts[0] and "Version 2.0" in texts[0]
    assert "abc123def456" in texts[0] and "2026-11-23" in texts[0]
    numbers = toc_numbers(texts)
    assert set(numbers) >= {"Welcome", "Guide", "Install", "Usage", "Reference", "API reference", "About"}
    for title in ("Welcome", "Install", "Usage", "API reference", "About"):
        page = texts[numbers[title] - 1]
        assert title in page.split("\n\n")[0] or first_line(page) == title, (title, page[:200])
    # every page but the cover carries its own number in the footer
    assert [footer_number(t) for t in texts[1:]] == list(range(2, len(texts) + 1))
    # the long Install page continues with a running header naming it
    install = numbers["Install"]
    assert first_line(texts[install]) == "Install"
    assert "footer text that must not be in the PDF" not in "".join(texts)
    assert result.counts["pages"] == len(texts)


async def test_bookmarks_follow_the_nav(site: tuple[Path, dict[str, Any]]) -> None:
    ws, outputs = site
    await pdf_stage.run(make_ctx(ws, outputs))
    reader = PdfReader(ws / "out" / "pdf" / "en.pdf")
    numbers = toc_numbers(page_texts(ws / "out" / "pdf" / "en.pdf"))

    def flatten(items: list[Any], depth: int = 0) -> list[tuple[int, str, int]]:
        out: list[tuple[int, str, int]] = []
        for item in items:
            if isinstance(item, list):
                out += flatten(item, depth + 1)
            else:
                out.append((depth, item.title, reader.get_destination_page_number(item) + 1))
        return out

    outline = flatten(reader.outline)
    assert [(d, t) for d, t, _ in outline] == [
        (0, "Welcome"), (0, "Guide"), (1, "Install"), (2, "Requirements"), (1, "Usage"),
        (2, "Advanced usage"), (0, "Reference"), (1, "API reference"), (0, "About"),
    ]
    for _, title, page in outline:
        if title in numbers:
            assert page == numbers[title], title


async def test_links_between_pages_are_internal_and_external_links_stay(site: tuple[Path, dict[str, Any]]) -> None:
    ws, outputs = site
    await pdf_stage.run(make_ctx(ws, outputs))
    pdf = ws / "out" / "pdf" / "en.pdf"
    reader = PdfReader(pdf)
    texts = page_texts(pdf)
    numbers = toc_numbers(texts)
    advanced_page = next(i + 1 for i, t in enumerate(texts) if "Advanced usage" in t and i > 2)
    links: dict[int, list[Any]] = {}
    for number, page in enumerate(reader.pages, start=1):
        for ref in page.get("/Annots") or []:
            annot = ref.get_object()
            if "/Dest" in annot:
                links.setdefault(number, []).append(reader.get_page_number(annot["/Dest"][0].get_object()) + 1)
            else:
                links.setdefault(number, []).append(annot["/A"]["/URI"])
    assert numbers["Install"] in links[numbers["Welcome"]]  # "Start at Install"
    # the page that ends Install links to "advanced usage" in another chapter, and to the web
    install_end = numbers["Usage"] - 1
    assert advanced_page in links[install_end]
    assert "https://example.com/ext" in links[install_end]
    # and Usage links back to the Requirements heading of Install
    assert numbers["Install"] in links[advanced_page]
    assert not any(isinstance(x, str) and x.startswith("pressroom-internal:") for v in links.values() for x in v)


async def test_code_is_wrapped_and_images_are_scaled(tmp_path: Path) -> None:
    from PIL import Image

    ws = tmp_path / "ws"
    code = "".join(f"value_{i} = {i}; " for i in range(120))
    pages = [FixturePage("index.md", "Home", f'<pre><code>{code}</code></pre><p><img src="../assets/wide.png"></p>')]
    outputs = write_site(ws / "out", {"en": pages})
    Image.new("RGB", (3000, 200), "red").save(ws / "out" / "assets" / "wide.png")

    result = await pdf_stage.run(make_ctx(ws, outputs))

    assert result.status == "passed"
    pdf = ws / "out" / "pdf" / "en.pdf"
    text = "".join(page_texts(pdf)).replace("\n", "").replace(" ", "")
    assert all(f"value_{i}={i};" in text for i in range(120))
    assert image_x_ppi(pdf) > 300  # 3000 px squeezed into the text width (~6.6 in), not 31 in at 96 dpi


@pytest.mark.slow
async def test_only_changed_chapters_render_again_and_numbers_follow(site: tuple[Path, dict[str, Any]]) -> None:
    ws, outputs = site
    first = await pdf_stage.run(make_ctx(ws, outputs))
    chapters = first.counts["chapters"]
    assert first.counts["chapters_rendered"] == chapters

    unchanged = await pdf_stage.run(make_ctx(ws, outputs))
    assert unchanged.outputs["languages"]["en"]["cached"] is True
    assert unchanged.counts["chapters_rendered"] == 0

    # the first page grows by several sheets: only its chapter renders, later numbers move
    before = toc_numbers(page_texts(ws / "out" / "pdf" / "en.pdf"))
    welcome = outputs["languages"]["en"]["pages"][0]
    path = ws / "out" / welcome["file"]
    text = path.read_text().replace("</main>", paragraphs(30, "grown") + "</main>")
    path.write_text(text)
    welcome["hash"] = hashlib.sha256(text.encode()).hexdigest()

    edited = await pdf_stage.run(make_ctx(ws, outputs))

    assert edited.counts["chapters_rendered"] == 1
    texts = page_texts(ws / "out" / "pdf" / "en.pdf")
    after = toc_numbers(texts)
    shift = after["Install"] - before["Install"]
    assert shift >= 3
    assert after["About"] - before["About"] == shift
    assert first_line(texts[after["About"] - 1]) == "About"
    assert [footer_number(t) for t in texts[1:]] == list(range(2, len(texts) + 1))


async def test_a_huge_page_renders_in_parts_with_right_numbers(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    big = "".join(f'<h2 id="v{i}">Version {i}</h2>' + paragraphs(12) for i in range(8))
    pages = [FixturePage("index.md", "Home", "<p>hi</p>"), FixturePage("notes.md", "Release notes", big),
             FixturePage("end.md", "The end", "<p>bye</p>")]
    outputs = write_site(ws / "out", {"en": pages})

    result = await pdf_stage.run(make_ctx(ws, outputs, split_bytes=10_000))

    assert result.status == "passed"
    assert result.counts["chapters"] >= 4
    texts = page_texts(ws / "out" / "pdf" / "en.pdf")
    numbers = toc_numbers(texts)
    assert first_line(texts[numbers["The end"] - 1]) == "The end"
    later = [t for t in texts[numbers["Release notes"]:numbers["The end"] - 1]]
    assert later and all(first_line(t) == "Release notes" for t in later)
    assert all(f"Version {i}" in "".join(texts) for i in range(8))


@pytest.mark.slow
async def test_two_languages_render_in_one_run_and_language_filter(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    outputs = write_site(ws / "out", {"en": small_book("en", long_page=3), "de": small_book("de", long_page=3)})

    both = await pdf_stage.run(make_ctx(ws, outputs))
    assert both.artifacts == {"pdf.en": "out/pdf/en.pdf", "pdf.de": "out/pdf/de.pdf"}

    ctx = dataclasses.replace(make_ctx(ws, outputs), language="de")
    only_de = await pdf_stage.run(ctx)
    assert only_de.artifacts == {"pdf.de": "out/pdf/de.pdf"}


async def test_untrusted_resources_are_not_fetched(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    secret = tmp_path / "secret.svg"
    secret.write_text(SVG)
    body = (f'<img src="{secret.as_uri()}"><img src="http://127.0.0.1:9/x.png">'
            '<img src="../../../../../../secret.svg"><p>still rendered</p>')
    outputs = write_site(ws / "out", {"en": [FixturePage("index.md", "Home", body)]})

    result = await pdf_stage.run(make_ctx(ws, outputs))

    assert result.status == "passed"
    pdf = ws / "out" / "pdf" / "en.pdf"
    assert "still rendered" in "".join(page_texts(pdf))
    assert b"/Subtype /Image" not in pdf.read_bytes() and b"/Subtype/Image" not in pdf.read_bytes()


async def _no_new_children(before: set[Any]) -> None:
    """Every child started by the stage is gone. The pool's manager thread may reap a killed child
    a moment before ``Process`` notices (a waitpid race that makes it look alive), so look again
    for a few seconds before failing."""
    deadline = time.monotonic() + 10
    while set(multiprocessing.active_children()) - before and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert set(multiprocessing.active_children()) - before == set()


async def test_timeout_degrades_and_kills_the_children(site: tuple[Path, dict[str, Any]]) -> None:
    ws, outputs = site
    before = set(multiprocessing.active_children())
    # spawning a child and importing WeasyPrint alone takes longer than this
    result = await pdf_stage.run(make_ctx(ws, outputs, timeout=0.01))

    assert result.status == "degraded"
    assert result.error_code == "pdf_timeout"
    assert result.findings[0].severity == "warning" and result.findings[0].rule == "pdf_timeout"
    assert result.artifacts == {}
    await _no_new_children(before)


async def test_timeout_fails_the_stage_when_required(site: tuple[Path, dict[str, Any]]) -> None:
    ws, outputs = site
    result = await pdf_stage.run(make_ctx(ws, outputs, timeout=0.01, required=True))
    assert result.status == "failed"
    assert result.error_code == "pdf_timeout"
    assert not result.ok


async def test_a_crash_in_a_child_degrades_with_pdf_failed(site: tuple[Path, dict[str, Any]]) -> None:
    ws, outputs = site
    ctx = make_ctx(ws, outputs)
    inp = pdf_stage._inputs(ctx, ctx.options)[0]
    plan, _ = builder.plan_book(inp, ctx.options)
    # the child cannot write this chapter: its target path is a directory
    (inp.cache_dir / "en" / f"u-{plan.unit_keys[1]}.pdf").mkdir(parents=True)

    result = await pdf_stage.run(ctx)

    assert result.status == "degraded"
    assert result.error_code == "pdf_failed"
    assert "en" in result.findings[0].message


async def test_no_pages_means_skipped(tmp_path: Path) -> None:
    outputs = {"site_dir": "out", "languages": {"en": {"dir": "out/en", "pages": [], "changed": []}}}
    result = await pdf_stage.run(make_ctx(tmp_path / "ws", outputs))
    assert result.status == "skipped"


async def test_cancelling_stops_the_children(site: tuple[Path, dict[str, Any]]) -> None:
    ws, outputs = site
    chapters = ws.parent / "cache" / "pdf" / "docs" / "en"
    # the user cancels once the first chapter is rendered, while the others are in the children
    ctx = dataclasses.replace(make_ctx(ws, outputs), should_cancel=lambda: any(chapters.glob("u-*.pdf")))

    before = set(multiprocessing.active_children())
    with pytest.raises(Cancelled):
        await pdf_stage.run(ctx)

    await _no_new_children(before)
    assert not (ws / "out" / "pdf" / "en.pdf").exists()
