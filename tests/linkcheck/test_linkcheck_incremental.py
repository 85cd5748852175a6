"""The incremental link check gives what a full check gives, edit after edit.

Each step changes the built site (an edited page, a rename, a deletion, an anchor removed and
put back, a new page, a changed ``<base>``), then checks it twice: with the cache the earlier
steps left (incremental) and with an empty cache (full). Status, counts, findings and the CSV
must be the same, apart from the timing columns that differ between any two runs.
"""

from __future__ import annotations

import concurrent.futures
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from linkcheck_helpers import parse_csv

from stages.base import StageContext, StageResult
from stages.linkcheck import stage
from stages.linkcheck.options import Options
from stages.site.options import SiteOptions

PAGES = 30
_TIMING = ("dltime", "checktime")
_REUSE = ("pages_parsed", "reused")


def page(n: int, *, anchor: bool = True, extra: str = "") -> str:
    target = (n + 1) % PAGES
    return "\n".join([
        "<!DOCTYPE html><html><head><link rel=stylesheet href=\"../assets/site.css\"></head><body>",
        f'<h1 id="top">Page {n}</h1>' + (f'<h2 id="sec{n}">Section</h2>' if anchor else ""),
        f'<a href="../p{target}/">next</a>',
        f'<a href="../p{target}/#sec{target}">next section</a>',
        '<a href="../p3/#sec3">always p3</a>',
        '<a href="/en/p5/">root-relative p5</a>',
        '<a href="../missing/">broken</a>',
        '<img src="../assets/logo.png" alt="logo">',
        extra,
        "</body></html>",
    ])


def write(root: Path, files: dict[str, str | None]) -> None:
    for rel, text in files.items():
        path = root / "out" / rel
        if text is None:
            path.unlink()
            if not any(path.parent.iterdir()):
                path.parent.rmdir()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def context(root: Path, cache: Path, workspace: Path,
            executor: concurrent.futures.Executor | None) -> StageContext[Options]:
    return StageContext(
        job_id="job1", workspace=workspace, source=root / "src", out=root / "out",
        cache_dir=cache, sites_dir=root / "sites",
        site=SiteOptions(base_url="http://127.0.0.1:8080/sites/staging/", languages=["en"]),  # type: ignore[call-arg]
        options=Options(fail_on_broken=True), previous={}, executor=executor,
    )


def comparable(result: StageResult, workspace: Path) -> dict[str, Any]:
    rows = parse_csv((workspace / stage.REPORT).read_text("utf-8"))
    return {
        "status": result.status, "message": result.message, "error_code": result.error_code,
        "counts": {k: v for k, v in result.counts.items() if k not in _REUSE},
        "findings": [f.to_dict() for f in result.findings],
        "csv": [{k: v for k, v in r.items() if k not in _TIMING} for r in rows],
    }


Step = Callable[[Path], None]
STEPS: list[tuple[str, Step]] = [
    ("edit one page", lambda r: write(r, {"en/p10/index.html": page(10, extra='<a href="../p11/#nope">x</a>')})),
    ("rename a page", lambda r: write(r, {"en/p5/index.html": None, "en/p5b/index.html": page(5)})),
    ("delete a page", lambda r: write(r, {"en/p7/index.html": None})),
    ("remove an anchor", lambda r: write(r, {"en/p3/index.html": page(3, anchor=False)})),
    ("put the anchor back", lambda r: write(r, {"en/p3/index.html": page(3)})),
    ("add the renamed page back", lambda r: write(r, {"en/p5/index.html": page(5)})),
    ("a page gets a <base>", lambda r: write(r, {"en/p12/index.html": page(12).replace(
        "<head>", '<head><base href="/en/p20/">')})),
    ("delete the stylesheet", lambda r: write(r, {"assets/site.css": None})),
]


