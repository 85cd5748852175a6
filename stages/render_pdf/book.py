"""Turn one language's rendered pages into printable chapter documents (pure text work).

The book is rendered in chapters, each in its own WeasyPrint call, and merged afterwards. Ids
from different pages would collide in one book, so every id is prefixed with a stable page id
(derived from the page URL, so inserting a page does not change the others' HTML and their
cached chapters stay valid). Every link to a page of the book becomes a
``pressroom-internal:<id>`` URI that the merge step turns into a PDF GoTo link once the final
page numbers are known; this is what keeps cross-chapter links right.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

INTERNAL = "pressroom-internal:"
"""URI scheme of a not yet resolved link to an anchor somewhere in the book."""

_MAIN_RE = re.compile(r"<main\b[^>]*\bid\s*=\s*[\"']content[\"'][^>]*>", re.IGNORECASE)
_TAG_RE = re.compile(r"<[a-zA-Z][^<>]*>")
_ATTR_RE = re.compile(r"(\s)(id|href|src)(\s*=\s*)(\"[^\"]*\"|'[^']*')", re.IGNORECASE)
_SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


@dataclass(frozen=True)
class Page:
    """One rendered page as the HTML stage lists it, plus its stable id in the book."""

    src: str
    file: str
    url: str
    title: str
    level: int
    section: tuple[str, ...]
    hash: str
    pid: str

    @classmethod
    def from_output(cls, entry: dict[str, Any]) -> Page:
        url = str(entry.get("url") or entry["file"])
        return cls(
            src=str(entry.get("src", "")),
            file=str(entry["file"]),
            url=url,
            title=str(entry.get("title") or entry.get("src") or url),
            level=int(entry.get("level") or 1),
            section=tuple(str(s) for s in entry.get("section") or ()),
            hash=str(entry.get("hash", "")),
            pid="pg" + hashlib.sha1(url.encode()).hexdigest()[:10],
        )


@dataclass
class Unit:
    """A chapter: consecutive pages (or parts of one big page) rendered in one WeasyPrint call."""

    pages: list[Page]
    parts: list[str] = field(default_factory=list)
    """The prepared HTML of each page (or page part) in this unit, in order."""

    def html(self, lang: str, title: str) -> str:
        body = "\n".join(self.parts)
        return (
            f'<!doctype html><html lang="{html.escape(lang)}"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title></head><body>{body}</body></html>"
        )


def extract_main(document: str) -> str:
    """The inner HTML of ``<main id="content">``; the whole body when a page lacks it."""
    match = _MAIN_RE.search(document)
    if match:
        end = document.rfind("</main>")
        if end < match.end():
            end = len(document)
        return document[match.end():end]
    body = re.search(r"<body\b[^>]*>(.*)</body>", document, re.IGNORECASE | re.DOTALL)
    return body.group(1) if body else document


class _TopLevelH2(HTMLParser):
    """Offsets of ``<h2>`` tags that sit at the top level of the content (safe split points)."""

    _VOID = frozenset(
        ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"]
    )

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=False)
        self.depth = 0
        self.offsets: list[int] = []
        self._line_starts = [0]
        for m in re.finditer("\n", text):
            self._line_starts.append(m.end())
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "h2" and self.depth == 0:
            line, col = self.getpos()
            self.offsets.append(self._line_starts[line - 1] + col)
        if tag not in self._VOID:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag not in self._VOID:
            self.depth = max(0, self.depth - 1)


_SPLIT_MEMO: dict[str, list[int]] = {}
"""Content digest -> top-level ``<h2>`` offsets. Parsing the release notes (two pages, 0.5 MB)
is half of planning a book, and they rarely change between two builds of a daemon."""


def split_content(content: str, limit: int) -> list[str]:
    """Cut oversized content before top-level ``<h2>`` headings into parts of about ``limit``."""
    if len(content) <= limit:
        return [content]
    key = hashlib.sha1(content.encode()).hexdigest()
    offsets = _SPLIT_MEMO.get(key)
    if offsets is None:
        try:
            offsets = _TopLevelH2(content).offsets
        except Exception:  # a parser surprise only costs parallelism, never the book
            return [content]
        if len(_SPLIT_MEMO) >= 64:
            _SPLIT_MEMO.clear()
        _SPLIT_MEMO[key] = offsets
    parts: list[str] = []
    start = 0
    for off in offsets:
        if off - start >= limit:
            parts.append(content[start:off])
            start = off
    parts.append(content[start:])
    return [p for p in parts if p.strip()] or [content]


class LinkMap:
    """Resolves hrefs and image sources of one language's pages against the book and the site."""

    def __init__(self, pages: list[Page], site_dir: Path, base_url: str) -> None:
        self.site_dir = site_dir.resolve()
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.by_path: dict[str, Page] = {}
        self.assets: dict[str, set[str]] = {}
        """Page id -> the site files its images name (site-relative), for the chapter keys."""
        for page in pages:
            for key in (page.url, page.file):
                self.by_path[_norm(key)] = page

    def href(self, page: Page, value: str) -> str:
        if not value:
            return value
        if value.startswith("#"):
            return INTERNAL + anchor_id(page.pid, unquote(value[1:]))
        if value.startswith(self.base_url):
            value = "/" + value[len(self.base_url):]
        if _SCHEME_RE.match(value) or value.startswith("//"):
            return value
        target = urljoin("/" + page.url, value)
        parts = urlsplit(target)
        hit = self.by_path.get(_norm(parts.path))
        if hit is not None:
            return INTERNAL + anchor_id(hit.pid, unquote(parts.fragment))
        return urljoin(self.base_url, target.lstrip("/"))

    def src(self, page: Page, value: str) -> str:
        if not value or _SCHEME_RE.match(value) or value.startswith("//"):
            return value
        path = urlsplit(urljoin("/" + page.file, value)).path
        candidate = (self.site_dir / unquote(path).lstrip("/")).resolve()
        if candidate.is_relative_to(self.site_dir) and candidate.is_file():
            # Relative to the site folder (the chapter's base URL), never an absolute file URL:
            # the workspace path differs per job and per build, and would change every
            # chapter's HTML, and so its cache key, although nothing in it changed.
            rel = candidate.relative_to(self.site_dir).as_posix()
            self.assets.setdefault(page.pid, set()).add(rel)
            return quote(rel)
        return value


