"""Parse (and optionally render) one page: the unit of work both stages send to the pool.

The result is a plain dict so it pickles back from a worker process and can be cached as JSON.
A bad page never raises: every problem becomes a finding naming the file and line.
"""

from __future__ import annotations

import asyncio
import html as html_mod
import math
import os
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stages.base import StageContext
from stages.markdown import rawhtml, shortcodes
from stages.markdown.engine import parser
from stages.site import frontmatter, urls
from stages.site.mdext import PLAIN, MarkdownOptions

TOC_MAX = 300
IN_PROCESS_MAX = 4
"""Up to this many pages are parsed in this process when the pool has not started its processes
(a rebuild by ``pressroom build``): forking them and loading the engine in each costs more than
the pages. A pool already running (the daemon's) gets the pages as before."""
SEARCH_TEXT_MAX = 20_000
_HTML_ID = re.compile(r"""\b(?:id|name)\s*=\s*["']([^"']+)["']""")


@dataclass(frozen=True)
class PageJob:
    lang: str
    src: str
    path: str
    rel: str
    """The file as findings name it (relative to the source root)."""
    include_base: str
    source_root: str
    pretty: bool
    max_bytes: int
    macros: dict[str, Any] | None = None
    """Variables for Jinja macros (mkdocs-macros), or None when the site does not enable them."""
    docs_dir: str = ""
    """The language's docs dir, one of the places includes are looked up from."""
    raw_html: str = "allow"
    """``[site] raw_html``: ``allow``, ``sanitize`` or ``escape`` (see :mod:`stages.markdown.rawhtml`)."""
    languages: tuple[str, ...] = ()
    """Every language of the site: ``/<lang>/x/`` links point into another language's pages."""
    markdown: MarkdownOptions = PLAIN
    """mkdocs.yml ``markdown_extensions``: the syntax and options the page is parsed with."""
    base_path: str = "/"
    """The site's base path: root-absolute links (``/docs/x/``) start with it (see ``inline_rules``)."""
    lower_urls: bool = False
    slug_style: str = ""
    """Heading ids: "" Python-Markdown's, ``github``/``github-ascii`` Goldmark's (:attr:`SiteLayout.slug_style`)."""
    """Links to pages lead to lower-cased URLs (a Hugo site: :attr:`SiteLayout.lower_urls`)."""
    shortcodes: bool = False
    """A Hugo site: ``{{< … >}}`` shortcodes are expanded before parsing (elsewhere they are text)."""
    params: dict[str, Any] | None = None
    """Hugo site params in the page's language, for the ``param`` shortcode (None: not a Hugo site)."""
    site_url: str = ""
    """Where the site is published (mkdocs ``site_url``, Hugo ``baseURL``): absolute links under it
    are this site's own pages (:func:`stages.site.urls.own_path`)."""
    fences: dict[str, str] | None = None
    """Highlighted code blocks of the page's previous render by :func:`engine.fence_key`: a page
    whose blocks did not change is parsed without loading a Pygments lexer. None: no memo kept."""


def _finding(job: PageJob, line: int | None, col: int | None, rule: str, severity: str, message: str) -> dict[str, Any]:
    return {"file": job.rel, "line": line, "column": col, "rule": rule, "severity": severity,
            "message": message, "language": job.lang}


