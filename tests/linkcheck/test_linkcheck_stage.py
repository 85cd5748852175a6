"""The ``linkcheck`` stage on a built site in tmp_path (the render stage's layout)."""

from __future__ import annotations

from pathlib import Path

import pytest
from linkcheck_helpers import FaultSite, parse_csv

from stages.base import Cancelled, StageContext, StageError, StageResult
from stages.linkcheck import stage
from stages.linkcheck.options import Options
from stages.site.options import SiteOptions


def make_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def built_site(root: Path, external: str = "http://127.0.0.1:9/") -> None:
    make_tree(root / "out", {
        "index.html": '<a href="en/">English</a><a href="/assets/style.css">css</a>',
        "404.html": '<a href="/en/">home</a>',
        "assets/style.css": "body { background: url(logo.png) }\nh1 { background: url(../assets/nope.png) }\n",
        "assets/logo.png": "png",
        "en/index.html": "\n".join([
            "<!DOCTYPE html><html><head><link rel=stylesheet href=\"../assets/style.css\"></head><body>",
            '<a href="guide/install/">install</a>',
            '<a href="/en/guide/">root-relative</a>',
            '<a href="/sites/staging/en/guide/install/#setup">with base path and anchor</a>',
            '<a href="guide/install/#nope">missing anchor</a>',
            '<a href="guide/missing/">broken</a>',
            f'<a href="{external}ext-ok.html">external ok</a>',
            f'<a href="{external}ext-missing.html">external broken</a>',
            '<img src="../assets/logo.png" alt="logo">',
            "</body></html>",
        ]),
        "en/guide/index.html": '<a href="install/">install</a><a href="../">up</a>',
        "en/guide/install/index.html": '<h2 id="setup">Setup</h2><a href="../../">home</a><a href="../install/#setup">self</a>',
        "pdf/en.pdf": "%PDF-1.4",
    })


def render_outputs() -> StageResult:
    pages = [
        {"file": "en/index.html", "url": "en/", "src": "index.md"},
        {"file": "en/guide/index.html", "url": "en/guide/", "src": "guide/index.md"},
        {"file": "en/guide/install/index.html", "url": "en/guide/install/", "src": "guide/install.md"},
    ]
    return StageResult(outputs={"site_dir": "out", "languages": {"en": {"pages": pages}}})


def context(root: Path, *, previous: bool = True, progress: list[float] | None = None,
            cancel: bool = False, **options: object) -> StageContext:
    def record(percent: float, message: str | None = None) -> None:
        if progress is not None:
            progress.append(percent)

    return StageContext(
        job_id="job1", workspace=root, source=root / "src", out=root / "out",
        cache_dir=root / "cache", sites_dir=root / "sites",
        site=SiteOptions(base_url="http://127.0.0.1:8080/sites/staging/", languages=["en"]),  # type: ignore[call-arg]
        options=Options(**options),  # type: ignore[arg-type]
        previous={"render_html": render_outputs()} if previous else {},
        progress=record, should_cancel=lambda: cancel,
    )


async def test_broken_internal_links_fail_the_build(tmp_path: Path) -> None:
    built_site(tmp_path)
    progress: list[float] = []
    result = await stage.run(context(tmp_path, progress=progress))
    assert result.status == "failed" and result.error_code == "broken_links"
    by_rule: dict[str, list[str]] = {}
    for finding in result.findings:
        by_rule.setdefault(finding.rule, []).append(f"{finding.file}:{finding.line}:{finding.url}")
    assert sorted(by_rule["broken-link"]) == [
        "assets/style.css:2:../assets/nope.png", "index.md:6:guide/missing/"]
    assert by_rule["missing-anchor"] == ["index.md:5:guide/install/#nope"]
    assert "external-broken" not in by_rule  # external = "off"
    broken = next(f for f in result.findings if f.rule == "broken-link" and f.file == "index.md")
    assert broken.severity == "error" and broken.language == "en" and broken.column == 1
    assert "404" in broken.message and "en/index.html" in broken.message
    assert result.counts["broken"] == 3 and result.counts["missing_anchors"] == 1
    assert result.counts["checked"] == result.counts["urls"] > 10
    assert result.artifacts == {"reports.linkcheck": "reports/linkcheck.csv"}
    rows = parse_csv((tmp_path / "reports/linkcheck.csv").read_text("utf-8"))
    assert {r["urlname"] for r in rows} == {"../assets/nope.png", "guide/missing/", "guide/install/#nope"}
    assert progress and progress[-1] == 100.0
    assert result.outputs["first"][0]["rule"] in ("broken-link", "missing-anchor")


