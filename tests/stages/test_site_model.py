"""The shared site model: front matter, nav, layouts and the markdown dialect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stages.base import StageError
from stages.markdown.analyze import PageJob, analyze
from stages.site import frontmatter, urls
from stages.site.layout import discover
from stages.site.nav import build_nav, resolve_titles
from stages.site.options import SiteOptions


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def page(tmp_path: Path, text: str | bytes, src: str = "guide/page.md", files: dict[str, str | bytes] | None = None,
         max_bytes: int = 2_000_000, hugo: bool = False) -> dict[str, Any]:
    docs = tmp_path / "en"
    write(tmp_path, {f"en/{src}": text, **(files or {})})
    job = PageJob(lang="en", src=src, path=str(docs / src), rel=f"en/{src}", include_base=str(docs),
                  source_root=str(tmp_path), pretty=True, max_bytes=max_bytes, shortcodes=hugo)
    return analyze(job, True)


def rules(result: dict[str, Any]) -> list[str]:
    return [f["rule"] for f in result["findings"]]


def test_front_matter_keeps_line_numbers() -> None:
    meta, body, err, n = frontmatter.split("---\ntitle: T\nweight: 3\ndate: 2026-01-02\n---\n# H\n")
    assert err is None and n == 5
    assert meta == {"title": "T", "weight": 3, "date": "2026-01-02"}
    assert body.split("\n")[5] == "# H"


@pytest.mark.parametrize(("text", "message"), [
    ("---\n- a\n- b\n---\n# H\n", "mapping"),
    ("---\ntitle: [unclosed\n---\n# H\n", "not valid YAML"),
    ("---\ntitle: x\n# H\n", "no closing"),
])
def test_bad_front_matter(text: str, message: str) -> None:
    _meta, _body, err, _n = frontmatter.split(text)
    assert err is not None and message in err


def test_bad_front_matter_is_a_finding(tmp_path: Path) -> None:
    r = page(tmp_path, "---\n- a list\n---\n# Title\n")
    assert "bad-front-matter" in rules(r)
    assert r["title"] == "Title"


def test_heading_ids_custom_auto_and_duplicates(tmp_path: Path) -> None:
    r = page(tmp_path, "# Top { #top }\n\n## Same\n\n## Same\n\n## Other { #top }\n\n## `code` { #code-id }\n")
    assert 'id="top"' in r["html"] and 'id="same"' in r["html"] and 'id="same_1"' in r["html"]
    assert 'id="code-id"' in r["html"] and "{ #" not in r["html"]
    assert rules(r) == ["duplicate-id"]
    assert [t[:2] for t in r["toc"]] == [[2, "same"], [2, "same_1"], [2, "top"], [2, "code-id"]]


def test_ten_thousand_headings(tmp_path: Path) -> None:
    r = page(tmp_path, "# Big\n\n" + "".join(f"## Heading {i}\n\ntext\n\n" for i in range(10_000)))
    assert len(r["ids"]) == 10_001
    assert len(r["toc"]) == 300
    assert r["findings"] == []


def test_blocks_admonitions_tabs_details(tmp_path: Path) -> None:
    text = ("# T\n\n/// note | A *title*\nbody\n///\n\n/// details | More\nhidden\n///\n\n"
            "//// tab | One\n\n/// tip\ninner\n///\n\n////\n\n//// tab | Two\nx\n////\n\n"
            '!!! warning "Careful"\n    text\n\n??? info "Folded"\n    folded\n')
    r = page(tmp_path, text)
    h = r["html"]
    assert '<div class="admonition note "><p class="admonition-title">A <em>title</em></p>' in h
    assert "<details" in h and "<summary>More</summary>" in h
    assert h.count('<div class="tab">') == 2 and '<div class="admonition tip ">' in h
    assert '<div class="admonition warning">' in h
    assert '<details class="admonition info is-collapsible collapsible-closed">' in h
    assert "///" not in h and "!!!" not in h and "???" not in h
    assert r["findings"] == []


def test_unknown_syntax_is_text_and_a_warning(tmp_path: Path) -> None:
    text = "# T\n\nA {{< youtube id >}} here.\n\nAnd {% include x %}.\n\n/// bogus | X\nb\n///\n\n::: pkg.module.Class\n"
    r = page(tmp_path, text, hugo=True)
    assert "youtube" not in r["html"] and "{{" not in r["html"].replace("{%", "")  # in a Hugo site a shortcode is removed...
    assert rules(r).count("unknown-shortcode") == 1  # ...with a warning naming it
    assert rules(r).count("unknown-syntax") == 3
    assert any("mkdocstrings" in f["message"] for f in r["findings"])
    # elsewhere (MkDocs, pressroom's own layout) it is text, as any other generator's syntax, with a warning
    r = page(tmp_path, text + "\n```text\n{{< figure src=x >}}\n```\n")
    assert "A {{&lt; youtube id &gt;}} here." in r["html"] and "{{&lt; figure src=x &gt;}}" in r["html"]
    assert rules(r).count("unknown-shortcode") == 0 and rules(r).count("unknown-syntax") == 4


def test_star_include_with_line_range_and_highlight(tmp_path: Path) -> None:
    src = "".join(f"line{i} = {i}\n" for i in range(1, 11))
    r = page(tmp_path, "# T\n\n{* ../code/app.py ln[3:6] hl[4] *}\n", files={"code/app.py": src})
    assert r["findings"] == []
    assert "line3" in r["html"] and "line2" not in r["html"] and "line7" not in r["html"]
    assert '<span class="hll"><span class="n">line4' in r["html"]
    assert r["deps"] == ["code/app.py"]


def test_include_errors_name_the_line(tmp_path: Path) -> None:
    write(tmp_path.parent, {"secret.txt": "no"})
    r = page(tmp_path, "# T\n\n{* ../missing.py *}\n\n{* ../../../secret.txt *}\n\n--8<-- \"guide/page.md\"\n")
    found = {(f["rule"], f["line"]) for f in r["findings"]}
    assert found == {("include-missing", 3), ("include-outside", 5), ("include-cycle", 7)}
    assert r["html"].count('class="include-error"') == 3


def test_snippet_and_fence_includes(tmp_path: Path) -> None:
    files = {"en/parts/a.md": "Part *A* with --8<-- loop\n\n--8<-- \"parts/b.md\"\n", "en/parts/b.md": "Part B\n",
             "code/x.html": "<b>x</b>\n"}
    r = page(tmp_path, "# T\n\n--8<-- \"parts/a.md\"\n\n```html\n{!> ../code/x.html !}\n```\n", files=files)
    assert "<em>A</em>" in r["html"] and "Part B" in r["html"] and '<span class="nt">b</span>' in r["html"]
    assert r["findings"] == []


def test_circular_includes(tmp_path: Path) -> None:
    files = {"en/a.md": '--8<-- "b.md"\n', "en/b.md": '--8<-- "a.md"\n'}
    r = page(tmp_path, '# T\n\n--8<-- "a.md"\n', src="p.md", files=files)
    assert "include-cycle" in rules(r)


def test_links_and_images_rewritten(tmp_path: Path) -> None:
    r = page(tmp_path, "# T\n\n[a](other.md#x) [b](../index.md) [c](/top/x.md) [d](#t) [e](https://x.org/a.md)\n\n"
                       "![i](../img/p.png)\n\n*[HTML]: Hyper Text\n\nHTML rocks.\n")
    h = r["html"]
    assert 'href="../other/#x"' in h and 'href="../../"' in h and 'href="../../top/x/"' in h
    assert 'href="https://x.org/a.md"' in h and 'src="../../img/p.png"' in h
    assert '<abbr title="Hyper Text">HTML</abbr>' in h
    raw = page(tmp_path, '# T\n\n<img src="/img/a.png"> <a href="/guide/x.md#y">x</a>\n', src="deep/er/p.md")
    assert '<img src="../../../img/a.png">' in raw["html"] and 'href="../../../guide/x/#y"' in raw["html"]
    assert ["page", "guide/other.md", "x", 3] in r["links"]
    assert ["asset", "img/p.png", "", 5] in r["images"]


def test_code_blocks(tmp_path: Path) -> None:
    r = page(tmp_path, '# T\n\n```python hl_lines="2" linenums="1" title="a.py"\nx = 1\ny = 2\n```\n\n'
                       "```{ .toml .annotate }\na = 1\n```\n\n```mermaid\ngraph TD\n```\n\n```nosuchlang\nplain\n```\n")
    h = r["html"]
    assert '<div class="code-title">a.py</div>' in h and 'class="hll"' in h and 'class="linenos"' in h
    assert 'data-lang="toml"' in h and '<pre class="mermaid">' in h and "plain" in h


def test_invalid_utf8_and_oversized_pages(tmp_path: Path) -> None:
    r = page(tmp_path, b"# Ok\n\nbad \xff byte\n")
    assert [(f["rule"], f["line"]) for f in r["findings"]] == [("bad-encoding", 3)]
    assert "\ufffd" in r["html"]
    big = page(tmp_path, "# Big\n\n" + "word " * 300_000, src="big.md", max_bytes=1_000_000)
    assert rules(big) == ["page-too-large"] and "could not be built" in big["html"]


def test_urls() -> None:
    assert urls.page_file("guide/install.md", True) == "guide/install/index.html"
    assert urls.page_file("guide/index.md", True) == "guide/index.html"
    assert urls.page_file("guide/install.md", False) == "guide/install.html"
    assert urls.page_url("index.md", True) == ""
    assert urls.relative("en/a/b/index.html", "en/c/") == "../../c/"
    assert urls.relative("en/index.html", "en/") == "./"


def test_folder_nav_orders_by_weight_then_title() -> None:
    pages = {"index.md": ("Home", 0.0), "b/index.md": ("Bee", 1.0), "b/z.md": ("Zed", 1.0), "b/y.md": ("Why", 2.0),
             "b/a.md": ("Ant", 2.0), "a.md": ("Alpha", 5.0)}
    nav = build_nav(None, pages)
    assert nav.order == ["index.md", "b/index.md", "b/z.md", "b/a.md", "b/y.md", "a.md"]
    tree, sections = resolve_titles(nav, lambda s: pages[s][0])
    assert tree[1]["title"] == "Bee" and sections["b/z.md"] == ["Bee"] and nav.level["b/z.md"] == 1


def test_config_nav_and_missing_targets() -> None:
    nav = build_nav([{"Home": "index.md"}, {"Part": ["a.md", {"Gone": "gone.md"}, {"Ext": "https://x.org"}]}],
                    {"index.md": ("H", 0.0), "a.md": ("A", 0.0)})
    assert nav.order == ["index.md", "a.md"] and nav.missing == [("gone.md", "Gone")]


def test_a_nav_entry_naming_a_folder_is_its_index_page() -> None:
    """MkDocs' own mkdocs.yml: ``- User Guide: user-guide/`` with ``user-guide/README.md``."""
    pages = {"index.md": ("H", 0.0), "user-guide/README.md": ("U", 0.0), "user-guide/x.md": ("X", 0.0), "dev/index.md": ("D", 0.0)}
    nav = build_nav([{"Home": "index.md"}, {"User Guide": "user-guide/"}, {"Dev": "/dev"}, {"Empty": "empty/"}], pages)
    assert nav.order == ["index.md", "user-guide/README.md", "dev/index.md"]
    assert nav.missing == [("empty/", "Empty")]  # a folder with no index page is still a missing target


