"""``!!! note "Title"`` admonitions and ``???``/``???+`` collapsible ones, as Python-Markdown reads them.

mdit-py-plugins' rule ends an admonition at two blank lines in a row; Python-Markdown (MkDocs)
keeps it open while the lines go on being indented, blank lines or not, and Material's own
docs rely on that (a ``??? example`` holding content tabs separated by two blank lines). This
rule is mdit's with that end; its tokens are the same, so the renderers in
:mod:`stages.markdown.blocks` draw both.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from mdit_py_plugins.admon.index import MARKERS, _extra_classes, _get_tag, _validate


def indented_end(state: StateBlock, start_line: int, end_line: int, indent: int) -> int:
    """The line after a block's last line indented by ``indent`` or more (blank lines inside it
    belong to it; trailing ones do not)."""
    line, last = start_line + 1, start_line
    while line < end_line:
        if not state.isEmpty(line):
            if state.sCount[line] < indent:
                break
            last = line
        line += 1
    return last + 1


@contextlib.contextmanager
def indented_body(state: StateBlock, start_line: int, end_line: int, parent: str) -> Iterator[int]:
    """The body of a block whose marker is on ``start_line`` and whose content is indented four
    spaces under it: yields the end line with the parser set to read the body as blocks, and
    puts the parser back (and after the block) when done."""
    indent = state.sCount[start_line] + 4
    end = indented_end(state, start_line, end_line, indent)
    old = (state.parentType, state.lineMax, state.blkIndent)
    state.parentType, state.lineMax, state.blkIndent = parent, end, indent  # type: ignore[assignment]
    try:
        yield end
    finally:
        state.parentType, state.lineMax, state.blkIndent = old  # type: ignore[assignment]
        state.line = end


def admonition(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    if state.sCount[start_line] - state.blkIndent >= 4:
        return False  # an indented code block
    start = state.bMarks[start_line] + state.tShift[start_line]
    maximum = state.eMarks[start_line]
    markup = next((m for m in sorted(MARKERS, key=len, reverse=True) if state.src.startswith(m, start)), None)
    if markup is None:
        return False
    params = state.src[start + len(markup) : maximum]
    if not _validate(params):
        return False
    if silent:
        return True
    tags, title = _get_tag(params)
    with indented_body(state, start_line, end_line, "admonition") as end:
        token = state.push("admonition_open", "div", 1)
        token.markup, token.block, token.info, token.content = markup, True, params, title
        token.attrs = {"class": " ".join(["admonition", *tags, *_extra_classes(markup)])}
        token.meta, token.map = {"tag": tags[0]}, [start_line, end]
        if title:
            token = state.push("admonition_title_open", "p", 1)
            token.markup, token.attrs, token.map = f"{markup} {tags[0]}", {"class": "admonition-title"}, [start_line, start_line + 1]
            token = state.push("inline", "", 0)
            token.content, token.map, token.children = title, [start_line, start_line + 1], []
            state.push("admonition_title_close", "p", -1)
        state.md.block.tokenize(state, start_line + 1, end)
        token = state.push("admonition_close", "div", -1)
        token.markup, token.block = markup, True
    return True


def setup(md: MarkdownIt) -> None:
    """In place of mdit's rule (which :func:`mdit_py_plugins.admon.admon_plugin` registered)."""
    md.block.ruler.at("admonition", admonition, {"alt": ["paragraph", "reference", "blockquote", "list"]})
