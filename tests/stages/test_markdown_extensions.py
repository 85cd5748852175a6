"""mkdocs.yml ``markdown_extensions``: each option pressroom honours changes the HTML the way
Python-Markdown/pymdownx would, and each one it ignores is one warning naming it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stages.context import local_context
from stages.markdown.engine import parser
from stages.render_html import stage as render_stage
from stages.render_html.options import Options as HtmlOptions
from stages.site import mdext

SITES = Path(__file__).resolve().parents[1] / "sites"
CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "fastapi-docs"


def render(text: str, extensions: Any) -> tuple[str, list[Any]]:
    opts, warnings = mdext.read(extensions)
    assert warnings == []
    env: dict[str, Any] = {"md_options": opts}
    return parser(opts).render(text, env), env.get("findings", [])


def test_a_site_without_mkdocs_yml_keeps_markers_as_text() -> None:
    out = parser().render("==a== ^^b^^ x^2^ H~2~O ++ctrl++ `#!python x`\n\n## H\n", {})
    assert "==a== ^^b^^ x^2^ H~2~O ++ctrl++ <code>#!python x</code>" in out
    assert '<h2 id="h">H <a class="headerlink" href="#h" aria-label="Link to this section">#</a></h2>' in out


@pytest.mark.parametrize(("extension", "source", "expected"), [
    ("pymdownx.mark", "==a **b**==", "<mark>a <strong>b</strong></mark>"),
    ("pymdownx.caret", "^^ins^^ and x^2^", "<ins>ins</ins> and x<sup>2</sup>"),
    ("pymdownx.tilde", "H~2~O ~~del~~", "H<sub>2</sub>O <s>del</s>"),
    ("pymdownx.keys", "++ctrl+alt+del++",
     '<span class="keys"><kbd class="key-ctrl">Ctrl</kbd><span>+</span><kbd class="key-alt">Alt</kbd>'
     '<span>+</span><kbd class="key-del">Del</kbd></span>'),
    ("pymdownx.inlinehilite", "`#!python x = 1`",
     '<code class="highlight language-python"><span class="n">x</span> <span class="o">=</span> <span class="mi">1</span></code>'),
    ("md_in_html", '<div class="c" markdown="1">\n\n**b**\n\n</div>', '<div class="c">\n<p><strong>b</strong></p>\n</div>'),
    ("attr_list", "## Title { #tid .wide data-x=1 }", '<h2 class="wide" data-x="1" id="tid">Title <a class="headerlink"'),
])
def test_a_listed_extension_turns_its_syntax_on(extension: str, source: str, expected: str) -> None:
    out, _ = render(source, [extension])
    assert expected in out


def test_toc_permalink_true_a_string_or_nothing() -> None:
    out, _ = render("## A\n", [{"toc": {"permalink": True}}])
    assert '<a class="headerlink" href="#a" title="Permanent link" aria-label="Permanent link">¶</a>' in out
    out, _ = render("## A\n", [{"toc": {"permalink": "#", "permalink_title": "Anchor", "permalink_class": "pl"}}])
    assert '<h2 id="a">A <a class="headerlink pl" href="#a" title="Anchor" aria-label="Anchor">#</a></h2>' in out
    out, _ = render("## A\n", [{"toc": {"permalink": "§", "permalink_leading": True}}])
    assert '<h2 id="a"><a class="headerlink" href="#a" title="Permanent link" aria-label="Permanent link">§</a> A</h2>' in out
    out, _ = render("## A\n", ["toc"])  # MkDocs' toc without `permalink`: ids, no link
    assert '<h2 id="a">A</h2>' in out


def test_toc_depth_sets_the_levels_of_the_page_toc() -> None:
    assert mdext.read([{"toc": {"toc_depth": 4}}])[0].toc_levels == (2, 3, 4)
    assert mdext.read([{"toc": {"toc_depth": "3-5"}}])[0].toc_levels == (3, 4, 5)
    assert mdext.read(["toc"])[0].toc_levels == (2, 3)


def test_attr_list_after_an_inline_element_goes_on_it() -> None:
    """MkDocs' own docs: ``*   **`locale`**{ #mkdocs-locale }: …``, linked as ``#mkdocs-locale``."""
    env: dict[str, Any] = {}
    out = parser().render("*   **`locale`**{ #mkdocs-locale }: The locale\n\n"
                          "**b**{: #b .wide } *e*{.z} `c`{#cc} x{#not-an-element} *a*{not attrs}\n\n"
                          "## Title **t**{ #own-id }\n\n## Mid **m**{#m} tail\n", env)
    assert '<li><strong id="mkdocs-locale"><code>locale</code></strong>: The locale</li>' in out
    assert '<strong class="wide" id="b">b</strong> <em class="z">e</em> <code id="cc">c</code>' in out
    assert "x{#not-an-element} <em>a</em>{not attrs}" in out  # plain text has no element to take them
    assert '<h2 id="own-id">Title <strong>t</strong>' in out  # a heading's trailing list is the heading's
    assert '<h2 id="mid-m-tail">Mid <strong id="m">m</strong> tail' in out
    # the ids count as anchors (lint's missing-anchor check and the heading slugs see them)
    assert {"mkdocs-locale", "b", "cc", "own-id", "m", "mid-m-tail"} <= set(env["ids"])
    assert "onclick" not in parser().render("**x**{onclick=alert(1) .k}", {})
    # a last line of only an attribute list is the paragraph's (attr_list; Hugo's block attributes)
    out = parser().render("Some text\n{.display-6 #p1}\n\nOther **b**\n{: .x }\n\nnot {.a} inline\n\n{.alone}\n", {})
    assert '<p class="display-6" id="p1">Some text</p>' in out and '<p class="x">Other <strong>b</strong></p>' in out
    assert "<p>not {.a} inline</p>" in out and "<p>{.alone}</p>" in out