def _norm(path: str) -> str:
    path = unquote(path).strip("/")
    if path.endswith("index.html"):
        path = path[: -len("index.html")].rstrip("/")
    return path


def anchor_id(pid: str, fragment: str = "") -> str:
    """The book-wide id of an anchor: the page id alone for the page's start."""
    return f"{pid}--{fragment}" if fragment else pid


def prepare(page: Page, content: str, links: LinkMap) -> str:
    """Prefix ids and rewrite links inside every tag of one page's content."""

    def fix_attr(m: re.Match[str]) -> str:
        name = m.group(2).lower()
        raw = m.group(4)
        value = html.unescape(raw[1:-1])
        if name == "id":
            new = anchor_id(page.pid, value)
        elif name == "href":
            new = links.href(page, value)
        else:
            new = links.src(page, value)
        return f'{m.group(1)}{m.group(2)}{m.group(3)}"{html.escape(new, quote=True)}"'

    return _TAG_RE.sub(lambda t: _ATTR_RE.sub(fix_attr, t.group(0)), content)


def wrap(page: Page, body: str, *, first: bool) -> str:
    """One page (or page part) as an article that starts on a new sheet and sets the header."""
    title = html.escape(page.title, quote=True)
    ident = f' id="{page.pid}"' if first else ""
    cls = "pr-page" if first else "pr-page pr-continued"
    return f'<article class="{cls}"{ident} data-title="{title}">{body}</article>'


