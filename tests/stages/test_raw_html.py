"""``[site] raw_html``: allow publishes raw HTML as written, escape shows it as text,
sanitize keeps safe markup and drops scripts, handlers, javascript: URLs, frames and styles."""

from __future__ import annotations

from pathlib import Path

import pytest

from stages.context import local_context
from stages.markdown import rawhtml
from stages.render_html import stage
from stages.render_html.options import Options
from tests.conftest import make_tree

PAGE = """# Evil page

<script>fetch('/api/builds')</script>

Text with <img src="x.png" onerror="alert(1)" alt="pic"> and <a href="javascript:alert(2)">a link</a>
and <span style="background: url(javascript:alert(3))">style</span>.

<iframe src="https://evil.example/"></iframe>
<object data="x.swf"></object><embed src="y.swf">
<form action="/api/builds"><input type="text" name="q"><button>go</button></form>
<svg onload="alert(4)"><circle r="1"/></svg>

<details open><summary>More</summary>
<table><tr><td colspan="2" style="text-align: right">kept</td></tr></table>
</details>

| a | b |
|--:|:--|
| 1 | 2 |

- [x] done task

Normal [link](other.md) and `code` and <kbd>Ctrl</kbd>.
"""


async def _build(tmp_path: Path, mode: str) -> str:
    src = make_tree(tmp_path / mode / "src", {"en/index.md": PAGE, "en/other.md": "# Other\n"})
    out = tmp_path / mode / "out"
    ctx = local_context(src, out, cache_dir=tmp_path / mode / "cache",
                        site={"title": "T", "raw_html": mode}, options=Options())
    result = await stage.run(ctx)
    assert result.status in ("passed", "degraded"), result
    page = (out / "en/index.html").read_text()
    return page[page.index('<main id="content"'):page.index("</main>")]


async def test_allow_publishes_raw_html_as_written(tmp_path: Path) -> None:
    main = await _build(tmp_path, "allow")
    assert "<script>fetch('/api/builds')</script>" in main
    assert 'onerror="alert(1)"' in main and "<iframe" in main


async def test_escape_shows_raw_html_as_text(tmp_path: Path) -> None:
    main = await _build(tmp_path, "escape")
    for tag in ("<script", "<iframe", "<img", "<form", "<svg", "<details", "<kbd>"):
        assert tag not in main, tag
    assert "&lt;script&gt;fetch(&#x27;/api/builds&#x27;)&lt;/script&gt;" in main
    assert "&lt;img src=&quot;x.png&quot; onerror=&quot;alert(1)&quot;" in main
    assert '<a href="other/">link</a>' in main or 'href="../other/"' in main  # Markdown itself still renders
    assert "<table>" in main  # the Markdown table


async def test_sanitize_keeps_safe_markup_and_drops_the_dangerous(tmp_path: Path) -> None:
    main = await _build(tmp_path, "sanitize")
    lowered = main.lower()
    for bad in ("<script", "fetch(", "onerror", "onload", "javascript:", "<iframe", "<object", "<embed", "<form",
                "<button", 'type="text"', "<svg", "background"):
        assert bad not in lowered, bad
    assert '<img src="x.png" alt="pic">' in main
    assert "<details open" in main and "<summary>More</summary>" in main and "<kbd>Ctrl</kbd>" in main
    assert 'colspan="2"' in main and "text-align" in main  # table alignment survives (only text-align)
    assert 'type="checkbox"' in main and "checked" in main  # task lists still render
    assert 'style="text-align:right"' in main or 'style="text-align: right"' in main  # markdown-it column align


@pytest.mark.parametrize("snippet", [
    '<a href="JaVaScRiPt:alert(1)">x</a>', '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    '<div style="width: expression(alert(1))">x</div>', '<img src=x onerror=alert(1)//>',
    '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>', '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">', '<link rel="stylesheet" href="x.css">',
    '<input type="image" src="x" onfocus="alert(1)" autofocus>', '<p onclick="alert(1)">x</p>',
])
def test_sanitize_removes_every_classic_vector(snippet: str) -> None:
    out = rawhtml.sanitize(snippet).lower()
    for bad in ("javascript:", "data:text", "expression(", "onerror", "onfocus", "onclick", "<base", "<meta",
                "<link", "<style", "autofocus"):
        assert bad not in out, (snippet, out)


def test_raw_html_is_a_site_option_validated_by_the_config(tmp_path: Path) -> None:
    from pipeline import config as config_mod

    assert config_mod.parse({}, root=tmp_path).site.raw_html == "allow"
    with pytest.raises(config_mod.ConfigError) as err:
        config_mod.parse({"site": {"raw_html": "strip"}}, root=tmp_path)
    assert "[site] raw_html: expected one of 'allow', 'sanitize' or 'escape'" in str(err.value)
