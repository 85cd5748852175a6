"""The crawl: which URLs to check, each exactly once, and which pages to recurse into.

Every distinct URL (fragment removed) becomes one task; every link to it waits on that task, so
300 pages linking the same stylesheet cost one request. Tasks run in one ``TaskGroup`` and add
the links of the pages they parse, so the run ends when the last page has been read. The rules
for "internal", recursion depth, ``--ignore-url`` and ``--no-follow-url`` are LinkChecker's.
"""

from __future__ import annotations

import asyncio
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import aiohttp

from stages.linkcheck import extract, fetch, files, urls
from stages.linkcheck.cache import ResultCache
from stages.linkcheck.model import PARSEABLE, CheckConfig, Link, Outcome, Row, RunStats
from stages.linkcheck.pages import Ahead, PageCache
from stages.linkcheck.pages import where as pages_where

_PARSE_INLINE_BYTES = 256 * 1024
"""Larger pages are parsed in a thread so the event loop keeps serving other requests."""

ProgressFn = Callable[[int, int], None]

_Planned = tuple[Link, str, str, str, str]
"""One link of a page, ready to schedule: the link, its absolute URL, that URL without the
fragment, the fragment, and the memo key its check key is remembered under. A page's list of
them is kept by the page cache (:meth:`PageCache.plan`) and never changed once made."""


class CheckCancelled(Exception):
    """``should_cancel()`` turned true; the stage turns this into ``stages.base.Cancelled``
    (kept separate so the command does not import the stage contract and pydantic)."""


class _Occurrence:
    __slots__ = ("link", "key", "fragment", "skipped")

    def __init__(self, link: Link, key: str, fragment: str) -> None:
        self.link = link
        self.key = key
        self.fragment = fragment
        self.skipped = False


@dataclass(repr=False)
class Report:
    """Everything the writers, the CLI and the stage need from one run.

    Its repr is a one-line summary on purpose: ``asyncio.run`` in Python 3.11 formats the main
    task (and so its result) when it checks the SIGINT handler, and a full dataclass repr of
    thousands of rows cost almost half a second per run.
    """

    def __repr__(self) -> str:
        return f"<Report {len(self.rows)} rows, {self.stats.errors} errors>"

    config: CheckConfig
    rows: list[Row] = field(default_factory=list)
    """Every link occurrence, in the order the pages were read."""
    stats: RunStats = field(default_factory=RunStats)

    def entries(self) -> list[Row]:
        """One row per distinct URL (as linked, fragment included), the first occurrence: what
        LinkChecker logs, since it reports a URL once however many pages link to it."""
        seen: set[str] = set()
        first = []
        for row in self.rows:
            if row.requested not in seen:
                seen.add(row.requested)
                first.append(row)
        return first


