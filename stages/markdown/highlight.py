"""Code blocks through Pygments: language, highlighted lines, line numbers and a title.

Fence info strings follow pymdownx: ```` ```python hl_lines="1 3-4" linenums="1" title="app.py" ````
and ```` ```{ .python .annotate hl_lines="2" } ````.
"""

from __future__ import annotations

import copy
import functools
import html
import re
from typing import Any

from stages.site.mdext import HighlightOptions

_ATTR = re.compile(r'([\w-]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\'|(\S+))')


def parse_info(info: str) -> tuple[str, dict[str, str]]:
    """``(language, attrs)`` from a fence info string in either pymdownx form."""
    info = info.strip()
    if info.startswith("{") and info.endswith("}"):
        inner = info[1:-1]
        classes = re.findall(r"(?:^|\s)\.([\w+#-]+)", inner)
        attrs = {m.group(1): m.group(2) or m.group(3) or m.group(4) or "" for m in _ATTR.finditer(inner)}
        lang = next((c for c in classes if c not in ("annotate", "no-copy")), "")
        return lang, attrs
    lang, _, rest = info.partition(" ")
    if "=" in lang:  # ```hl_lines="4"
        lang, rest = "", info
    attrs = {m.group(1): m.group(2) or m.group(3) or m.group(4) or "" for m in _ATTR.finditer(rest)}
    return lang, attrs


def parse_lines(spec: str) -> list[int]:
    """``"1 3-5"`` or ``"1,3:5"`` to ``[1, 3, 4, 5]``; nonsense is ignored rather than fatal."""
    out: list[int] = []
    for part in re.split(r"[\s,]+", spec.strip()):
        m = re.fullmatch(r"(\d+)(?:[-:](\d+))?", part)
        if not m:
            continue
        a = int(m.group(1))
        b = int(m.group(2) or a)
        if b - a > 10_000:
            continue
        out.extend(range(a, b + 1))
    return out


@functools.lru_cache(maxsize=256)
def lexer(lang: str) -> Any:
    from pygments.lexers import get_lexer_by_name
    from pygments.lexers.special import TextLexer
    from pygments.util import ClassNotFound

    if not lang:
        return TextLexer()
    try:
        return get_lexer_by_name(lang.lower())
    except ClassNotFound:
        return TextLexer()


@functools.lru_cache(maxsize=256)
def _formatter(hl: tuple[int, ...], linenostart: int | None, opts: HighlightOptions, index: int) -> Any:
    """The block's formatter: a copy of the shared one with its highlighted lines set, which is
    what Pygments' constructor would make, without building the style's class table again."""
    base = _base_formatter(linenostart, opts, index)
    if not hl:
        return base
    fmt = copy.copy(base)
    fmt.hl_lines = set(hl)
    fmt.options = {**base.options, "hl_lines": list(hl)}
    return fmt


@functools.lru_cache(maxsize=256)
def _base_formatter(linenostart: int | None, opts: HighlightOptions, index: int) -> Any:
    """pymdownx.highlight's options as Pygments' own: ids get the block's number on the page
    (``__span-0-1``) so two blocks never share one, as pymdownx numbers them."""
    from pygments.formatters.html import HtmlFormatter

    anchors = opts.line_anchors or ("__codelineno" if opts.anchor_linenums and linenostart else "")
    return HtmlFormatter(
        cssclass=opts.css_class,
        wrapcode=True,
        linenos=("table" if opts.linenums_style == "table" else "inline") if linenostart else False,
        linenostart=linenostart or 1,
        linenospecial=opts.linenums_special,
        linespans=f"{opts.line_spans}-{index}" if opts.line_spans else "",
        lineanchors=f"{anchors}-{index}" if anchors else "",
        anchorlinenos=bool(opts.anchor_linenums and linenostart),
    )


PLAIN = HighlightOptions()


def highlight(code: str, lang: str, attrs: dict[str, str], opts: HighlightOptions = PLAIN, index: int = 0) -> str:
    """Highlighted ``<pre>`` block (with a title bar when asked); mermaid stays as text.
    ``index`` is the block's number on its page (ids of line spans and anchors)."""
    return _highlight(code, lang, tuple(sorted(attrs.items())), opts, block_number(opts, index))


def block_number(opts: HighlightOptions, index: int) -> int:
    """The block number a highlighted block depends on: 0 when nothing carries it (no line
    spans or anchors), so the cache is shared between pages."""
    return index if opts.line_spans or opts.line_anchors or opts.anchor_linenums else 0


@functools.lru_cache(maxsize=1024)
def _highlight(code: str, lang: str, attr_items: tuple[tuple[str, str], ...], opts: HighlightOptions, index: int) -> str:
    """Cached: translations include the same source files, so a worker sees each block often."""
    attrs = dict(attr_items)
    if lang.lower() == "mermaid":
        return f'<pre class="mermaid">{html.escape(code)}</pre>\n'
    from pygments import highlight as pyg

    hl = tuple(parse_lines(attrs.get("hl_lines", "")))
    linenums = attrs.get("linenums")
    start = int(linenums) if linenums and linenums.isdigit() else (1 if opts.linenums else None)
    body = pyg(code, lexer(lang), _formatter(hl, start, opts, index))
    lang_attr = f' data-lang="{html.escape(lang.lower())}"' if lang else ""
    title = attrs.get("title")
    head = f'<div class="code-title">{html.escape(title)}</div>' if title else ""
    return f'<div class="code-block"{lang_attr}>{head}{body}</div>\n'
