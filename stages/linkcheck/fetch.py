"""HTTP checking with one shared aiohttp session.

Politeness is per host (a concurrency limit and a minimum gap between request starts), never per
IP or global, so one slow or rate-limiting host does not slow the others. ``429``/``503`` answers
are retried for that URL alone after ``Retry-After``, a bounded number of times. Bodies are read
only when the page will be parsed, and only up to a size limit, so a 50 MB download costs a few
kilobytes when nothing needs its content.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import heapq
import itertools
import time
import urllib.parse
import urllib.robotparser
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import yarl

from stages.linkcheck import urls
from stages.linkcheck.model import PARSEABLE, CheckConfig, Outcome

_REDIRECTS = (301, 302, 303, 307, 308)
_SMALL_BODY = 64 * 1024
"""Bodies up to this size are drained even when unused: cheaper than a new connection."""
"""Content types whose body is read to find links and anchors."""
_REASONS = {429: "Too Many Requests", 503: "Service Unavailable"}


@dataclass
class Fetched:
    outcome: Outcome
    body: bytes | None = None


class _HostGate:
    """Per-host concurrency and spacing of request starts, deepest links first.

    Waiters are served by crawl depth (deeper first), not arrival: the pages of one level are
    discovered all at once and would otherwise queue ahead of every link found inside them, so
    a slow URL found late would start late and stretch the whole run.
    """

    def __init__(self, limit: int, delay: float) -> None:
        self._free = max(1, limit)
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._delay = delay
        self._next = 0.0

    async def acquire(self, depth: int) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
        else:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiters, (-depth, next(self._order), future))
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self.release()  # granted just as we were cancelled: pass it on
                raise
        if self._delay > 0:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + self._delay
            if wait > 0:
                await asyncio.sleep(wait)

    def release(self) -> None:
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)
                return
        self._free += 1

    @contextlib.asynccontextmanager
    async def slot(self, depth: int) -> AsyncIterator[None]:
        await self.acquire(depth)
        try:
            yield
        finally:
            self.release()


class HttpChecker:
    """Checks http(s) URLs. One per run; owns neither the session nor the event loop."""

    def __init__(self, session: aiohttp.ClientSession, config: CheckConfig) -> None:
        self._session = session
        self._config = config
        self._gates: dict[str, _HostGate] = {}
        self._robots: dict[str, asyncio.Future[urllib.robotparser.RobotFileParser | None]] = {}
        self._global = asyncio.Semaphore(max(1, config.concurrency))

    def _gate(self, url: str) -> _HostGate:
        host = urllib.parse.urlsplit(url).netloc.lower()
        gate = self._gates.get(host)
        if gate is None:
            gate = self._gates[host] = _HostGate(self._config.per_host, self._config.politeness_delay)
        return gate

    async def check(self, url: str, *, read_body: bool, referer: str = "", depth: int = 0) -> Fetched:
        """Check one URL; never raises for anything the network or the server does."""
        started = time.monotonic()
        error = urls.syntax_error(url)
        if error:
            return Fetched(Outcome(url=url, valid=False, result=error))
        try:
            if self._config.robots and not await self._robots_allow(url):
                outcome = Outcome(url=url, result="syntax OK",
                                  info=["Access denied by robots.txt, checked only syntax."])
                return Fetched(outcome)
            fetched = await self._follow(url, read_body=read_body, referer=referer, depth=depth)
        except TimeoutError:
            fetched = Fetched(Outcome(url=url, valid=False,
                                      result=f"ReadTimeout: no answer within {self._config.timeout:g} seconds"))
        except aiohttp.ClientConnectorError as exc:
            fetched = Fetched(Outcome(url=url, valid=False, result=f"ConnectionError: {exc}"))
        except (aiohttp.ClientError, ValueError, UnicodeError) as exc:
            fetched = Fetched(Outcome(url=url, valid=False, result=f"{type(exc).__name__}: {exc}"))
        fetched.outcome.checktime = time.monotonic() - started
        return fetched

    async def _follow(self, url: str, *, read_body: bool, referer: str, depth: int) -> Fetched:
        outcome = Outcome(url=url)
        seen = {url}
        current = url
        for _ in range(self._config.max_redirects + 1):
            status, reason, location, fetched = await self._request(current, read_body, referer, outcome, depth)
            if status not in _REDIRECTS or location is None:
                return fetched
            target = urls.join(current, location)
            scheme = urls.scheme_of(target)
            if scheme not in ("http", "https"):
                # javascript:, data:, ftp:... can't be followed; the result names the target
                outcome.valid = False
                outcome.result = f"Redirected ({status}) to unsupported URL scheme: `{target[:200]}'"
                return Fetched(outcome)
            outcome.warnings.append(("http-redirected", f"Redirected to `{target}' status: {status} {reason}."))
            if target in seen:
                outcome.url = url  # like LinkChecker: a failed chain reports the URL as linked
                outcome.valid = False
                outcome.result = f"Redirect loop: `{target}' was already visited"
                return Fetched(outcome)
            seen.add(target)
            current = target
            outcome.url = target
        outcome.url = url
        outcome.valid = False
        outcome.result = f"Exceeded {self._config.max_redirects} redirects."
        return Fetched(outcome)

    async def _request(self, url: str, read_body: bool, referer: str, outcome: Outcome,
                       depth: int) -> tuple[int, str, str | None, Fetched]:
        """One URL without following redirects, retrying 429/503 as the server asks."""
        headers = {"User-Agent": self._config.user_agent}
        if referer.startswith(("http:", "https:")):
            headers["Referer"] = referer
        timeout = aiohttp.ClientTimeout(total=self._config.timeout)
        attempt = 0
        while True:
            # host slot first: a request waiting for its host must not hold a global slot
            async with self._gate(url).slot(depth), self._global, self._session.get(
                    yarl.URL(url, encoded=True), headers=headers, allow_redirects=False,
                    timeout=timeout) as resp:
                status = resp.status
                reason = resp.reason or _REASONS.get(status, "")
                retry_after = _retry_after(resp.headers.get("Retry-After"))
                if status in (429, 503) and attempt < self._config.retries and \
                        retry_after is not None and retry_after <= self._config.max_retry_after:
                    await _drain_small(resp)
                    retry = True
                else:
                    retry = False
                    location = resp.headers.get("Location") if status in _REDIRECTS else None
                    body = await self._finish(resp, url, read_body, outcome)
            if not retry:
                return status, reason, location, Fetched(outcome, body)
            attempt += 1
            wait = retry_after or 0.0
            outcome.info.append(f"Retried after {status} (Retry-After: {wait:g} s).")
            await asyncio.sleep(wait)

    async def _finish(self, resp: aiohttp.ClientResponse, url: str, read_body: bool,
                      outcome: Outcome) -> bytes | None:
        status = resp.status
        outcome.content_type = resp.content_type or ""
        length = resp.content_length
        outcome.size = length if length is not None else -1
        outcome.modified = resp.headers.get("Last-Modified", "")
        if status in _REDIRECTS:
            await _drain_small(resp)
            return None
        reason = resp.reason or _REASONS.get(status, "")
        if status >= 400 and status != 429:
            outcome.valid = False
            outcome.result = f"{status} {reason}"
            await _drain_small(resp)
            return None
        if status == 429:
            outcome.warnings.append(("http-rate-limited",
                                     f"Rate limited (Retry-After: {resp.headers.get('Retry-After')})"))
        if status == 204:
            outcome.warnings.append(("http-empty-content", reason))
        outcome.result = f"{status} {reason}"
        if not read_body or outcome.content_type not in PARSEABLE:
            await _drain_small(resp)
            return None
        started = time.monotonic()
        limit = self._config.max_page_bytes
        chunks: list[bytes] = []
        total = 0
        async for chunk in resp.content.iter_chunked(65536):
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                outcome.warnings.append(("url-content-size-too-large",
                                         f"Content size is larger than {limit} bytes; parsed only the first {limit}."))
                break
        outcome.dltime = time.monotonic() - started
        if outcome.size < 0:
            outcome.size = total
        return b"".join(chunks)[:limit]

    async def _robots_allow(self, url: str) -> bool:
        parts = urllib.parse.urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        future = self._robots.get(origin)
        if future is None:
            future = self._robots[origin] = asyncio.get_running_loop().create_future()
            try:
                future.set_result(await self._load_robots(origin))
            except BaseException:
                future.set_result(None)
                raise
        parser = await future
        if parser is None:
            return True
        return parser.can_fetch(self._config.user_agent, url)

    async def _load_robots(self, origin: str) -> urllib.robotparser.RobotFileParser | None:
        """robots.txt of one origin; anything but a readable 2xx allows everything."""
        try:
            async with self._gate(origin + "/").slot(1 << 30), self._global, self._session.get(
                origin + "/robots.txt", headers={"User-Agent": self._config.user_agent},
                timeout=aiohttp.ClientTimeout(total=self._config.timeout),
            ) as resp:
                if resp.status >= 400:
                    return None
                text = (await resp.content.read(512 * 1024)).decode("utf-8", "replace")
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None
        parser = urllib.robotparser.RobotFileParser()
        parser.parse(text.splitlines())
        return parser


async def _drain_small(resp: aiohttp.ClientResponse) -> None:
    """Read a short body so the connection goes back to the pool; drop a long one."""
    length = resp.content_length
    if length is not None and length <= _SMALL_BODY:
        try:
            await resp.read()
        except (aiohttp.ClientError, TimeoutError):
            resp.close()
    else:
        resp.close()


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