def test_footnotes_are_named_as_python_markdown_and_goldmark_name_them() -> None:
    """``#fn:7`` is how MkDocs and Hugo pages link to a footnote (Material's own blog does)."""
    from stages.markdown.analyze import _footnote_ids

    env: dict[str, Any] = {}
    out = parser().render("Text[^a] and[^b].\n\n[^a]: One.\n[^b]: Two.\n", env)
    assert '<a href="#fn:1" id="fnref:1">[1]</a>' in out and '<li id="fn:2" class="footnote-item">' in out
    assert '<a href="#fnref:2" class="footnote-backref">' in out
    assert _footnote_ids(env) == {"fn:1", "fnref:1", "fn:2", "fnref:2"}  # anchors for the link checks


def test_highlight_options_map_onto_pygments() -> None:
    conf = [{"pymdownx.highlight": {"line_spans": "__span", "anchor_linenums": True, "linenums": True,
                                    "linenums_style": "pymdownx-inline"}}]
    out, _ = render("```python\na = 1\n```\n\n```python\nb = 2\n```\n", conf)
    assert '<span id="__span-0-1"><a id="__codelineno-0-1" name="__codelineno-0-1"></a><a href="#__codelineno-0-1">' in out
    assert '<span id="__span-1-1">' in out  # the second block on the page gets its own ids
    out, _ = render("```python linenums=\"3\"\na = 1\n```\n", [{"pymdownx.highlight": {"linenums_style": "table"}}])
    assert 'class="highlighttable"' in out and ">3</" in out
    out, _ = render("```python\na = 1\n```\n", [{"pymdownx.highlight": {"css_class": "hl"}}])
    assert '<div class="hl"><pre>' in out and 'class="linenos"' not in out


def test_admonition_types_decide_which_blocks_are_admonitions() -> None:
    out, findings = render("/// check | Done\nx\n///\n\n/// warning\ny\n///\n",
                           [{"pymdownx.blocks.admonition": {"types": ["note", "check"]}}])
    assert '<div class="admonition check "><p class="admonition-title">Done</p>' in out
    assert '<div class="block block-warning">' in out
    assert [f[2:4] for f in findings] == [("unknown-syntax", "warning")] and "'/// warning'" in findings[0][4]


