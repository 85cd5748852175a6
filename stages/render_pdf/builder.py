"""Build one language's book: plan chapters, render what the cache lacks, number, merge.

The parent process only reads files, hashes and plans; every WeasyPrint call and the merge run
in :class:`~stages.render_pdf.pool.ChildPool` children. Page numbers are only known after the
chapters are rendered, so the front matter (cover and TOC) is rendered last with the real numbers,
and the merge resolves links and bookmarks with the known page offsets.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stages.render_pdf import book, child, slim
from stages.render_pdf.options import Options
from stages.render_pdf.pool import ChildPool

CACHE_VERSION = "pdf-4"
"""Bump when the chapter HTML or the merge changes shape, to invalidate every cached chapter."""
DEFAULT_CSS = Path(__file__).resolve().parent / "print.css"
_H2_RE = re.compile(r"<h2\b[^>]*\bid=\"([^\"]+)\"[^>]*>(.*?)</h2>", re.IGNORECASE | re.DOTALL)
_TAGS_RE = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class BookInput:
    """What the stage knows about one language before reading any page."""

    lang: str
    pages: list[dict[str, Any]]
    site_dir: Path
    cache_dir: Path
    out_pdf: Path
    title: str
    base_url: str
    version: str | None
    commit: str | None
    date: str
    stylesheets: list[str]


@dataclass
class Plan:
    """A language's book, planned: chapters with cache keys, TOC entries and bookmarks."""

    pages: list[book.Page]
    units: list[book.Unit]
    unit_html: list[str]
    unit_keys: list[str]
    toc: list[book.TocEntry]
    outline: list[book.TocEntry]
    book_key: str
    css_text: str


@dataclass
class BookResult:
    lang: str
    pdf: Path
    pages: int
    chapters: int
    rendered: int
    cached_book: bool
    unresolved_links: int = 0
    missing: list[str] = field(default_factory=list)


def _digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


def page_css(opts: Options) -> str:
    """The stage's own CSS on top of the stylesheets (part of every chapter's key)."""
    return f"@page {{ size: {opts.page_size}; }}"


def plan_book(inp: BookInput, opts: Options) -> tuple[Plan, list[str]]:
    """Read every page of the language and plan its chapters (pure file reading, no WeasyPrint).

    Returns the plan and the files that were listed but missing (reported as findings).
    """
    pages = [book.Page.from_output(p) for p in inp.pages]
    links = book.LinkMap(pages, inp.site_dir, inp.base_url)
    contents: dict[str, str] = {}
    headings: dict[str, list[tuple[str, str]]] = {}
    missing: list[str] = []
    present: list[book.Page] = []
    for page in pages:
        path = inp.site_dir / page.file
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            missing.append(page.file)
            continue
        prepared = book.prepare(page, book.extract_main(text), links)
        contents[page.pid] = prepared
        headings[page.pid] = [
            (anchor, html.unescape(_TAGS_RE.sub("", label)).strip().rstrip("¶").strip())
            for anchor, label in _H2_RE.findall(prepared)
        ]
        present.append(page)
    units = book.plan_units(
        present, contents, chapter_pages=opts.chapter_pages, split_bytes=opts.split_bytes
    )
    css_text = page_css(opts)
    fingerprint = _digest(
        CACHE_VERSION, css_text, *(Path(f).read_bytes() for f in inp.stylesheets)
    )
    # spans no stylesheet can style are left out: WeasyPrint's time, the same text and layout
    sheets = slim.sheet_texts(inp.stylesheets, css_text)
    unit_html = [slim.unwrap_with(u.html(inp.lang, inp.title), sheets) for u in units]
    asset_digests: dict[str, str] = {}

    def assets_of(unit: book.Unit) -> list[str]:
        """``path:hash`` of the images a chapter shows: a replaced image renders it again."""
        names = sorted({a for p in unit.pages for a in links.assets.get(p.pid, ())})
        for name in names:
            if name not in asset_digests:
                try:
                    asset_digests[name] = _digest((inp.site_dir / name).read_bytes())
                except OSError:
                    asset_digests[name] = "missing"
        return [f"{n}:{asset_digests[n]}" for n in names]

    unit_keys = [_digest(fingerprint, h, *assets_of(u))[:32]
                 for u, h in zip(units, unit_html, strict=True)]
    toc = book.toc_entries(present)
    outline = book.toc_entries(present, headings=headings if opts.bookmarks == "headings" else None)
    book_key = _digest(
        fingerprint, inp.title, inp.version or "", str(opts.page_numbers), str(opts.bookmarks),
        *unit_keys,
    )[:32]
    plan = Plan(present, units, unit_html, unit_keys, toc, outline, book_key, css_text)
    return plan, missing


