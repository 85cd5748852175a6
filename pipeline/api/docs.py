"""``GET /docs/<page>.md``: this installation's own docs, read-only, so runbook links resolve.

Every error carries ``runbook: docs/errors.md#<code>`` and notifications turn that into a link on
the daemon (``<public_url>/docs/errors.md#<code>``). The pages are the project's ``docs/`` folder,
which sits beside the ``pipeline`` package in a checkout (and an editable install); it is not in
the package, so an installation without it, or one whose team hosts the docs elsewhere, sets
``[server] docs_url`` and the links point there instead (``pipeline.notify.router.runbook_url``).

Only ``*.md`` files directly in that folder are served, by exact name, rendered to HTML with raw
HTML disabled, under a CSP that allows no script: the pages are ours, but nothing here needs more.
"""

from __future__ import annotations

import asyncio
import functools
import re
from pathlib import Path

from aiohttp import web
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore

from pipeline import errors

DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"
PAGE = re.compile(r"^[a-z0-9][a-z0-9_-]*\.md$")
_HEADING_ID = re.compile(r"\s*\{\s*#([A-Za-z0-9_-]+)\s*\}\s*$")
HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
           "X-Content-Type-Options": "nosniff", "Cache-Control": "max-age=300"}
_STYLE = ("body{font:16px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem}"
          "code,pre{background:#f4f4f4}pre{padding:.5rem;overflow:auto}table{border-collapse:collapse}"
          "td,th{border:1px solid #ccc;padding:.2rem .5rem}:target{background:#fff3bf}")

routes = web.RouteTableDef()


def _heading_ids(state: StateCore) -> None:
    """MkDocs' ``## Title { #id }`` (attr_list) becomes ``<h2 id="id">``, so ``#code`` anchors work."""
    tokens = state.tokens
    for i, tok in enumerate(tokens[:-1]):
        inline = tokens[i + 1]
        if tok.type != "heading_open" or inline.type != "inline":
            continue
        found = _HEADING_ID.search(inline.content)
        if not found:
            continue
        tok.attrSet("id", found.group(1))
        inline.content = inline.content[: found.start()]
        if inline.children:
            last = inline.children[-1]
            if last.type == "text":
                last.content = _HEADING_ID.sub("", last.content)


@functools.lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    md.core.ruler.push("heading_ids", _heading_ids)
    return md


def render(text: str, title: str) -> str:
    body = _markdown().render(text)
    safe_title = title.replace("&", "&amp;").replace("<", "&lt;")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{safe_title} · pressroom docs</title>'
            f"<style>{_STYLE}</style></head><body>{body}</body></html>")


@functools.lru_cache(maxsize=64)
def _page(path: Path, mtime_ns: int) -> str:
    """Rendered once per file version."""
    return render(path.read_text("utf-8"), path.stem)


def _load(name: str, root: Path) -> str | None:
    path = root / name
    try:
        stat = path.stat()
    except OSError:
        return None
    return _page(path, stat.st_mtime_ns) if path.is_file() else None


@routes.get("/docs/{name}")
async def page(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    html = await asyncio.to_thread(_load, name, DOCS_DIR) if PAGE.match(name) else None
    if html is None:
        raise errors.NotFound(f"no docs page {name!r} on this daemon (see [server] docs_url)")
    return web.Response(text=html, content_type="text/html", charset="utf-8", headers=HEADERS)


@routes.get("/docs/")
async def index(request: web.Request) -> web.Response:
    raise web.HTTPFound("/docs/index.md")
