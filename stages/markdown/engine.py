"""The one markdown-it parser both stages use, with the MkDocs-flavoured syntax real sites need.

Every rule that can find a problem runs while *parsing* (block and core rules), never while
rendering, so ``lint`` (parse only) and ``render_html`` (parse + render) see the same findings.
Findings go to ``env["findings"]`` as ``(line, column, rule, severity, message)`` tuples.
"""

from __future__ import annotations

import functools
import hashlib
import html
import os
from pathlib import Path
from typing import Any

import markdown_it
from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from stages.markdown import admonitions, blocks, extras, includes, inline_rules, rawhtml
from stages.markdown.highlight import block_number, highlight, parse_info
from stages.site.mdext import PLAIN, MarkdownOptions


def _include_block(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """``{* file *}``, ``{!file!}`` and ``--8<-- "file"`` on a line of their own."""
    if state.sCount[start] - state.blkIndent >= 4:
        return False
    pos = state.bMarks[start] + state.tShift[start]
    first = state.src[pos : pos + 1]
    if first not in ("{", "-"):
        return False
    line = state.src[pos : state.eMarks[start]].rstrip()
    star = includes.STAR.match(line)
    bang = None if star else includes.BANG.match(line)
    snip = None if star or bang else includes.SNIPPET.match(line)
    if not (star or bang or snip):
        return False
    if silent:
        return True
    env = state.env
    lineno = env.get("include_line") or start + 1
    state.line = start + 1
    if star:
        got = includes.star_fence(env, star.group(1), star.group(2), lineno)
        if got is None:
            tok = state.push("include_error", "", 0)
            tok.content = star.group(1)
        else:
            tok = state.push("fence", "code", 0)
            tok.info, tok.content = got
            tok.markup = "```"
        tok.map = [start, start + 1]
        return True
    raw = (bang or snip).group(1)  # type: ignore[union-attr]
    path = includes.resolve(env, raw, lineno)
    if path is None:
        tok = state.push("include_error", "", 0)
        tok.content, tok.map = raw, [start, start + 1]
        return True
    stack: list[str] = env.setdefault("include_stack", [env["page_path"]])
    if str(path) in stack or len(stack) > 8:
        includes.add_finding(env, lineno, "include-cycle", "error",
                             f"include {raw!r} includes itself (circular includes); refused")
        tok = state.push("include_error", "", 0)
        tok.content, tok.map = raw, [start, start + 1]
        return True
    text = includes.read(env, path)
    stack.append(str(path))
    saved = env.get("include_line")
    env["include_line"] = lineno  # findings inside an include point at the include line
    try:
        state.md.block.parse(text, state.md, env, state.tokens)
    finally:
        stack.pop()
        env["include_line"] = saved
    return True


def _fence_includes(state: StateCore) -> None:
    for tok in state.tokens:
        if tok.type == "fence" and "{!" in tok.content:
            line = (tok.map[0] + 1) if tok.map else 0
            tok.content = includes.expand_in_fence(state.env, tok.content, line)


def _render_fence(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    tok = tokens[idx]
    lang, attrs = parse_info(tok.info)
    index = env.get("_fences", 0)
    env["_fences"] = index + 1
    opts = (env.get("md_options") or PLAIN).highlight
    seen = env.get("fence_memo")
    if seen is None:
        return highlight(tok.content, lang, attrs, opts, index)
    key = fence_key(tok.content, lang, attrs, opts, index)
    done = seen.get(key)
    if done is None:
        done = highlight(tok.content, lang, attrs, opts, index)
    env.setdefault("fences", {})[key] = done
    return done


def fence_key(code: str, lang: str, attrs: dict[str, str], opts: Any, index: int) -> str:
    """What a highlighted block is a function of (the code's version is in the memo's salt)."""
    return hashlib.sha1(repr((code, lang, sorted(attrs.items()), opts, block_number(opts, index))).encode()).hexdigest()


def _render_include_error(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    return f'<div class="include-error">include failed: <code>{html.escape(tokens[idx].content)}</code></div>\n'


def _footnote_name(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    """``:3``, so a footnote is ``#fn:3`` and its reference ``#fnref:3``, as Python-Markdown
    (MkDocs) and Goldmark (Hugo) name them and as writers link to them (``[note](#fn:3)``)."""
    return f":{tokens[idx].meta['id'] + 1}"


@functools.lru_cache(maxsize=4)
def parser(opts: MarkdownOptions = PLAIN) -> MarkdownIt:
    """Built once per process and option set (the pool's workers each keep their own). The
    options also go into each page's ``env["md_options"]``, where the rules read them."""
    from mdit_py_plugins.admon import admon_plugin
    from mdit_py_plugins.attrs import attrs_plugin
    from mdit_py_plugins.deflist import deflist_plugin
    from mdit_py_plugins.footnote import footnote_plugin
    from mdit_py_plugins.tasklists import tasklists_plugin

    md = MarkdownIt("commonmark", {"html": True, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.use(footnote_plugin).use(deflist_plugin).use(tasklists_plugin).use(admon_plugin)
    admonitions.setup(md)
    md.add_render_rule("footnote_anchor_name", _footnote_name)
    md.use(attrs_plugin)
    blocks.setup(md)
    extras.setup(md, opts)
    md.block.ruler.before("fence", "include", _include_block, {"alt": ["paragraph"]})
    md.block.ruler.before("reference", "abbr_def", inline_rules.abbr_def, {"alt": ["paragraph"]})
    md.core.ruler.after("block", "fence_includes", _fence_includes)
    md.core.ruler.after("inline", "inline_attrs", inline_rules.inline_attrs)
    md.core.ruler.after("inline_attrs", "heading_ids", inline_rules.heading_ids)
    md.core.ruler.before("inline_attrs", "icons", extras.icons)
    md.core.ruler.after("heading_ids", "links", inline_rules.links)
    md.core.ruler.after("links", "html_paths", inline_rules.html_paths)
    md.core.ruler.after("html_paths", "abbr", inline_rules.abbr_apply)
    md.core.ruler.after("abbr", "leftovers", blocks.leftovers)
    md.add_render_rule("fence", _render_fence)
    md.add_render_rule("include_error", _render_include_error)
    md.add_render_rule("html_block", rawhtml.render_block)  # [site] raw_html = "escape" shows it as text
    md.add_render_rule("html_inline", rawhtml.render_inline)
    # a pure function of the URL, and the same link recurs on many pages (a third of the calls)
    md.normalizeLink = functools.lru_cache(maxsize=8192)(md.normalizeLink)  # type: ignore[method-assign]
    return md


_CODE = ("stages/markdown", "stages/site")
"""Code a page's rendering depends on: an edit there (without a salt bump) must not reuse old
results (render_html's pages and bodies, lint's findings)."""


def code_fingerprint() -> str:
    """Sizes and mtimes of the parser's modules and of the installed packages' folder (an
    upgrade of markdown-it or Pygments changes its mtime); cheap enough for every build."""
    here = Path(__file__).resolve().parents[2]
    parts = [str(Path(markdown_it.__file__).resolve().parents[1].stat().st_mtime_ns)]
    for sub in _CODE:
        for entry in sorted(os.scandir(here / sub), key=lambda e: e.name):
            if entry.name.endswith(".py"):
                st = entry.stat()
                parts.append(f"{sub}/{entry.name} {st.st_size} {st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
