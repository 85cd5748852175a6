"""Parsed pages kept between builds, by content hash, so a rebuild parses only what changed.

Parsing every page of the built site was most of an internal link check; after a one-page edit
all the other pages are byte for byte what they were. The checker still walks the whole site
(so the result is the one a full check gives: verdicts come from the same crawl, the links and
anchors of an unchanged page are simply not re-read from its HTML), but a page whose bytes hash
to an entry here gets its links, anchors, ``<base>`` and robots hint from the cache.

Every page is read and hashed once, ahead of the crawl (:func:`read_ahead`): the crawl takes
its bytes, size and hash from there, and a build with many changed pages parses them in the
process pool first (:func:`parse_many` is picklable and pure), so a cold check of a big site uses
every core.
The cache is one JSON file per language, written once at the end of a run through a temp file
and a rename; it keeps only the pages the run saw, so it never grows past the site.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from stages.linkcheck import extract, files, urls
from stages.linkcheck.cache import load_json
from stages.site.changes import atomic_write

_VERSION = 1


def digest(body: bytes) -> str:
    """The key of one page's bytes (as read for parsing, so truncated pages key as read)."""
    return hashlib.blake2b(body, digest_size=16).hexdigest()


@dataclass(frozen=True)
class Ahead:
    """A page read before the crawl and the key of its bytes as the crawl would parse them."""

    read: files.FileRead
    key: str


def read_ahead(paths: Iterable[Path], max_bytes: int) -> dict[Path, Ahead]:
    """Read and hash pages once (in one thread hop, not one per page); unreadable ones are left
    out and the crawl reports them."""
    out: dict[Path, Ahead] = {}
    for path in paths:
        read = files.read_file(path, max_bytes)
        if read is not None:
            out[path] = Ahead(read, digest(read.body[:max_bytes]))
    return out


def _encode(page: extract.PageLinks) -> list[Any]:
    return [[[f.url, f.line, f.column, f.name] for f in page.links], sorted(page.anchors),
            page.base, page.nofollow]


_DECODED: dict[str, extract.PageLinks] = {}
"""Pages decoded in this process, by content hash: a daemon checks the same pages build after
build, and building their link objects again cost more than checking them. Read only."""
_DECODED_MAX = 8192


def _decoded(key: str, data: list[Any]) -> extract.PageLinks:
    page = _DECODED.get(key)
    if page is None:
        if len(_DECODED) >= _DECODED_MAX:
            _DECODED.clear()
        page = _DECODED[key] = _decode(data)
    return page


def _decode(data: list[Any]) -> extract.PageLinks:
    links, anchors, base, nofollow = data
    return extract.PageLinks(links=[extract.FoundLink(u, ln, col, name) for u, ln, col, name in links],
                             anchors=set(anchors), base=base, nofollow=bool(nofollow))


def parse_many(bodies: list[bytes]) -> list[list[Any]]:
    """Parse pages in a pool child; returns the encoded form (plain lists pickle fast)."""
    return [_encode(extract.parse_html(b.decode("utf-8", "replace"))) for b in bodies]


def parse_and_join(items: list[tuple[bytes, str]]) -> list[tuple[list[Any], list[str]]]:
    """:func:`parse_many` for pages whose URL is known, plus each link resolved against that URL
    and the page's ``<base>`` exactly as the crawl would (:meth:`PageCache.remember` takes them).
    Joining a site's links (``urljoin``, 150k of them for four languages of FastAPI's docs) was
    most of a check's work in the daemon's main process, under the one GIL that every job running
    at once shares; here it runs in the pool beside the parse."""
    out: list[tuple[list[Any], list[str]]] = []
    for body, page_url in items:
        page = extract.parse_html(body.decode("utf-8", "replace"))
        ref_base = urls.join(page_url, page.base) if page.base else page_url
        out.append((_encode(page), [urls.join(ref_base, f.url) for f in page.links]))
    return out


def where(page_url: str, base: str) -> str:
    """The key of a page's joined links: its URL and ``<base>`` (the crawl's ``where``)."""
    return page_url + "\n" + base