def test_tabbed_content_tabs() -> None:
    """pymdownx.tabbed (``=== "Title"``): Material for MkDocs' content tabs."""
    src = ('=== "pip"\n\n    ```bash\n    pip install x\n    ```\n\n    More **text**.\n\n=== "uv"\n    uv add x\n\n'
           '===! "New set"\n\n    one\n\n===+ "Shown first"\n\n    two\n\nAfter.\n\n    code block\n')
    out, findings = render(src, ["pymdownx.tabbed"])
    assert findings == []
    assert out.count('<div class="tab"><div class="tab-label">') == 2
    assert '<div class="tab tab-new"><div class="tab-label">New set</div>' in out
    assert '<div class="tab tab-selected"><div class="tab-label">Shown first</div>' in out
    assert 'data-lang="bash"' in out and "<p>More <strong>text</strong>.</p>\n</div>" in out and "<p>uv add x</p>" in out
    assert "<p>After.</p>\n<pre><code>code block\n</code></pre>" in out  # the tabs end where the indent does
    assert "<p>=== &quot;pip&quot;</p>" in parser().render('=== "pip"\n\n    x\n', {})  # without the extension: text


def test_an_admonition_goes_on_while_its_lines_are_indented() -> None:
    """Python-Markdown keeps an admonition open across blank lines (Material's own docs hold content
    tabs two blank lines apart inside a ``??? example``); mdit-py-plugins closed it at the second."""
    src = '??? example "Expand"\n\n    === "A"\n\n        one\n\n\n    === "B"\n\n        two\n\nAfter.\n'
    out, findings = render(src, ["pymdownx.tabbed", "admonition", "pymdownx.details"])
    assert findings == []
    assert out.index("<summary") < out.index('tab-label">A') < out.index('tab-label">B') < out.index("</details>")
    assert out.rstrip().endswith("</details>\n<p>After.</p>")
    out, _ = render("!!! note\n    Body\n\n!!! warning \"\"\n    no title\n", [])
    assert '<div class="admonition note">\n<p class="admonition-title">Note</p>\n<p>Body</p>' in out
    assert '<div class="admonition warning">\n<p>no title</p>' in out


def test_material_icon_shortcodes_are_removed_with_one_warning() -> None:
    env: dict[str, Any] = {}
    out = parser().render("## Sponsor :octicons-heart-fill-24:{ .mdx-heart }\n\n"
                          'X :fontawesome-brands-youtube:{ style="color: red" } at 12:30 :smile: :octicons-clock-24:\n', env)
    assert "octicons" not in out and "fontawesome" not in out and "style=" not in out and "mdx-heart" not in out
    assert '<h2 id="sponsor">' in out and "at 12:30 :smile:" in out  # times and emoji names stay
    assert env["findings"] == [(1, None, "icon-removed", "warning", "3 icon shortcode(s) removed (no icon set): "
                                ":octicons-heart-fill-24:, :fontawesome-brands-youtube:, :octicons-clock-24:")]


def test_an_unknown_option_or_extension_is_one_warning_naming_it() -> None:
    _, warnings = mdext.read({"toc": {"permalink": True, "baselevel": 2}, "pymdownx.highlight": {"pygments_lang_class": True},
                              "zensical.extensions.macros": None, "pymdownx.tabbed": {"alternate_style": True, "slugify": "x"},
                              "pymdownx.blocks.tab": {"alternate_style": True, "combine_header_slug": True},
                              "mdx_include": None, "markdown_include_variants": None, "pymdownx.betterem": None})
    keys = [k for k, _ in warnings]
    assert keys == ["markdown_extensions.toc.baselevel", "markdown_extensions.pymdownx.highlight.pygments_lang_class",
                    "markdown_extensions.zensical.extensions.macros", "markdown_extensions.pymdownx.tabbed.slugify",
                    "markdown_extensions.pymdownx.blocks.tab.combine_header_slug"]
    messages = dict(warnings)
    assert "'baselevel' of 'toc'" in messages["markdown_extensions.toc.baselevel"]
    assert "'zensical.extensions.macros' is not supported" in messages["markdown_extensions.zensical.extensions.macros"]


def _site(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SITES / "mkdocs-extensions", tmp_path / "src"))


