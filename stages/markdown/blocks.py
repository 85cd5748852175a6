"""Block syntax from MkDocs sites: pymdownx ``/// type | Title`` blocks and ``!!!``/``???``
admonitions (``???`` as a collapsible ``<details>``), plus the check for syntax we left as text.
"""

from __future__ import annotations

import html
import re
from collections.abc import MutableMapping
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from stages.site.mdext import PLAIN

ADMONITIONS = frozenset(
    ["note", "attention", "caution", "danger", "error", "tip", "hint", "warning", "info", "check", "abstract", "summary", "tldr", "example", "question", "help", "faq", "quote", "cite", "success", "done", "failure", "fail", "missing", "bug", "important", "seealso", "todo"]
)
KNOWN = ADMONITIONS | {"details", "tab", "admonition", "html", "define", "caption"}
_SHORTCODE = re.compile(r"\{\{<|\{\{%|\{%|\{\{\s*[\w.]+\s*\}\}")
_LEFTOVER = re.compile(r"^(!!!|\?\?\?\+?|/{3,}|:::|===[+!]{0,2}(?=[ \t]+\"))(\s|$)")


def _split(info: str) -> tuple[str, str]:
    kind, _, title = info.strip().partition("|")
    kind = kind.strip()
    words = kind.split()
    return (words[0].lower() if words else ""), title.strip()


def _types(env: MutableMapping[str, Any]) -> frozenset[str]:
    """The ``/// type`` names that are admonitions: pymdownx.blocks.admonition ``types`` when the
    site sets them (custom ones included), else every type pressroom knows."""
    listed = (env.get("md_options") or PLAIN).admonition_types
    return frozenset(listed) if listed else ADMONITIONS


def _inline_env(env: MutableMapping[str, Any]) -> dict[str, Any]:
    """A fresh env for titles, so the page's footnotes are not rendered into the title."""
    keys = ("page_src", "page_path", "include_base", "source_root", "pretty", "docs_dir")
    return {k: env[k] for k in keys if k in env}


def _render_block(md: MarkdownIt) -> Any:
    def render(self: Any, tokens: list[Token], idx: int, options: Any, env: MutableMapping[str, Any]) -> str:
        tok = tokens[idx]
        stack: list[str] = env.setdefault("_blocks", [])
        if tok.nesting == -1:
            return stack.pop() if stack else "</div>\n"
        kind, title = _split(tok.info)
        words = tok.info.split("|")[0].split()
        extra = " ".join(html.escape(w) for w in words[1:])
        title_html = md.renderInline(title, _inline_env(env)) if title else ""
        if kind == "details":
            stack.append("</details>\n")
            opened = " open" if "open" in words[1:] else ""
            summary = title_html or "Details"
            return f'<details class="details {extra}"{opened}><summary>{summary}</summary>\n'
        if kind == "tab":
            stack.append("</div>\n")
            return f'<div class="tab"><div class="tab-label">{title_html or "Tab"}</div>\n'
        if kind in _types(env) or kind == "admonition":
            stack.append("</div>\n")
            label = title_html or html.escape(kind.title())
            return f'<div class="admonition {html.escape(kind)} {extra}"><p class="admonition-title">{label}</p>\n'
        stack.append("</div>\n")
        head = f'<p class="block-title">{title_html}</p>' if title_html else ""
        return f'<div class="block block-{html.escape(kind or "unknown")}">{head}\n'

    return render


def _admon_open(self: Any, tokens: list[Token], idx: int, options: Any, env: MutableMapping[str, Any]) -> str:
    tok = tokens[idx]
    cls = str(tok.attrGet("class") or "admonition")
    stack: list[str] = env.setdefault("_admon", [])
    if "is-collapsible" in cls:
        stack.append("</details>\n")
        opened = " open" if "collapsible-open" in cls else ""
        return f'<details class="{html.escape(cls)}"{opened}>\n'
    stack.append("</div>\n")
    return f'<div class="{html.escape(cls)}">\n'


def _admon_close(self: Any, tokens: list[Token], idx: int, options: Any, env: MutableMapping[str, Any]) -> str:
    stack: list[str] = env.setdefault("_admon", [])
    return stack.pop() if stack else "</div>\n"


def _title_open(self: Any, tokens: list[Token], idx: int, options: Any, env: MutableMapping[str, Any]) -> str:
    stack = env.get("_admon") or []
    return '<summary class="admonition-title">' if stack and stack[-1] == "</details>\n" else '<p class="admonition-title">'


def _title_close(self: Any, tokens: list[Token], idx: int, options: Any, env: MutableMapping[str, Any]) -> str:
    stack = env.get("_admon") or []
    return "</summary>\n" if stack and stack[-1] == "</details>\n" else "</p>\n"


def setup(md: MarkdownIt) -> None:
    from mdit_py_plugins.container import container_plugin

    container_plugin(md, name="blocks", marker="/", validate=lambda params, markup: True, render=_render_block(md))
    md.add_render_rule("admonition_open", _admon_open)
    md.add_render_rule("admonition_close", _admon_close)
    md.add_render_rule("admonition_title_open", _title_open)
    md.add_render_rule("admonition_title_close", _title_close)


def _finding(env: MutableMapping[str, Any], tok: Token, message: str) -> None:
    line = env.get("include_line") or ((tok.map[0] + 1) if tok.map else None)
    env.setdefault("findings", []).append((line, None, "unknown-syntax", "warning", message))


def leftovers(state: StateCore) -> None:
    """Warn about syntax that stayed text: unknown block types, stray markers, shortcodes."""
    env = state.env
    for tok in state.tokens:
        if tok.type == "container_blocks_open":
            kind, _ = _split(tok.info)
            if kind not in (KNOWN - ADMONITIONS) | _types(env):
                _finding(env, tok, f"unknown block type '/// {kind}': rendered as a plain block")
        elif tok.type == "inline":
            first = tok.content.split("\n", 1)[0]
            if first.startswith(":::"):
                _finding(env, tok, f"mkdocstrings directive {first[:60]!r} (API docs from Python source) is not supported: rendered as text")
            elif _LEFTOVER.match(first):
                _finding(env, tok, f"block marker left as text: {first[:60]!r}")
            for child in tok.children or ():
                if child.type == "text" and (m := _SHORTCODE.search(child.content)):
                    _finding(env, tok, f"template shortcode {m.group(0)!r}... from another generator: rendered as text")
                    break
        elif tok.type == "html_block" and (m := _SHORTCODE.search(tok.content)):
            _finding(env, tok, f"template shortcode {m.group(0)!r}... from another generator: rendered as text")