class PageCache:
    """``content hash -> PageLinks`` for one site and language; ``folder=None`` keeps nothing."""

    def __init__(self, folder: Path | None, name: str = "pages") -> None:
        self._path = folder / f"{name}.json" if folder is not None else None
        self._old: dict[str, list[Any]] = {}
        self._new: dict[str, list[Any]] = {}
        self._joined: dict[str, dict[str, list[str]]] = {}
        """content hash -> page URL and base -> its links' absolute URLs."""
        self._old_joined: dict[str, dict[str, list[str]]] = {}
        self._plans: dict[PlanKey, Any] = {}
        """What the checker made of a page's links for the walk, by (content hash, where, depth)."""
        self._old_plans: dict[PlanKey, Any] = {}
        self.parsed = 0
        """Pages parsed in this run (the rest came from the cache)."""
        self.reused = 0
        if self._path is not None:
            self._load(self._path)

    def _load(self, path: Path) -> None:
        written = _WRITTEN.get(path)
        if written is not None and written.signature is not None and written.signature == _signature(path):
            self._old, self._old_joined, self._old_plans = written.pages, written.joined, written.plans
            return
        data = load_json(path, _VERSION, "page cache")
        if data is not None and isinstance(data.get("pages"), dict):
            self._old = data["pages"]
            joined = data.get("joined")
            self._old_joined = joined if isinstance(joined, dict) else {}

    def __contains__(self, key: str) -> bool:
        return key in self._new or key in self._old

    def add(self, key: str, encoded: list[Any]) -> None:
        """Record a page parsed elsewhere (the pool); it counts as parsed in this run."""
        if key not in self._new:
            self._new[key] = encoded
            self.parsed += 1

    def page(self, body: bytes, key: str | None = None) -> extract.PageLinks:
        """The links and anchors of an HTML page: from the cache, or parsed now."""
        return self.lookup(body, key)[1]

    def joined(self, key: str, where: str) -> list[str] | None:
        """The absolute URLs of a cached page's links as resolved at ``where`` (its URL and
        ``<base>``) by an earlier run, or ``None``: resolving every link of every page again
        (``urljoin``) was the biggest cost of a check in which nothing changed."""
        return self._joined.get(key, {}).get(where)

    def remember(self, key: str, where: str, absolutes: list[str]) -> None:
        self._joined.setdefault(key, {})[where] = absolutes

    def plan(self, key: PlanKey) -> Any | None:
        """The checker's plan for a page's links, as it made it in this run or in this process's
        last run over the same cache file; ``None`` when it has to make it."""
        found = self._plans.get(key)
        if found is None and (found := self._old_plans.get(key)) is not None:
            self._plans[key] = found
        return found

    def keep_plan(self, key: PlanKey, plan: Any) -> None:
        self._plans[key] = plan

    def lookup(self, body: bytes, key: str | None = None) -> tuple[str, extract.PageLinks]:
        """``(content hash, links and anchors)`` of an HTML page: from the cache, or parsed now.
        ``key`` is the hash when the caller has it already (:func:`read_ahead`)."""
        key = key or digest(body)
        encoded = self._new.get(key)
        if encoded is None:
            encoded = self._old.get(key)
            if encoded is not None:
                self.reused += 1
                self._new[key] = encoded
                old = self._old_joined.get(key)
                if isinstance(old, dict):
                    self._joined[key] = dict(old)  # remember() adds to it; the old one is shared
        if encoded is not None:
            try:
                return key, _decoded(key, encoded)
            except (TypeError, ValueError):  # a damaged entry: parse again below
                pass
        page = extract.parse_html(body.decode("utf-8", "replace"))
        self._new[key] = _encode(page)
        self._joined.pop(key, None)
        self.parsed += 1
        return key, page

    def save(self) -> None:
        if self._path is None:
            return
        joined = {k: v for k, v in self._joined.items() if k in self._new}
        data = {"version": _VERSION, "pages": self._new, "joined": joined}
        atomic_write(self._path, json.dumps(data, check_circular=False, separators=(",", ":")).encode())
        if len(_WRITTEN) >= _WRITTEN_MAX and self._path not in _WRITTEN:
            _WRITTEN.clear()
        _WRITTEN[self._path] = _Written(_signature(self._path), self._new, joined, self._plans)


PlanKey = tuple[str, str, int]
"""(content hash, the page's URL and ``<base>``, depth): the same bytes there give the same links."""


class _Written(NamedTuple):
    signature: tuple[int, int, int] | None
    pages: dict[str, list[Any]]
    joined: dict[str, dict[str, list[str]]]
    plans: dict[PlanKey, Any]


_WRITTEN: dict[Path, _Written] = {}
"""The cache files this process wrote, with what it wrote and the plans of that run: the next
build of the site finds its file unchanged, skips decoding it (a few MB of JSON) and re-plans only
the pages that changed; building every page's links again was most of a check in which one page
changed. Another writer changes the file's signature, and the file is read. Only the last run's
plans are kept per file, so memory follows the sites being built, not their history."""
_WRITTEN_MAX = 8


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns
