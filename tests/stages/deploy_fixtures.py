"""A built job workspace (render_html + render_pdf outputs) and contexts for deploy tests."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pdf_fixtures import FixturePage, write_site

from stages.base import StageContext, StageResult
from stages.deploy.options import Options
from stages.site.options import SiteOptions

BASE_URL = "http://127.0.0.1:8080/sites/staging/"


def pages(extra: str = "") -> list[FixturePage]:
    return [
        FixturePage("index.md", "Home", "<p>Welcome home.</p>"),
        FixturePage("guide/install.md", "Install", f"<p>Run the installer.</p>{extra}", section=["Guide"]),
        FixturePage("guide/usage.md", "Usage", "<p>Use it well.</p>", section=["Guide"]),
    ]


def build(data: Path, job_id: str, page_list: list[FixturePage] | None = None, *, pdf: bool = True) -> Path:
    """A job workspace as the build stages leave it; returns the workspace."""
    ws = data / "jobs" / job_id
    outputs = write_site(ws / "out", {"en": page_list if page_list is not None else pages()})
    (ws / "out" / "assets" / "site.css").write_text("body{}")
    results = {"render_html": StageResult(outputs=outputs)}
    if pdf:
        (ws / "out" / "pdf").mkdir(parents=True, exist_ok=True)
        (ws / "out" / "pdf" / "en.pdf").write_bytes(b"%PDF-1.7 " + job_id.encode())
        results["render_pdf"] = StageResult(artifacts={"pdf.en": "out/pdf/en.pdf"})
    _RESULTS[str(ws)] = results
    return ws


_RESULTS: dict[str, dict[str, StageResult]] = {}


def context(
    data: Path, ws: Path, *, options: Options | None = None, target: str | None = None,
    release_from: Path | None = None,
    lease: Callable[[], Awaitable[bool]] | None = None, previous: dict[str, StageResult] | None = None,
) -> StageContext:
    kwargs: dict[str, Any] = {}
    if lease is not None:
        kwargs["check_lease"] = lease
    return StageContext(
        job_id=ws.name, workspace=ws, source=ws / "source", out=ws / "out", cache_dir=data / "cache",
        sites_dir=data / "sites", site=SiteOptions(name="docs", base_url=BASE_URL),
        options=options or Options(), previous={**_RESULTS[str(ws)], **(previous or {})},
        target=target, release_from=release_from, **kwargs,
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