class Checker:
    """One run over one site. Build it, ``await run(starts)``, read the :class:`Report`."""

    def __init__(self, config: CheckConfig, *, site: files.SiteRoot | None = None,
                 cache: ResultCache | None = None, progress: ProgressFn | None = None,
                 should_cancel: Callable[[], bool] | None = None,
                 pages: PageCache | None = None, ahead: Mapping[Path, Ahead] | None = None) -> None:
        self._config = config
        self._site = site
        self._pages = pages
        """Parsed pages of the site by content hash (site mode): unchanged pages are not re-parsed."""
        self._ahead = ahead or {}
        """Pages of the site already read and hashed (site mode): not read or hashed again."""
        self._cache = cache or ResultCache(None, 0)
        self._progress = progress
        self._should_cancel = should_cancel or (lambda: False)
        self._ignore = [re.compile(p) for p in config.ignore]
        self._no_follow = [re.compile(p) for p in config.no_follow]
        self._intern: list[re.Pattern[str]] = []
        self._tasks: dict[str, asyncio.Future[Outcome]] = {}
        """One per distinct URL: a task, or a finished future when no I/O was needed."""
        self._extern: dict[str, bool] = {}
        self._keys: dict[str, str] = {}
        """Absolute URL as linked -> the key it is checked under."""
        self._occurrences: list[_Occurrence] = []
        self._stats = RunStats()
        self._http: fetch.HttpChecker | None = None
        self._group: asyncio.TaskGroup | None = None

    async def run(self, starts: list[str]) -> Report:
        """Check from the start URLs (absolute URLs; pages of the site in site mode)."""
        self._stats.started = time.time()
        if self._site is None:
            self._intern = [urls.intern_pattern(s) for s in starts if urls.scheme_of(s) in ("http", "https", "file")]
        connector = aiohttp.TCPConnector(limit=self._config.concurrency, limit_per_host=self._config.per_host,
                                         ttl_dns_cache=300)
        async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                         trust_env=False) as session:
            self._http = fetch.HttpChecker(session, self._config)
            try:
                async with asyncio.TaskGroup() as group:
                    self._group = group
                    for start in starts:
                        self._add(Link(urlname=start, level=0), page_url="", base="")
            except BaseExceptionGroup as group_error:
                cancelled = group_error.subgroup(CheckCancelled)
                if cancelled is not None:
                    raise cancelled.exceptions[0] from None
                raise
            self._group = None
            await self._fetch_missing_anchors()
        self._cache.save()
        report = Report(config=self._config, stats=self._stats)
        report.rows = self._rows()
        for row in report.entries():
            self._stats.errors += not row.valid
            self._stats.warnings += len(row.warnings)
        self._stats.finished = time.time()
        return report

    # -- scheduling ---------------------------------------------------------------------------

    def _add(self, link: Link, *, page_url: str, base: str) -> None:
        self._schedule(self._plan(link, page_url=page_url, base=base))

    @staticmethod
    def _plan(link: Link, *, page_url: str, base: str, absolute: str | None = None) -> _Planned:
        """What scheduling a link needs that depends only on the link and its page (``absolute``
        when the caller knows it from an earlier run of the same page at the same URL)."""
        raw = link.urlname
        ref_base = urls.join(page_url, base) if base else page_url
        if absolute is None:
            absolute = urls.join(ref_base, raw) if page_url else raw.strip()
        defragmented, fragment = urls.split_fragment(absolute)
        # the key drops the fragment, so links to several anchors of a page share one entry
        # (unless blanks around the URL make stripping and splitting disagree)
        memo = defragmented if absolute == absolute.strip() else absolute
        if link.base and page_url:
            link = replace(link, base=ref_base)
        return link, absolute, defragmented, fragment, memo

    def _schedule(self, planned: _Planned) -> None:
        """Record one occurrence and start checking its URL unless that is under way."""
        link, absolute, defragmented, fragment, memo = planned
        key = self._keys.get(memo)
        if key is None:  # most links repeat across pages: normalise each absolute URL once
            try:
                key = urls.normalize(absolute)
                if self._site is not None and self._site.contains(key):
                    key = self._site.canonical(key)
            except (ValueError, OSError):  # checked as written; _outcome() says what is wrong
                key = defragmented
            self._keys[memo] = key
        occurrence = _Occurrence(link, key, fragment)
        self._occurrences.append(occurrence)
        self._stats.links += 1
        if key in self._tasks:
            return
        if len(self._tasks) >= self._config.max_urls:
            occurrence.skipped = True
            self._stats.truncated += 1
            return
        assert self._group is not None
        if self._site is not None and (done := self._known_without_io(key)) is not None:
            self._tasks[key] = done
        else:
            self._tasks[key] = self._group.create_task(
                self._check(key, level=link.level, referer=link.parent, anchors=bool(fragment)))
        self._stats.urls_known = len(self._tasks)

    def _is_intern(self, url: str) -> bool:
        if self._site is not None:
            return self._site.contains(url)
        return any(p.match(url) for p in self._intern)

    def _may_recurse(self, outcome: Outcome, level: int, extern: bool) -> bool:
        limit = self._config.recursion_level
        if extern or not outcome.valid or (0 <= limit <= level):
            return False
        if not self._is_intern(outcome.url):
            return False
        return not any(p.search(outcome.url) for p in self._no_follow)

    # -- one URL ------------------------------------------------------------------------------

    async def _check(self, key: str, *, level: int, referer: str, anchors: bool) -> Outcome:
        if self._should_cancel():
            raise CheckCancelled("link check cancelled")
        extern = not self._is_intern(key)
        self._extern[key] = extern
        try:
            outcome, body, page_key = await self._outcome(key, level=level, referer=referer, extern=extern,
                                                          anchors=anchors)
            if body is not None:
                await self._parse(outcome, body, level=level, extern=extern, page_key=page_key)
        except (CheckCancelled, asyncio.CancelledError):
            raise
        except Exception as exc:  # one URL must never end the run: report it on that URL
            outcome = Outcome(url=key, valid=False, result=f"internal error: {type(exc).__name__}: {exc}")
        self._stats.urls_checked += 1
        if self._progress is not None:
            self._progress(self._stats.urls_checked, len(self._tasks))
        return outcome

    def _known_without_io(self, key: str) -> asyncio.Future[Outcome] | None:
        """A finished future for a URL whose verdict needs no I/O (an external URL that is not
        checked, a mail address, a malformed URL): in a built site those are most URLs, and a
        task each cost more than the rest of the check. Counted as :meth:`_check` counts."""
        extern = not self._is_intern(key)
        try:
            outcome = self._static_outcome(key, extern)
        except Exception:  # a task will hit it again and report it on that URL
            return None
        if outcome is None:
            return None
        self._extern[key] = extern
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        done.set_result(outcome)
        self._stats.urls_checked += 1
        if self._progress is not None:
            self._progress(self._stats.urls_checked, len(self._tasks) + 1)
        return done

    def _static_outcome(self, key: str, extern: bool) -> Outcome | None:
        """The verdict of a URL that is decided by how it is written, or ``None``."""
        config = self._config
        scheme = urls.scheme_of(key)
        if not key:
            return Outcome(url=key, valid=False, result="URL is empty", syntax=True)
        if scheme == "mailto":
            error = urls.mailto_error(key)
            if error:
                return Outcome(url=key, valid=False, result=error, syntax=True)
            return Outcome(url=key, result="Valid mail address syntax")
        if scheme in urls.IGNORED_SCHEMES:
            return Outcome(url=key, result="ignored", info=[f"{scheme.capitalize()} URL ignored."])
        if scheme not in urls.CHECKED_SCHEMES:
            return Outcome(url=key, valid=False, result="URL is unrecognized or has invalid syntax",
                           syntax=True)
        if scheme in ("http", "https") and (error := urls.syntax_error(key)):
            return Outcome(url=key, valid=False, result=error, syntax=True)
        if any(p.search(key) for p in self._ignore) or (extern and not config.check_extern):
            return Outcome(url=key, result="filtered",
                           info=["The URL is outside of the domain filter, checked only syntax."])
        return None

    async def _outcome(self, key: str, *, level: int, referer: str, extern: bool,
                       anchors: bool) -> tuple[Outcome, bytes | None, str | None]:
        """The URL's outcome, the body to parse (if any) and, for a page read ahead, its hash."""
        config = self._config
        if (static := self._static_outcome(key, extern)) is not None:
            return static, None, None
        scheme = urls.scheme_of(key)
        want_body = self._may_recurse(Outcome(url=key), level, extern) or (anchors and config.check_anchors)
        max_bytes = config.max_page_bytes
        if self._site is not None and self._site.contains(key):
            if (ahead := self._read_ahead(key)) is not None:
                outcome, body = files.read_outcome(ahead.read, key, read_body=want_body, max_bytes=max_bytes)
                return outcome, body, ahead.key
            return *await asyncio.to_thread(files.check_site_file, self._site, key,
                                            read_body=want_body, max_bytes=max_bytes), None
        if scheme == "file":
            return *await asyncio.to_thread(files.check_file_url, key, read_body=want_body,
                                            max_bytes=max_bytes), None
        if extern and not anchors and (cached := self._cache.get(key)) is not None:
            return cached, None, None
        assert self._http is not None
        fetched = await self._http.check(key, read_body=want_body, referer=referer, depth=level)
        if extern:
            self._cache.put(key, fetched.outcome)
        return fetched.outcome, fetched.body, None

    def _read_ahead(self, key: str) -> Ahead | None:
        if not self._ahead or self._site is None:
            return None
        path, _ = self._site.resolve(key)
        return self._ahead.get(path) if path is not None else None

    async def _parse(self, outcome: Outcome, body: bytes, *, level: int, extern: bool,
                     page_key: str | None = None) -> None:
        kind = outcome.content_type
        if kind not in PARSEABLE:
            return
        parser = extract.parse_css if kind == "text/css" else extract.parse_html
        key = ""
        cache = self._pages if kind != "text/css" and self._is_intern(outcome.url) else None
        if cache is not None:
            if len(body) > _PARSE_INLINE_BYTES:
                key, page = await asyncio.to_thread(cache.lookup, body, page_key)
            else:
                key, page = cache.lookup(body, page_key)
        elif len(body) > _PARSE_INLINE_BYTES:
            page = await asyncio.to_thread(parser, body.decode("utf-8", "replace"))
        else:
            page = parser(body.decode("utf-8", "replace"))
        if kind != "text/css":
            outcome.anchors = frozenset(page.anchors)
        if page.nofollow or not self._may_recurse(outcome, level, extern):
            return
        where = pages_where(outcome.url, page.base)
        plan: list[_Planned] | None = cache.plan((key, where, level)) if cache is not None else None
        if plan is None:
            plan = self._plan_page(page, outcome.url, level, cache, key, where)
        elif cache is not None and cache.joined(key, where) is None:
            cache.remember(key, where, [planned[1] for planned in plan])
        for planned in plan:
            self._schedule(planned)

    def _plan_page(self, page: extract.PageLinks, page_url: str, level: int, cache: PageCache | None,
                   key: str, where: str) -> list[_Planned]:
        joined = cache.joined(key, where) if cache is not None else None
        if joined is not None and len(joined) != len(page.links):
            joined = None
        plan = [self._plan(Link(urlname=found.url, parent=page_url, base=page.base, line=found.line,
                                column=found.column, name=found.name, level=level + 1),
                           page_url=page_url, base=page.base,
                           absolute=joined[index] if joined is not None else None)
                for index, found in enumerate(page.links)]
        if cache is not None:
            if joined is None:
                cache.remember(key, where, [planned[1] for planned in plan])
            cache.keep_plan((key, where, level), plan)
        return plan

    async def _fetch_missing_anchors(self) -> None:
        """Pages first seen without a fragment were not read; read those a fragment needs."""
        if not self._config.check_anchors:
            return
        needed: dict[str, Outcome] = {}
        for occ in self._occurrences:
            if occ.fragment and not occ.skipped:
                outcome = self._tasks[occ.key].result()
                if outcome.valid and outcome.anchors is None and outcome.is_html and not outcome.cached:
                    needed[occ.key] = outcome

        async def read(key: str, outcome: Outcome) -> None:
            page_key = None
            if (ahead := self._read_ahead(key)) is not None:
                body: bytes | None = ahead.read.body[: self._config.max_page_bytes]
                page_key = ahead.key
            elif self._site is not None and self._site.contains(key):
                _, body = await asyncio.to_thread(files.check_site_file, self._site, key,
                                                  read_body=True, max_bytes=self._config.max_page_bytes)
            else:
                assert self._http is not None
                body = (await self._http.check(key, read_body=True)).body
            if body is None:
                return
            if self._pages is not None and self._site is not None and self._site.contains(key):
                outcome.anchors = frozenset(self._pages.page(body, page_key).anchors)
            else:
                outcome.anchors = frozenset(extract.parse_html(body.decode("utf-8", "replace")).anchors)

        await asyncio.gather(*(read(k, o) for k, o in needed.items()))

    # -- results ------------------------------------------------------------------------------

    def _rows(self) -> list[Row]:
        rows = []
        outcomes = {key: task.result() for key, task in self._tasks.items()}
        extern = self._extern
        anchors = self._config.check_anchors
        for occ in self._occurrences:
            if occ.skipped:
                continue
            outcome = outcomes[occ.key]
            fragment = occ.fragment
            row = Row(link=occ.link, requested=occ.key + "#" + fragment if fragment else occ.key,
                      fragment=fragment, outcome=outcome, extern=extern.get(occ.key, False))
            if fragment and anchors and outcome.valid and outcome.anchors is not None:
                warning = anchor_warning(fragment, outcome.anchors)
                if warning:
                    row.extra_warnings.append(("url-anchor-not-found", warning))
            rows.append(row)
        if self._stats.truncated:
            self._stats.notes.append(
                f"Stopped at max_urls={self._config.max_urls}: {self._stats.truncated} more links "
                f"were not checked.")
        return rows


def anchor_warning(fragment: str, anchors: frozenset[str]) -> str | None:
    """LinkChecker's AnchorCheck message, or ``None`` when the anchor exists."""
    if fragment in anchors:
        return None  # most fragments: no need to decode them
    decoded = urllib.parse.unquote(fragment) if "%" in fragment else fragment
    if decoded in anchors:
        return None
    names = ", ".join(sorted(f"`{a}'" for a in anchors)) if anchors else "-"
    return f"Anchor `{fragment}' (decoded: `{decoded}') not found. Available anchors: {names}."
