"""The stage contract shared by every step and the orchestrator that runs them.

A stage reads everything it needs from a frozen :class:`StageContext` and hands back plain data in
a :class:`StageResult`; timing, timeouts, persistence and logging belong to the orchestrator.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from stages.site.options import SiteOptions

Severity = Literal["error", "warning", "info"]
StageStatus = Literal["pending", "running", "passed", "failed", "skipped", "degraded"]

T = TypeVar("T")


class StageOptions(BaseModel):
    """Base of every ``[stages.<name>]`` table: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    """Run this stage at all. A disabled stage is recorded as ``skipped``."""
    timeout: float = 600.0
    """Seconds before the stage is stopped and counted as timed out."""
    required: bool = True
    """When false, a failure marks the stage ``degraded`` and the build goes on."""


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One problem in one place, as lint and link checking report them."""

    file: str
    line: int | None = None
    column: int | None = None
    rule: str = ""
    severity: Severity = "warning"
    message: str = ""
    url: str | None = None
    language: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(kw_only=True)
class StageResult:
    """What a stage hands back: plain data the orchestrator stores and later stages read.

    ``outputs`` is how a stage passes values to the stages after it (for example the list of
    rendered pages); ``artifacts`` maps an artifact name (``site.en``, ``pdf.en``,
    ``reports.linkcheck``) to a path relative to the job workspace.
    """

    status: StageStatus = "passed"
    counts: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    error_code: str | None = None
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("passed", "skipped", "degraded")


class StageError(Exception):
    """A stage failed as a whole. ``code`` is a stable error code with a runbook in docs/."""

    code = "stage_failed"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code


class StageNotFound(StageError):
    """The pipeline names a stage that is not in the registry, or whose module is not installed."""

    code = "stage_not_found"


class Cancelled(Exception):
    """Raised inside a stage when ``ctx.should_cancel()`` turned true."""


def _noop_progress(percent: float, message: str | None = None) -> None:
    return None


def _never() -> bool:
    return False


async def _lease_ok() -> bool:
    return True


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


OptionsT = TypeVar("OptionsT", bound=StageOptions)


@dataclass(frozen=True, kw_only=True)
class StageContext(Generic[OptionsT]):
    """Everything a stage may read. Built by the orchestrator (or a test) once per stage run.

    Generic over the stage's options class, so a stage declared as
    ``async def run(ctx: StageContext[Options])`` reads its own ``[stages.<key>]`` table as
    ``ctx.options`` with no check: the registry names the class and the orchestrator builds it.

    Paths: ``workspace`` is ``<data_dir>/jobs/<job_id>``; ``source`` the job's snapshot
    (never the live folder); ``out`` where rendered output goes (``out/<lang>/``...);
    ``cache_dir`` the content-hash cache shared between builds of a site; ``sites_dir`` the
    deploy targets' root (``<data_dir>/sites``).
    """

    job_id: str
    workspace: Path
    source: Path
    out: Path
    cache_dir: Path
    sites_dir: Path
    site: SiteOptions
    """The ``[site]`` section."""
    options: OptionsT
    """This stage's ``[stages.<key>]`` section (the options class its registry entry names)."""
    language: str | None = None
    previous: Mapping[str, StageResult] = field(default_factory=dict)
    trigger: Mapping[str, Any] = field(default_factory=dict)
    progress: Callable[[float, str | None], None] = _noop_progress
    """Report progress 0–100 with an optional short message; cheap, call it often."""
    should_cancel: Callable[[], bool] = _never
    """True once a user cancelled the job; check it between units of work."""
    check_lease: Callable[[], Awaitable[bool]] = _lease_ok
    """False when this worker no longer owns the job: never publish anything after that."""
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("stages"))
    executor: concurrent.futures.Executor | None = None
    """Process pool for CPU-heavy work; ``None`` means run in the default thread pool."""
    now: Callable[[], datetime.datetime] = _utc_now
    """The clock (aware, UTC): deploy stamps its release with it, render_pdf dates the PDF cover."""
    target: str | None = None
    """Deploy to this target instead of ``[stages.deploy] target``: a promote job names production."""
    target_roots: Mapping[str, Path] = field(default_factory=dict)
    """Where each configured deploy target keeps its releases (the folder holding ``current``),
    so a stage that compares with what is live (openapi) finds a target with its own ``path``."""
    release_from: Path | None = None
    """Publish this existing release folder instead of render_html's output: a promote job
    publishes exactly the release that was reviewed on staging."""

    def raise_if_cancelled(self) -> None:
        if self.should_cancel():
            raise Cancelled(f"job {self.job_id} was cancelled")

    async def in_pool(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run CPU-bound ``fn`` off the event loop, in the process pool when there is one."""
        loop = asyncio.get_running_loop()
        call = functools.partial(fn, *args, **kwargs)
        return await loop.run_in_executor(self.executor, call)


StageFn = Callable[[StageContext[Any]], Awaitable[StageResult]]