def _read(job: PageJob, findings: list[dict[str, Any]]) -> str | None:
    path = Path(job.path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        findings.append(_finding(job, None, None, "unreadable", "error", f"cannot read page: {exc.strerror}"))
        return None
    if len(data) > job.max_bytes:
        findings.append(_finding(job, None, None, "page-too-large", "error",
                                 f"page is {len(data) / 1e6:.1f} MB, over the {job.max_bytes / 1e6:.1f} MB limit "
                                 "([site] max_page_bytes); split it into several pages"))
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        findings.append(_finding(job, line, col, "bad-encoding", "error",
                                 f"page is not valid UTF-8 (byte 0x{data[exc.start]:02x}); invalid bytes shown as \ufffd"))
        text = data.decode("utf-8", errors="replace")
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _plain_text(tok: Any) -> str:
    """An inline token's words as a reader sees them: a soft or hard line break is a space,
    so words on either side of a wrapped line stay two words."""
    return "".join(" " if c.type in ("softbreak", "hardbreak") else c.content
                   for c in tok.children or () if c.type in ("text", "code_inline", "softbreak", "hardbreak"))


def _description(tokens: list[Any]) -> str:
    for i, tok in enumerate(tokens):
        if tok.type == "paragraph_open" and i + 1 < len(tokens) and tokens[i + 1].type == "inline":
            text = _plain_text(tokens[i + 1])
            text = " ".join(text.split())
            if text:
                return text[:297] + "..." if len(text) > 300 else text
    return ""


def _search_text(tokens: list[Any]) -> str:
    parts: list[str] = []
    size = 0
    for tok in tokens:
        if tok.type == "inline":
            chunk = " ".join(_plain_text(tok).split())
            parts.append(chunk)
            size += len(chunk)
            if size > SEARCH_TEXT_MAX:
                break
    return " ".join(parts)[:SEARCH_TEXT_MAX]


def _title_from_name(src: str) -> str:
    """A page with no title is named after its file, and an index page (``_index.md``,
    ``index.md``, ``README.md``) after its folder, as Hugo and MkDocs name them: ``Experimental``,
    not ``_Index``."""
    folder, _, name = src.rpartition("/")
    stem = name.rsplit(".", 1)[0]
    if stem in urls.INDEX_NAMES:
        stem = folder.rsplit("/", 1)[-1] or "Home"
    return stem.replace("-", " ").replace("_", " ").strip().title() or "Home"


def _footnote_ids(env: dict[str, Any]) -> set[str]:
    """Footnote anchors (``#fn:1``, ``#fnref:1``: see :func:`engine._footnote_name`) are valid link targets too."""
    refs = env.get("footnotes", {}).get("list", {})
    ids: set[str] = set()
    for i in range(1, len(refs) + 1):
        ids.update({f"fn:{i}", f"fnref:{i}"})
    return ids


def analyze(job: PageJob, render: bool) -> dict[str, Any]:
    findings: list[dict[str, Any]] = []
    result: dict[str, Any] = {"src": job.src, "rel": job.rel, "title": "", "description": "", "meta": {}, "toc": [], "ids": [],
                              "links": [], "images": [], "deps": [], "findings": findings, "html": "",
                              "text": "", "has_h1": False}
    text = _read(job, findings)
    if text is None:
        result["title"] = job.src
        result["html"] = '<p class="build-error">This page could not be built; see the lint findings.</p>\n'
        return result
    meta, body, err, _n = frontmatter.split(text)
    if err:
        findings.append(_finding(job, 1, 1, "bad-front-matter", "error", err))
    if job.macros is not None:
        # Jinja and YAML: loaded only by the processes of the sites that use macros
        from stages.markdown import macros

        body, macro_err = macros.render(body, job.macros, meta)
        if macro_err:
            findings.append(_finding(job, None, None, "macro-error", "error", macro_err))
    md = parser(job.markdown)
    env: dict[str, Any] = {"md_options": job.markdown, "page_src": job.src, "page_path": job.path, "include_base": job.include_base,
                           "source_root": job.source_root, "pretty": job.pretty, "raw_html": job.raw_html,
                           "docs_dir": job.docs_dir, "lang": job.lang, "languages": job.languages,
                           "base_path": job.base_path, "site_url": job.site_url, "fence_memo": job.fences,
                           "page_meta": meta, "site_params": job.params or {},
                           "lower_urls": job.lower_urls, "slug_style": job.slug_style}
    if job.shortcodes:
        body = shortcodes.expand(body, env)
    try:
        tokens = md.parse(body, env)
        if render:
            result["html"] = md.renderer.render(tokens, md.options, env)
            if job.raw_html == "sanitize":
                result["html"] = rawhtml.sanitize(result["html"])
    except RecursionError:
        findings.append(_finding(job, None, None, "too-deep", "error", "page nests too deeply to parse"))
        return result
    except Exception as exc:  # a parser bug must not take the build down with a traceback
        where = traceback.extract_tb(exc.__traceback__)[-1]
        findings.append(_finding(job, None, None, "parse-error", "error",
                                 f"could not parse page: {type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})"))
        result["html"] = f"<pre>{html_mod.escape(body)}</pre>\n"
        return result
    headings = env.get("headings", [])
    h1 = next((h for h in headings if h[0] == 1), None)
    title = meta.get("title") if isinstance(meta.get("title"), str) else None
    if not title and h1:
        title = h1[2]
    if not title:
        findings.append(_finding(job, 1, 1, "no-title", "warning", "page has no title (no front matter title and no '# ' heading)"))
    desc = meta.get("description")
    result.update(
        title=title or _title_from_name(job.src),
        description=desc if isinstance(desc, str) else _description(tokens),
        meta=meta,
        has_h1=h1 is not None,
        toc=[list(h[:3]) for h in headings if h[0] in job.markdown.toc_levels][:TOC_MAX],
        ids=sorted(set(env.get("ids", {})) | set(_HTML_ID.findall(body)) | _footnote_ids(env)),
        links=[list(x) for x in env.get("links", [])],
        images=[list(x) for x in env.get("images", [])],
        deps=sorted(env.get("deps", ())),
        text=(f"{desc} " if isinstance(desc, str) else "") + _search_text(tokens) if render else "",
        lang_bound=bool(env.get("lang_bound")),
        fences=env.get("fences", {}) if job.fences is not None else None,
    )
    findings.extend(_finding(job, *f) for f in env.get("findings", []))
    return result


def analyze_batch(jobs: list[PageJob], render: bool) -> list[dict[str, Any]]:
    """Top-level so a process pool can pickle it."""
    return [analyze(job, render) for job in jobs]


def _size(job: PageJob) -> int:
    try:
        return os.stat(job.path).st_size
    except OSError:
        return 0


async def analyze_all(ctx: StageContext[Any], jobs: list[PageJob], render: bool,
                      report: Callable[[int, int], None]) -> list[dict[str, Any]]:
    """Parse (and render) pages in the pool, a few per call so progress moves steadily;
    checks for cancellation between calls. Results come back in completion order.

    The biggest pages go first and calls stay small, so no process is left with a long page
    while the others are idle at the end (page sizes differ by 100x in real sites)."""
    if not jobs:
        return []
    if len(jobs) <= IN_PROCESS_MAX and not getattr(ctx.executor, "_processes", None):
        here = await asyncio.to_thread(analyze_batch, jobs, render)
        report(len(here), len(jobs))
        return here
    workers = max(1, getattr(ctx.executor, "_max_workers", 1) or 1)
    size = max(1, min(4, math.ceil(len(jobs) / (workers * 8))))
    ordered = sorted(jobs, key=_size, reverse=True) if workers > 1 else jobs
    chunks = [ordered[i : i + size] for i in range(0, len(ordered), size)]
    tasks = [asyncio.ensure_future(ctx.in_pool(analyze_batch, c, render)) for c in chunks]
    results: list[dict[str, Any]] = []
    try:
        for fut in asyncio.as_completed(tasks):
            results.extend(await fut)
            report(len(results), len(jobs))
            ctx.raise_if_cancelled()
    finally:
        for t in tasks:
            t.cancel()
    return results
