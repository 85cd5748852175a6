"""Links to the site's own published URL: checked inside the build, except other builds' languages."""

from __future__ import annotations

import re
from pathlib import Path

from stages.linkcheck import scope
from stages.site import urls


def test_own_path_takes_only_this_sites_pages() -> None:
    site = "https://example.org/docs/"
    assert urls.own_path(site, "https://example.org/docs/guide/#a") == "/docs/guide/#a"
    assert urls.own_path(site, "http://EXAMPLE.org/docs/") == "/docs/"
    assert urls.own_path(site, "https://example.org/docs") == "/docs"
    assert urls.own_path(site, "https://example.org/docsx/") is None  # not under the base path
    assert urls.own_path(site, "https://example.org/") is None
    assert urls.own_path(site, "https://example.org/docs/search/?q=x") is None  # a query asks the server
    assert urls.own_path(site, "https://other.example/docs/") is None
    assert urls.own_path("", "https://example.org/docs/") is None
    assert urls.own_path("file:///tmp/site/", "file:///tmp/site/x/") is None


def test_languages_this_build_lacks_are_left_to_their_build(tmp_path: Path) -> None:
    for name in ("en", "pt-br", "assets"):
        (tmp_path / name).mkdir()
    (pattern,) = scope.unbuilt_languages(tmp_path, "https://example.org/docs/")
    ignored = re.compile(pattern)
    for url in ("https://example.org/docs/zh/tutorial/", "https://example.org/docs/zh-hant/", "https://example.org/docs/de",
                "https://example.org/docs/fr#top"):
        assert ignored.search(url), url
    for url in ("https://example.org/docs/en/tutorial/", "https://example.org/docs/pt/x/", "https://example.org/docs/pt-br/x/",
                "https://example.org/docs/guide/", "https://example.org/docs/assets/x.css", "https://example.org/docs/deploy/",
                "https://other.example/docs/zh/"):
        assert not ignored.search(url), url
    assert scope.unbuilt_languages(tmp_path, (tmp_path.as_uri() + "/")) == ()


def test_a_missing_anchor_finding_names_the_closest_anchors_not_all_of_them() -> None:
    """Material's changelog has about 700 anchors; the build's output listed every one."""
    from stages.linkcheck.checker import anchor_warning
    from stages.linkcheck.stage import brief

    anchors = frozenset(["970-november-11-2025", "971-december-18-2025", "changelog", *(f"v{i}" for i in range(700))])
    full = anchor_warning("9.7.0", anchors)
    assert full is not None and full.count("`") == 2 + 703  # LinkChecker's message, as the CSV keeps it
    short = brief(full)
    assert short.startswith("Anchor `9.7.0' (decoded: `9.7.0') not found. Available anchors: `970-november-11-2025', ")
    assert short.endswith(" and 695 more.") and short.count("`") == 2 + 8
    few = anchor_warning("x", frozenset(["a", "b"]))
    assert few is not None and brief(few) == few


def test_a_large_script_is_checked_not_read(tmp_path: Path) -> None:
    """Every page with a diagram links the 5.5 MB vendored mermaid build; only HTML and CSS are
    read for links, so it is no 'Content size is larger' warning on each of them."""
    from stages.linkcheck import files

    (tmp_path / "assets").mkdir()
    (tmp_path / "assets/big.js").write_bytes(b"x" * 2048)
    (tmp_path / "page.html").write_bytes(b"<p>" + b"y" * 2048 + b"</p>")
    site = files.SiteRoot.create(tmp_path, "https://example.org/")
    outcome, body = files.check_site_file(site, "https://example.org/assets/big.js", read_body=True, max_bytes=1024)
    assert outcome.valid and outcome.warnings == [] and body is None
    outcome, body = files.check_site_file(site, "https://example.org/page.html", read_body=True, max_bytes=1024)
    assert body is not None and len(body) == 1024 and outcome.warnings[0][0] == "url-content-size-too-large"
