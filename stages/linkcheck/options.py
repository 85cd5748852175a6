"""``[stages.linkcheck]`` options."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from stages.base import StageOptions


class Options(StageOptions):
    external: Literal["off", "warn", "fail"] = "off"
    """Check external links: not at all, report as warnings, or fail the build."""
    fail_on_broken: bool = True
    """Broken internal links and missing anchors fail the build."""
    check_anchors: bool = True
    """Check that ``#fragment`` targets exist (an ``id`` or ``<a name>`` in the target page)."""
    concurrency: Annotated[int, Field(ge=1, le=1024)] = 64
    """Requests in flight at once, all hosts together (external links only: internal ones are files)."""
    per_host: Annotated[int, Field(ge=1, le=256)] = 8
    """Requests in flight at once to one external host: be polite to other people's servers."""
    politeness_delay: Annotated[float, Field(ge=0)] = 0.0
    """Seconds between the starts of two requests to the same external host."""
    request_timeout: Annotated[float, Field(gt=0)] = 20.0
    """Seconds one external request may take before it counts as broken."""
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    """Extra attempts after ``429``/``503`` with a ``Retry-After`` of at most ``max_retry_after``."""
    max_retry_after: Annotated[float, Field(ge=0)] = 10.0
    """Longest ``Retry-After`` waited for; a longer one is reported as a rate-limit warning."""
    max_urls: Annotated[int, Field(ge=1)] = 20000
    """Distinct URLs one run checks at most; more are reported (``max-urls``), not checked."""
    max_page_mb: Annotated[float, Field(gt=0)] = 5.0
    """Megabytes of one page read to find its links and anchors."""
    cache_ttl: Annotated[float, Field(ge=0)] = 3600.0
    """Seconds a good external result is reused by later builds (0 = always re-check)."""
    ignore: list[str] = Field(default_factory=list)
    """Regexes of URLs not to check at all (LinkChecker's ``--ignore-url``)."""
    no_follow: list[str] = Field(default_factory=list)
    """Regexes of URLs checked but not parsed for more links (``--no-follow-url``)."""
    robots: bool = True
    """Honour external sites' robots.txt (a forbidden URL is reported as not checked)."""
    user_agent: str = "pressroom-linkcheck/0.1 (compatible; LinkChecker)"
    """User-Agent sent to external sites."""
    max_findings_in_status: Annotated[int, Field(ge=0)] = 20
    """How many findings the stage's summary message and ``outputs["first"]`` list."""
