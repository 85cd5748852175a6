"""Plain data shared by the checker, the writers, the CLI and the stage.

The shape follows LinkChecker's own ``UrlData`` closely on purpose: every output writer maps one
:class:`Row` to one LinkChecker log entry, so keeping the same fields (``result``, ``valid``,
``warnings`` with tags, ``info``, ``-1`` for unknown numbers) makes the CSV byte-compatible
without translation tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PARSEABLE = frozenset({"text/html", "application/xhtml+xml", "text/css"})
"""Content types whose links are read (LinkChecker's parseable types); other bodies are not read."""


@dataclass(frozen=True, kw_only=True)
class CheckConfig:
    """What one run of the checker may do. Built by the CLI or the stage, never by the engine."""

    recursion_level: int = -1
    """Depth of pages to recurse into; ``-1`` is unlimited (LinkChecker's default)."""
    check_extern: bool = False
    """Check (never recurse into) URLs outside the start URL's site."""
    robots: bool = True
    concurrency: int = 64
    """Requests in flight at once, all hosts together."""
    per_host: int = 16
    """Requests in flight at once to one host."""
    politeness_delay: float = 0.0
    """Seconds between the starts of two requests to the same host."""
    timeout: float = 20.0
    """Seconds for one request (connect + headers + the part of the body we read)."""
    retries: int = 2
    """Extra attempts after a 429/503 answer (honouring ``Retry-After``)."""
    max_retry_after: float = 10.0
    """Longest ``Retry-After`` we wait; a longer one is reported instead of waited for."""
    max_redirects: int = 30
    max_urls: int = 20000
    """Distinct URLs a run may check; a link farm stops here and the run says so."""
    max_page_bytes: int = 5 * 1024 * 1024
    """Bytes of one page read for parsing; larger pages are checked but parsed only this far."""
    ignore: tuple[str, ...] = ()
    """Regexes: matching URLs are not checked (LinkChecker ``--ignore-url``)."""
    no_follow: tuple[str, ...] = ()
    """Regexes: matching URLs are checked but never recursed into (``--no-follow-url``)."""
    user_agent: str = "pressroom-linkcheck/0.1 (compatible; LinkChecker)"
    check_anchors: bool = True
    cache_ttl: float = 0.0
    """Seconds a good external result is reused from the between-runs cache (0 = off)."""


@dataclass(kw_only=True)
class Outcome:
    """The result of checking one URL (fragment removed), shared by every link to it."""

    url: str
    """The final URL, after redirects."""
    valid: bool = True
    result: str = ""
    warnings: list[tuple[str, str]] = field(default_factory=list)
    """``(tag, message)`` pairs, LinkChecker's warning tags (``http-redirected``...)."""
    info: list[str] = field(default_factory=list)
    content_type: str = ""
    size: int = -1
    dltime: float = -1.0
    checktime: float = 0.0
    anchors: frozenset[str] | None = None
    """Ids and ``<a name>`` of the page, when it was parsed; ``None`` when not read."""
    modified: str = ""
    cached: bool = False
    """Taken from the between-runs cache."""
    syntax: bool = False
    """Broken as written (malformed URL, bad mail address, unknown scheme): an authoring error
    wherever it points, so the stage reports it like a broken internal link."""

    @property
    def is_html(self) -> bool:
        return self.content_type in ("text/html", "application/xhtml+xml")


@dataclass(frozen=True, kw_only=True)
class Link:
    """One occurrence of a URL in a page (or a start URL, with no parent)."""

    urlname: str
    """The URL as written in the page."""
    parent: str = ""
    base: str = ""
    """The ``<base href>`` in force, as written."""
    line: int | None = None
    column: int | None = None
    name: str = ""
    level: int = 0


@dataclass(kw_only=True)
class Row:
    """One log entry: a link, its absolute URL and the outcome of checking it."""

    link: Link
    requested: str
    """The absolute URL as linked (fragment included): what LinkChecker logs each URL once by."""
    fragment: str = ""
    outcome: Outcome
    extra_warnings: list[tuple[str, str]] = field(default_factory=list)
    """Warnings that belong to this occurrence only (a missing anchor)."""
    extern: bool = False
    """Outside the site being checked."""

    @property
    def url(self) -> str:
        """The final URL (after redirects) with the fragment: LinkChecker's ``url`` column."""
        return self.outcome.url + ("#" + self.fragment if self.fragment else "")

    @property
    def valid(self) -> bool:
        return self.outcome.valid

    @property
    def warnings(self) -> list[tuple[str, str]]:
        return self.outcome.warnings + self.extra_warnings


@dataclass(kw_only=True)
class RunStats:
    """Totals for the summary line and exit code."""

    urls_known: int = 0
    urls_checked: int = 0
    links: int = 0
    errors: int = 0
    warnings: int = 0
    truncated: int = 0
    """URLs not checked because ``max_urls`` was reached."""
    started: float = 0.0
    finished: float = 0.0
    notes: list[str] = field(default_factory=list)