async def _build(src: Path, out: Path, cache: Path) -> Any:
    ctx = local_context(src, out, cache_dir=cache, site={"languages": ["en"]}, options=HtmlOptions())
    return await render_stage.run(ctx)


async def test_the_sample_site_builds_with_its_extensions(tmp_path: Path) -> None:
    src, out, cache = _site(tmp_path), tmp_path / "out", tmp_path / "cache"
    result = await _build(src, out, cache)
    page = (out / "en/index.html").read_text()
    for expected in ('<kbd class="key-ctrl">Ctrl</kbd>', "<mark>restart <strong>now</strong></mark>", "<ins>insert</ins>",
                     "mc<sup>2</sup>", "H<sub>2</sub>O", "<s>gone</s>", 'class="highlight language-python"',
                     '<h2 class="wide" data-role="config" id="settings">', 'title="Permanent link"',
                     '<abbr title="HyperText Markup Language">HTML</abbr>', 'class="footnote-ref"',
                     '<div class="card">', '<div class="admonition check ">', '<span id="__span-0-1">', "<table>"):
        assert expected in page, expected
    for raw in ("==", "++", "^^", "///", 'markdown="1"'):
        assert raw not in re.sub(r"<pre.*?</pre>", "", page, flags=re.S), raw
    assert 'href="#depth-four"' in page  # toc_depth: 4 puts h4 in the page TOC
    mk = [(f.message.split(":")[0], f.severity) for f in result.findings if f.rule == "mkdocs-option"]
    assert mk == [("markdown_extensions.toc.baselevel", "warning"),
                  ("markdown_extensions.pymdownx.highlight.pygments_lang_class", "warning"),
                  ("markdown_extensions.zensical.extensions.macros", "warning")]
    assert [f.line for f in result.findings if f.rule == "unknown-syntax"] == [22]  # `/// warning`: not in types


async def test_changing_the_extensions_rebuilds_the_pages(tmp_path: Path) -> None:
    src, out, cache = _site(tmp_path), tmp_path / "out", tmp_path / "cache"
    await _build(src, out, cache)
    conf = src / "mkdocs.yml"
    conf.write_text(conf.read_text().replace("  pymdownx.mark: null\n", ""))
    result = await _build(src, out, cache)
    assert result.counts["rendered"] == 2
    assert "==restart <strong>now</strong>==" in (out / "en/index.html").read_text()


@pytest.mark.slow
def test_the_fastapi_docs_build_with_their_extensions(tmp_path: Path) -> None:
    docs = CORPUS.resolve() / "docs/en"
    if not docs.is_dir():
        pytest.fail(f"the FastAPI corpus is missing at {docs}")
    cfg, out = tmp_path / "pressroom-test.toml", tmp_path / "out"
    cfg.write_text(f'data_dir = "{tmp_path / ".pressroom"}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSROOM_")}
    done = subprocess.run([sys.executable, "-m", "pipeline", "--config", str(cfg), "build", str(docs), "--out", str(out),
                           "--stages", "render_html", "--root", str(CORPUS.resolve())],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    text = " ".join(done.stdout.split())
    assert "zensical.extensions.macros" in text
    pages = list((out / "en").rglob("index.html"))
    assert len(pages) > 140
    uses_blocks = linked = 0
    for page in pages:
        body = page.read_text()
        main = re.sub(r"<pre.*?</pre>|<code.*?</code>|<script.*?</script>", "", body[body.index("<main"):body.index("</main>")],
                      flags=re.S)
        assert not re.search(r"^\s*(<p>)?/{3,}", main, re.M), page
        assert not re.search(r"==\S[^=<]*\S==|\+\+\w[\w+-]*\+\+|\^\^\S[^^<]*\^\^", main), page
        uses_blocks += '<div class="admonition' in main or "<details" in main
        if "<h2" in main:  # toc permalink: every section heading links to itself
            assert re.search(r'<h2 [^>]*id="[^"]+">.*?<a class="headerlink" href="#[^"]+" title="Permanent link"', main), page
            linked += 1
    assert uses_blocks > 30 and linked > 100