class BookBuilder:
    """Renders one planned book with a pool; the cache makes an unchanged chapter free."""

    def __init__(
        self,
        inp: BookInput,
        plan: Plan,
        pool: ChildPool,
        opts: Options,
        on_chapter: Callable[[], None] | None = None,
        ready: asyncio.Future[None] | None = None,
    ) -> None:
        self.inp = inp
        self.plan = plan
        self.pool = pool
        self.opts = opts
        self.on_chapter = on_chapter or (lambda: None)
        self.cache = inp.cache_dir / inp.lang
        self.rendered = 0
        self.ready = ready

    async def _run(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """A call in the pool once its warmed-up child is ready (see ``stage.run``)."""
        if self.ready is not None:
            await self.ready
        return await self.pool.run(fn, *args, **kwargs)

    async def build(self) -> BookResult:
        self.cache.mkdir(parents=True, exist_ok=True)
        self.inp.out_pdf.parent.mkdir(parents=True, exist_ok=True)
        cached_book = self.cache / f"book-{self.plan.book_key}.pdf"
        if self.opts.incremental and cached_book.is_file():
            meta = _read_json(cached_book.with_suffix(".json"))
            if meta is not None:
                _copy(cached_book, self.inp.out_pdf)
                return BookResult(self.inp.lang, self.inp.out_pdf, int(meta["pages"]),
                                  len(self.plan.units), 0, True)
        # biggest chapters first: the pool works in submission order, and a big chapter started
        # last (the release notes at the end of the nav) would leave one core idle at the end
        order = sorted(range(len(self.plan.units)), key=lambda i: -len(self.plan.unit_html[i]))
        done = await asyncio.gather(
            *(self._chapter(self.plan.unit_html[i], self.plan.unit_keys[i]) for i in order)
        )
        by_index = dict(zip(order, done, strict=True))
        metas = [by_index[i] for i in range(len(order))]
        front_pdf, front_meta = await self._front_matter(metas)
        parts = [(str(front_pdf), front_meta)] + [
            (str(self.cache / f"u-{k}.pdf"), m) for k, m in zip(self.plan.unit_keys, metas, strict=True)
        ]
        outline = [(e.depth, e.title, e.target) for e in self.plan.outline]
        tmp_book = self.cache / f"book-{self.plan.book_key}.{uuid.uuid4().hex}.part"
        merged = await self._run(
            child.merge_book, parts, outline, str(tmp_book),
            title=self.inp.title, stamp_numbers=self.opts.page_numbers,
        )
        os.replace(tmp_book, cached_book)
        _write_json(cached_book.with_suffix(".json"), merged)
        _copy(cached_book, self.inp.out_pdf)
        self._prune({cached_book.name, *(f"u-{k}.pdf" for k in self.plan.unit_keys)})
        return BookResult(
            self.inp.lang, self.inp.out_pdf, int(merged["pages"]), len(self.plan.units),
            self.rendered, False, int(merged["unresolved_links"]),
        )

    async def _chapter(self, html_text: str, key: str) -> dict[str, Any]:
        pdf = self.cache / f"u-{key}.pdf"
        meta_file = pdf.with_suffix(".json")
        meta = _read_json(meta_file) if self.opts.incremental and pdf.is_file() else None
        if meta is None:
            meta = await self._run(
                child.render_document, html_text, self.inp.stylesheets, self.plan.css_text,
                str(self.inp.site_dir), str(pdf),
            )
            _write_json(meta_file, meta)
            self.rendered += 1
        else:
            os.utime(pdf)
        self.on_chapter()
        return meta

    async def _front_matter(self, metas: list[dict[str, Any]]) -> tuple[Path, dict[str, Any]]:
        """Render cover + TOC; re-render when the TOC's own length shifts the page numbers."""
        front_pages = 1 + max(1, -(-len(self.plan.toc) // 38))
        for _ in range(4):
            numbers = self._numbers(metas, front_pages)
            text = book.front_matter_html(
                lang=self.inp.lang, title=self.inp.title, version=self.inp.version,
                commit=self.inp.commit, date=self.inp.date, entries=self.plan.toc, numbers=numbers,
            )
            pdf = self.cache / f"front-{_digest(self.plan.css_text, text)[:32]}.pdf"
            meta = _read_json(pdf.with_suffix(".json")) if pdf.is_file() else None
            if meta is None:
                meta = await self._run(
                    child.render_document, text, self.inp.stylesheets, self.plan.css_text,
                    str(self.inp.site_dir), str(pdf),
                )
                _write_json(pdf.with_suffix(".json"), meta)
            if int(meta["pages"]) == front_pages:
                return pdf, meta
            front_pages = int(meta["pages"])
        raise RuntimeError("the table of contents never settled on a page count")

    def _numbers(self, metas: list[dict[str, Any]], front_pages: int) -> dict[str, int]:
        """Printed page number (1-based, cover = 1) of every anchor the TOC points at."""
        wanted = {e.target for e in self.plan.toc}
        numbers: dict[str, int] = {}
        offset = front_pages
        for meta in metas:
            for name, (index, _x, _y) in meta["anchors"].items():
                if name in wanted and name not in numbers:
                    numbers[name] = offset + int(index) + 1
            offset += int(meta["pages"])
        return numbers

    def _prune(self, keep: set[str]) -> None:
        """Drop cache files of older versions of this book's chapters.

        Only files a day old go, so a concurrent build of another branch never loses a
        chapter it is about to merge.
        """
        import time

        limit = time.time() - 86400
        for path in self.cache.iterdir():
            if path.suffix == ".pdf" and path.name not in keep:
                try:
                    if path.stat().st_mtime < limit:
                        path.unlink()
                        path.with_suffix(".json").unlink(missing_ok=True)
                except OSError:
                    pass


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def _copy(src: Path, dst: Path) -> None:
    """A hard link when cache and output share a file system (a 17 MB book is not copied on
    every build); a copy otherwise. Cached books are never written in place, only replaced."""
    tmp = dst.with_name(dst.name + ".part")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
