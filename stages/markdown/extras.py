"""Inline syntax of the pymdownx extensions a MkDocs site turns on in ``markdown_extensions``.

``==mark==`` (pymdownx.mark), ``^^insert^^`` and ``^sup^`` (pymdownx.caret), ``~sub~``
(pymdownx.tilde; ``~~del~~`` is markdown-it's strikethrough), ``++ctrl+alt+del++``
(pymdownx.keys), `` `#!python code` `` (pymdownx.inlinehilite) and ``<div markdown>``
(md_in_html). They are only switched on when the site lists the extension, because on any other
site ``==`` or ``++`` is ordinary text and must stay so.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from stages.site.mdext import MarkdownOptions

KEY_NAMES = {
    "ctrl": "Ctrl", "alt": "Alt", "shift": "Shift", "cmd": "Cmd", "command": "Cmd", "meta": "Meta",
    "option": "Option", "del": "Del", "delete": "Del", "enter": "Enter", "return": "Return", "esc": "Esc",
    "escape": "Esc", "tab": "Tab", "space": "Space", "backspace": "Backspace", "insert": "Ins", "ins": "Ins",
    "home": "Home", "end": "End", "page-up": "Page Up", "page-down": "Page Down", "up": "Up", "down": "Down",
    "left": "Left", "right": "Right", "windows": "Win", "super": "Super", "fn": "Fn", "caps-lock": "Caps Lock",
    **{f"f{n}": f"F{n}" for n in range(1, 13)},
}
"""pymdownx.keys' names for the common keys; any other name is shown as written."""


def _paired(marker: str, name: str, tag: str) -> Callable[[StateInline, bool], bool]:
    """A rule for ``<marker>text<marker>``: the text is parsed as inline Markdown (``==**x**==``)."""
    pattern = re.compile(re.escape(marker) + r"(?=\S)(.+?)(?<=\S)" + re.escape(marker))
    first = marker[0]

    def rule(state: StateInline, silent: bool) -> bool:
        if state.src[state.pos] != first or not state.src.startswith(marker, state.pos):
            return False
        m = pattern.match(state.src, state.pos, state.posMax)
        if m is None or m.group(1).startswith(first):
            return False
        if not silent:
            state.push(f"{name}_open", tag, 1).markup = marker
            end = state.posMax
            state.pos, state.posMax = m.start(1), m.end(1)
            state.md.inline.tokenize(state)
            state.posMax = end
            state.push(f"{name}_close", tag, -1).markup = marker
        state.pos = m.end()
        return True

    return rule


_KEYS = re.compile(r"\+\+([\w-]+(?:\+[\w-]+)*)\+\+")


def _keys(state: StateInline, silent: bool) -> bool:
    if not state.src.startswith("++", state.pos):
        return False
    m = _KEYS.match(state.src, state.pos, state.posMax)
    if m is None:
        return False
    if not silent:
        parts = []
        for key in m.group(1).split("+"):
            label = KEY_NAMES.get(key.lower(), key if len(key) > 1 else key.upper())
            parts.append(f'<kbd class="key-{html.escape(key.lower())}">{html.escape(label)}</kbd>')
        tok = state.push("html_inline", "", 0)
        tok.content = '<span class="keys">' + "<span>+</span>".join(parts) + "</span>"
    state.pos = m.end()
    return True


_HILITE = re.compile(r"^#!([\w+#.-]+)\s+(.*)$", re.S)


def _code_inline(md: MarkdownIt, css_class: str) -> Any:
    """`` `#!python x = 1` ``: the code span highlighted in that language (pymdownx.inlinehilite)."""
    default = getattr(md.renderer, "rules", {}).get("code_inline")

    def render(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
        m = _HILITE.match(tokens[idx].content)
        if m is None:
            return default(tokens, idx, options, env) if default else html.escape(tokens[idx].content)
        from pygments import highlight
        from pygments.formatters.html import HtmlFormatter

        from stages.markdown.highlight import lexer

        body = highlight(m.group(2), lexer(m.group(1)), HtmlFormatter(nowrap=True)).rstrip("\n")
        return f'<code class="{html.escape(css_class)} language-{html.escape(m.group(1).lower())}">{body}</code>'

    return render


_MD_ATTR = re.compile(r"""^(<[A-Za-z][\w-]*\b[^>]*?)\s+markdown(?:\s*=\s*(?:"[^"]*"|'[^']*'|[\w-]+))?(?=[\s/>])""")


def _md_in_html(state: StateCore) -> None:
    """``<div markdown="1">``: the Markdown between the tags (set off by blank lines, as CommonMark
    reads it) is already parsed; the ``markdown`` attribute is taken off as Python-Markdown does."""
    for tok in state.tokens:
        if tok.type == "html_block" and "markdown" in tok.content:
            tok.content = _MD_ATTR.sub(r"\1", tok.content, count=1)


_ICON = re.compile(r":(?:material|fontawesome|octicons|simple)-[a-z0-9-]+:(?:\{[^{}\n]*\})?")
"""Material for MkDocs' icon shortcodes (``:octicons-clock-24:``, with an attribute list after)."""


def icons(state: StateCore) -> None:
    """Drop icon shortcodes: Material draws them from its own icon sets, which pressroom does not
    ship, and a reader should not see ``:octicons-clock-24:{ .mdx-pulse }`` as text. One
    warning per page names the first few."""
    gone: list[str] = []
    line: int | None = None
    for tok in state.tokens:
        if tok.type != "inline" or not tok.children or ":" not in tok.content:
            continue
        for child in tok.children:
            if child.type == "text" and _ICON.search(child.content):
                gone.extend(m.group(0).split("{", 1)[0] for m in _ICON.finditer(child.content))
                child.content = _ICON.sub("", child.content)
                line = line or (tok.map[0] + 1 if tok.map else None)
    if gone:
        names = ", ".join(dict.fromkeys(gone[:5]))
        state.env.setdefault("findings", []).append(
            (line, None, "icon-removed", "warning", f"{len(gone)} icon shortcode(s) removed (no icon set): {names}"))


def setup(md: MarkdownIt, opts: MarkdownOptions) -> None:
    """Turn on what the site's ``markdown_extensions`` list; before ``emphasis`` so ``^^`` is not
    taken for two superscripts."""
    if opts.mark:
        md.inline.ruler.before("emphasis", "mark", _paired("==", "mark", "mark"))
    if opts.caret:
        from mdit_py_plugins.superscript import superscript_plugin

        md.inline.ruler.before("emphasis", "ins", _paired("^^", "ins", "ins"))
        md.use(superscript_plugin)
    if opts.tilde:
        from mdit_py_plugins.subscript import sub_plugin

        md.use(sub_plugin)
    if opts.keys:
        md.inline.ruler.before("emphasis", "keys", _keys)
    if opts.inlinehilite:
        md.add_render_rule("code_inline", _code_inline(md, opts.highlight.css_class))
    if opts.md_in_html:
        md.core.ruler.push("md_in_html", _md_in_html)
    if opts.tabbed:
        from stages.markdown import tabbed

        tabbed.setup(md)