async def _check_sequence(tmp_path: Path, executor: concurrent.futures.Executor | None) -> None:
    write(tmp_path, {f"en/p{n}/index.html": page(n) for n in range(PAGES)})
    write(tmp_path, {"en/index.html": '<a href="p0/">start</a>', "assets/logo.png": "png",
                     "assets/site.css": "body { background: url(logo.png) }"})
    cache = tmp_path / "cache"
    first = await stage.run(context(tmp_path, cache, tmp_path / "inc", executor))
    assert first.counts["pages_parsed"] == PAGES + 1 and first.counts["reused"] == 0
    for name, change in STEPS:
        change(tmp_path)
        incremental = await stage.run(context(tmp_path, cache, tmp_path / "inc", executor))
        full = await stage.run(context(tmp_path, tmp_path / f"fresh-{name}", tmp_path / "full", executor))
        assert comparable(incremental, tmp_path / "inc") == comparable(full, tmp_path / "full"), name
        assert incremental.counts["pages_parsed"] <= 1, (name, incremental.counts)
        assert full.counts["reused"] == 0
        assert incremental.counts["reused"] >= PAGES - 2, (name, incremental.counts)


async def test_incremental_equals_full_over_edits(tmp_path: Path) -> None:
    await _check_sequence(tmp_path, None)


async def test_incremental_equals_full_with_the_process_pool(tmp_path: Path) -> None:
    """Enough new pages go to the pool before the crawl; the result is the same."""
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        await _check_sequence(tmp_path, pool)


async def test_edits_change_the_verdicts(tmp_path: Path) -> None:
    """The sequence above really moves the result, so the equality means something."""
    write(tmp_path, {f"en/p{n}/index.html": page(n) for n in range(PAGES)})
    write(tmp_path, {"en/index.html": '<a href="p0/">start</a>', "assets/logo.png": "png",
                     "assets/site.css": ""})
    cache = tmp_path / "cache"
    before = await stage.run(context(tmp_path, cache, tmp_path / "ws", None))
    write(tmp_path, {"en/p3/index.html": page(3, anchor=False), "en/p7/index.html": None})
    after = await stage.run(context(tmp_path, cache, tmp_path / "ws", None))
    assert after.counts["missing_anchors"] > before.counts["missing_anchors"]
    assert after.counts["broken"] > before.counts["broken"]
    assert any("p7" in (f.url or "") for f in after.findings if f.rule == "broken-link")
    assert any(f.rule == "missing-anchor" and "sec3" in (f.url or "") for f in after.findings)


async def test_the_pool_joins_links_as_the_crawl_does(tmp_path: Path) -> None:
    """The pool resolves each new page's links against the URL the crawl starts it from, so the
    crawl only schedules them: a cold check with the pool reports what one without it reports,
    and the joins it keeps are the crawl's own (same page URLs and ``<base>``, same absolutes)."""
    write(tmp_path, {f"en/p{n}/index.html": page(n) for n in range(PAGES)})
    write(tmp_path, {"en/p12/index.html": page(12).replace("<head>", '<head><base href="/en/p20/">'),
                     "en/index.html": '<a href="p0/">start</a>', "assets/logo.png": "png",
                     "assets/site.css": "body { background: url(logo.png) }"})
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        pooled = await stage.run(context(tmp_path, tmp_path / "c-pool", tmp_path / "w-pool", pool))
    inline = await stage.run(context(tmp_path, tmp_path / "c-inline", tmp_path / "w-inline", None))
    assert comparable(pooled, tmp_path / "w-pool") == comparable(inline, tmp_path / "w-inline")
    assert pooled.counts["pages_parsed"] == inline.counts["pages_parsed"] == PAGES + 1

    def joined(cache: Path) -> dict[str, Any]:
        [saved] = (cache / "linkcheck").glob("pages-*.json")
        return dict(json.loads(saved.read_text("utf-8"))["joined"])

    assert joined(tmp_path / "c-pool") == joined(tmp_path / "c-inline")
    assert len(joined(tmp_path / "c-pool")) >= PAGES