def plan_units(
    pages: list[Page], contents: dict[str, str], *, chapter_pages: int, split_bytes: int
) -> list[Unit]:
    """Group pages into chapters: runs of one nav section, at most ``chapter_pages`` each.

    Boundaries depend only on the nav (never on content sizes), so editing a page changes
    exactly one chapter and every other chapter's cache entry stays valid.
    """
    units: list[Unit] = []
    current: Unit | None = None
    for page in pages:
        body = contents[page.pid]
        if len(body) > split_bytes:
            current = None
            parts = split_content(body, split_bytes)
            for i, part in enumerate(parts):
                units.append(Unit(pages=[page], parts=[wrap(page, part, first=i == 0)]))
            continue
        if (
            current is None
            or current.pages[-1].section != page.section
            or len(current.pages) >= chapter_pages
        ):
            current = Unit(pages=[])
            units.append(current)
        current.pages.append(page)
        current.parts.append(wrap(page, body, first=True))
    return units


@dataclass(frozen=True)
class TocEntry:
    depth: int
    title: str
    target: str
    """Book-wide anchor id the entry points at."""
    is_section: bool = False


def toc_entries(pages: list[Page], *, headings: dict[str, list[tuple[str, str]]] | None = None) -> list[TocEntry]:
    """The nav as a flat list: section titles (when they start) and pages, each with a depth.

    ``headings`` optionally maps a page id to its ``(anchor, title)`` h2 headings, which become
    entries one level below the page (used for bookmarks, not the printed TOC).
    """
    entries: list[TocEntry] = []
    previous: tuple[str, ...] = ()
    for page in pages:
        common = 0
        while (
            common < min(len(previous), len(page.section))
            and previous[common] == page.section[common]
        ):
            common += 1
        for depth in range(common, len(page.section)):
            if page.section[depth].strip():
                entries.append(TocEntry(depth, page.section[depth], page.pid, is_section=True))
        previous = page.section
        depth = len([s for s in page.section if s.strip()])
        entries.append(TocEntry(depth, page.title, page.pid))
        for anchor, title in (headings or {}).get(page.pid, []):
            entries.append(TocEntry(depth + 1, title, anchor))
    return _compact_depths(entries)


def _compact_depths(entries: list[TocEntry]) -> list[TocEntry]:
    """Depths never jump by more than one level, so an outline tree can always be built."""
    out: list[TocEntry] = []
    last = -1
    for e in entries:
        depth = min(e.depth, last + 1)
        out.append(TocEntry(depth, e.title, e.target, e.is_section))
        last = depth
    return out


def front_matter_html(
    *,
    lang: str,
    title: str,
    version: str | None,
    commit: str | None,
    date: str,
    entries: list[TocEntry],
    numbers: dict[str, int],
    toc_title: str = "Contents",
) -> str:
    """Cover and table of contents; page numbers are filled in from the rendered chapters."""
    esc = html.escape
    meta = [x for x in (f"Version {version}" if version else None, f"Commit {commit[:12]}" if commit else None, date) if x]
    rows = []
    for e in entries:
        num = numbers.get(e.target)
        cls = "pr-toc-section" if e.is_section else "pr-toc-page"
        rows.append(
            f'<li class="{cls} pr-toc-d{min(e.depth, 5)}"><a href="{INTERNAL}{esc(e.target)}" '
            f'data-page="{num if num is not None else ""}">{esc(e.title)}</a></li>'
        )
    return (
        f'<!doctype html><html lang="{esc(lang)}"><head><meta charset="utf-8"><title>{esc(title)}</title></head><body>'
        f'<section class="pr-cover"><h1 class="pr-cover-title">{esc(title)}</h1>'
        + "".join(f'<p class="pr-cover-meta">{esc(m)}</p>' for m in meta)
        + f'</section><nav class="pr-toc"><h1 class="pr-toc-title">{esc(toc_title)}</h1><ul>'
        + "".join(rows)
        + "</ul></nav></body></html>"
    )
