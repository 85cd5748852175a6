"""Diff previews and promotion rules (pure functions)."""

from __future__ import annotations

from pathlib import Path

from stages.base import Finding, StageResult
from stages.deploy import diff, promote
from stages.deploy.options import Options, Target


def page(root: Path, rel: str, body: str, chrome: str = "nav") -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<html><body><nav>{chrome}</nav><main id=\"content\">{body}</main><footer>{chrome}</footer></body></html>")


def releases(tmp_path: Path) -> tuple[Path, Path]:
    live, cand = tmp_path / "live", tmp_path / "cand"
    for root in (live, cand):
        (root / "404.html").parent.mkdir(parents=True, exist_ok=True)
        (root / "404.html").write_text("nf")
        page(root, "en/index.html", "<h1>Home</h1><p>Same.</p>")
    page(live, "en/old/index.html", "<h1>Old</h1>")
    page(cand, "en/new/index.html", "<h1>New</h1>")
    page(live, "en/guide/index.html", "<h1>Guide</h1><p>Install with pip.</p><p>Then run it.</p>")
    page(cand, "en/guide/index.html", "<h1>Guide</h1><p>Install with uv.</p><p>Then run it.</p>")
    # only the chrome around the content changed: not a change for a reviewer
    page(live, "en/theme/index.html", "<h1>Theme</h1>", chrome="v1 nav")
    page(cand, "en/theme/index.html", "<h1>Theme</h1>", chrome="v2 nav")
    return cand, live


def test_pages_added_removed_and_changed_by_their_text(tmp_path: Path) -> None:
    cand, live = releases(tmp_path)

    preview = diff.diff_releases(cand, live)

    assert preview.added == ["en/new/"]
    assert preview.removed == ["en/old/"]
    assert preview.changed_urls == ["en/guide/"]
    assert preview.unchanged == 2
    change = preview.changed[0]
    assert (change.added_lines, change.removed_lines) == (1, 1)
    assert change.table is not None and "uv" in change.table and "pip" in change.table
    assert "<main" not in change.table  # text, not markup
    data = preview.to_dict()
    assert data["summary"] == {"added": 1, "removed": 1, "changed": 1, "unchanged": 2}
    assert data["changed"][0]["diff_html"].startswith("\n    <table")
    html = diff.preview_html(preview)
    assert "en/new/" in html and "en/old/" in html and "en/guide/" in html


def test_nothing_live_means_everything_is_added(tmp_path: Path) -> None:
    cand, _ = releases(tmp_path)
    preview = diff.diff_releases(cand, None)
    assert preview.added == ["en/", "en/guide/", "en/new/", "en/theme/"]


def test_tables_stop_at_the_limit(tmp_path: Path) -> None:
    cand, live = releases(tmp_path)
    preview = diff.diff_releases(cand, live, max_tables=0)
    assert preview.changed[0].table is None and preview.truncated


def test_page_text_keeps_code_lines_and_skips_scripts(tmp_path: Path) -> None:
    path = tmp_path / "p.html"
    path.write_text('<main id="content"><h1>T</h1><pre>a = 1\nb = 2</pre><script>x()</script><p>one\n  two</p></main>')
    assert diff.page_text(path) == ["T", "a = 1", "b = 2", "one two"]


def test_promotion_decisions() -> None:
    default = Options()
    clean = promote.BuildHealth()
    assert promote.decide(default, "staging", clean) == ("review", "production")
    assert promote.decide(default, "production", clean) == ("none", None)
    when_clean = Options(auto_promote="when-clean")
    assert promote.decide(when_clean, "staging", clean) == ("auto", "production")
    for dirty in (promote.BuildHealth(lint_errors=1), promote.BuildHealth(broken_links=2),
                  promote.BuildHealth(removed_pages=1)):
        assert promote.decide(when_clean, "staging", dirty) == ("review", "production")
    no_approval = Options(targets={"staging": Target(), "production": Target()})
    assert promote.decide(no_approval, "staging", promote.BuildHealth(lint_errors=3)) == ("auto", "production")
    assert promote.decide(Options(promote_to=None), "staging", clean) == ("none", None)


def test_health_is_read_from_stage_results() -> None:
    lint = StageResult(findings=[Finding(file="a.md", severity="error"), Finding(file="b.md")])
    links = StageResult(counts={"broken": 4})
    health = promote.health_of({"lint": lint, "linkcheck": links}, removed_pages=1)
    assert (health.lint_errors, health.broken_links, health.removed_pages) == (1, 4, 1)
