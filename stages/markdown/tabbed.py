"""pymdownx.tabbed: ``=== "Title"`` content tabs, the Material for MkDocs way to write them.

::

    === "pip"

        pip install pressroom

    === "uv"

        uv add pressroom

A ``===`` line starts a tab; its content is the following lines indented four spaces. Tabs
next to each other form one tab set (the theme's script groups them, as it groups ``/// tab``
blocks, which render to the same HTML); ``===!`` starts a new set right after another, ``===+``
is the tab shown first.
"""

from __future__ import annotations

import html
import re
from collections.abc import MutableMapping
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.token import Token

from stages.markdown.admonitions import indented_body

_START = re.compile(r'^===([+!]{0,2})[ \t]+"(.*)"[ \t]*$')


def _tab(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    if state.sCount[start_line] - state.blkIndent >= 4:
        return False  # an indented code block
    start = state.bMarks[start_line] + state.tShift[start_line]
    m = _START.match(state.src[start : state.eMarks[start_line]])
    if m is None:
        return False
    if silent:
        return True
    with indented_body(state, start_line, end_line, "tabbed") as end:
        token = state.push("tabbed_open", "div", 1)
        token.markup, token.info, token.block, token.map = "===" + m.group(1), m.group(2), True, [start_line, end]
        state.md.block.tokenize(state, start_line + 1, end)
        token = state.push("tabbed_close", "div", -1)
        token.markup, token.block = "===", True
    return True


def _render_open(md: MarkdownIt) -> Any:
    def render(self: Any, tokens: list[Token], idx: int, options: Any, env: MutableMapping[str, Any]) -> str:
        tok = tokens[idx]
        flags = tok.markup[3:]
        cls = "tab" + (" tab-new" if "!" in flags else "") + (" tab-selected" if "+" in flags else "")
        title = md.renderInline(tok.info, {k: env[k] for k in ("page_src", "pretty") if k in env}) if tok.info else ""
        return f'<div class="{cls}"><div class="tab-label">{title or html.escape("Tab")}</div>\n'

    return render


def setup(md: MarkdownIt) -> None:
    md.block.ruler.before("fence", "tabbed", _tab, {"alt": ["paragraph", "reference", "blockquote", "list"]})
    md.add_render_rule("tabbed_open", _render_open(md))
    md.add_render_rule("tabbed_close", lambda self, tokens, idx, options, env: "</div>\n")