async def test_malformed_and_mail_links_are_broken_links_not_external(tmp_path: Path) -> None:
    make_tree(tmp_path / "out", {"en/index.html": '<a href="mailto:bad@@">m</a><a href="http://[bad">u</a>'
                                                  '<a href="mailto:docs@example.com">ok</a>'})
    result = await stage.run(context(tmp_path))
    assert sorted((f.rule, f.url) for f in result.findings) == [
        ("broken-link", "http://[bad"), ("broken-link", "mailto:bad@@")]
    assert result.status == "failed"


async def test_without_fail_on_broken_the_build_passes(tmp_path: Path) -> None:
    built_site(tmp_path)
    result = await stage.run(context(tmp_path, fail_on_broken=False, previous=False))
    assert result.status == "passed"
    assert {f.severity for f in result.findings if f.rule == "broken-link"} == {"warning"}
    # without the render stage's page list, findings name the built file
    assert any(f.file == "en/index.html" for f in result.findings)


async def test_clean_site_passes(tmp_path: Path) -> None:
    make_tree(tmp_path / "out", {"en/index.html": '<a href="a/">a</a>', "en/a/index.html": '<a href="../">up</a>'})
    result = await stage.run(context(tmp_path))
    assert result.status == "passed" and not result.findings
    assert parse_csv((tmp_path / "reports/linkcheck.csv").read_text("utf-8")) == []


async def test_external_links_warn_or_fail(tmp_path: Path, fault_site: FaultSite) -> None:
    built_site(tmp_path, external=fault_site.external + "/")
    (tmp_path / "out/assets/style.css").write_text("")
    (tmp_path / "out/en/index.html").write_text(
        f'<a href="{fault_site.external}/ext-ok.html">ok</a><a href="{fault_site.external}/ext-missing.html">x</a>')
    warn = await stage.run(context(tmp_path, external="warn"))
    assert warn.status == "passed"
    [finding] = [f for f in warn.findings if f.rule == "external-broken"]
    assert finding.severity == "warning" and (finding.url or "").endswith("ext-missing.html")
    assert warn.counts["external"] == 2
    fail = await stage.run(context(tmp_path, external="fail"))
    assert fail.status == "failed" and fail.error_code == "broken_links"
    # the good external URL came from the between-builds cache the second time
    assert (tmp_path / "cache/linkcheck/results.json").is_file()


async def test_cancel_is_honoured(tmp_path: Path) -> None:
    built_site(tmp_path)
    with pytest.raises(Cancelled):
        await stage.run(context(tmp_path, cancel=True))


async def test_missing_site_is_a_stage_error(tmp_path: Path) -> None:
    with pytest.raises(StageError) as info:
        await stage.run(context(tmp_path))
    assert info.value.code == "site_missing"


async def test_same_page_anchors_queries_and_unicode_files(tmp_path: Path) -> None:
    make_tree(tmp_path / "out", {
        "en/index.html": '<h2 id="top">T</h2><a href="#top">ok</a><a href="#gone">bad</a>'
                         '<link href="../assets/app.css?v=3" rel="stylesheet">'
                         '<a href="caf%C3%A9/">encoded</a><a href="café/#déjà">raw with anchor</a>'
                         '<link rel="canonical" href="http://127.0.0.1:8080/sites/staging/en/">'
                         '<a href="../pdf/en.pdf">pdf</a>',
        "en/café/index.html": '<p id="déjà">x</p>',
        "assets/app.css": "",
        "pdf/en.pdf": "%PDF",
    })
    result = await stage.run(context(tmp_path, previous=False))
    assert [(f.rule, f.url) for f in result.findings] == [("missing-anchor", "#gone")]