def test_discover_layouts(tmp_path: Path) -> None:
    write(tmp_path / "langs", {"en/index.md": "# E\n", "en/x.md": "# X\n", "en/img/a.png": b"png", "es/index.md": "# S\n"})
    lay = discover(tmp_path / "langs", SiteOptions(languages=["en", "es"]))
    assert lay.kind == "languages" and lay.nav_origin == "folders"
    assert lay.trees["es"].pages["x.md"].fallback and not lay.trees["es"].pages["index.md"].fallback
    assert "img/a.png" in lay.trees["es"].assets

    write(tmp_path / "mk", {"docs/en/mkdocs.yml": "site_name: S\nnav:\n  - index.md\nx: !!python/name:os.path ''\n",
                            "docs/en/docs/index.md": "# E\n", "docs/de/docs/index.md": "# D\n"})
    lay = discover(tmp_path / "mk", SiteOptions(languages=["en", "de"]))
    assert lay.kind == "mkdocs" and lay.nav_config == ["index.md"]
    assert lay.trees["de"].docs_dir == (tmp_path / "mk/docs/de/docs").resolve()
    assert lay.trees["de"].include_base == (tmp_path / "mk/docs/de").resolve()

    write(tmp_path / "flat", {"index.md": "# F\n", "theme/page.html": "x", "theme/notes.md": "# not a page\n"})
    flat = discover(tmp_path / "flat", SiteOptions())
    assert flat.kind == "single" and list(flat.trees["en"].pages) == ["index.md"] and not flat.trees["en"].assets
    with pytest.raises(StageError):
        discover(tmp_path / "nope", SiteOptions())
