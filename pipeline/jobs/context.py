"""The handler contract: what a job handler gets (:class:`JobContext`) and gives back (:class:`Outcome`).

A handler is ``async def handle(job, ctx) -> Outcome``. It reaches the daemon only through the
frozen context the worker builds for that one attempt, never through the worker itself, so a
handler cannot touch another job's state or the worker's bookkeeping, and a test can call it with
a context of its own.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pipeline import config as config_mod
from pipeline.store import Job, JobStatus

if TYPE_CHECKING:  # what only the daemon passes in: `pressroom build` runs without them loaded
    import aiohttp

    from pipeline.metrics import Metrics
    from pipeline.store import Store


@dataclass(frozen=True, kw_only=True)
class JobContext:
    """One attempt at one job: the collaborators a handler may use and the attempt's own checks."""

    store: Store
    config: config_mod.Config
    worker_id: str
    """The lease owner: every write the handler makes for this job names it (fencing)."""
    should_cancel: Callable[[], bool]
    """True once a cancel was requested for this job (through this daemon or another)."""
    check_lease: Callable[[], Awaitable[bool]]
    """Asks the store whether this worker still holds the job's lease (the deploy stage, before
    the ``current`` swap)."""
    executor: concurrent.futures.Executor | None = None
    """The daemon's process pool for CPU-heavy stage work; None runs it in the event loop's threads."""
    metrics: Metrics | None = None
    """Where stage durations are observed for ``/metrics``."""
    http: aiohttp.ClientSession | None = None
    """The daemon's outgoing HTTP session (notification channels); None opens one per use."""


class OutcomeKind(StrEnum):
    """How one attempt ended. The three terminal kinds are the job statuses the store writes."""

    COMPLETED = JobStatus.COMPLETED.value
    FAILED = JobStatus.FAILED.value
    CANCELLED = JobStatus.CANCELLED.value
    RETRY = "RETRY"
    """Not done yet: back to PENDING after ``retry_in`` seconds (or the worker's backoff), or
    FAILED once attempts run out."""
    LEASE_LOST = "LOST"
    """A fenced write was refused: another worker owns the job now, so nothing of this attempt
    is written."""


@dataclass
class Outcome:
    """What a handler tells the worker when it is done with one attempt."""

    kind: OutcomeKind
    result: dict[str, Any] = field(default_factory=dict)
    error_code: str | None = None
    error_message: str | None = None
    error_stage: str | None = None
    retry_in: float | None = None
    dead: bool = False
    """FAILED and listed as a dead letter (replayable), e.g. a delivery that can never succeed."""

    @classmethod
    def completed(cls, result: dict[str, Any] | None = None) -> Outcome:
        return cls(OutcomeKind.COMPLETED, result or {})

    @classmethod
    def failed(cls, code: str, message: str, *, stage: str | None = None, result: dict[str, Any] | None = None,
               dead: bool = False) -> Outcome:
        return cls(OutcomeKind.FAILED, result or {}, code, message, stage, dead=dead)

    @classmethod
    def cancelled(cls, message: str = "cancelled by user", result: dict[str, Any] | None = None) -> Outcome:
        return cls(OutcomeKind.CANCELLED, result or {}, "cancelled", message)

    @classmethod
    def retry(cls, code: str, message: str, *, delay: float | None = None, stage: str | None = None) -> Outcome:
        return cls(OutcomeKind.RETRY, {}, code, message, stage, retry_in=delay)

    @classmethod
    def lease_lost(cls) -> Outcome:
        return cls(OutcomeKind.LEASE_LOST)

    @property
    def job_status(self) -> JobStatus:
        """The status the store writes for a terminal outcome (not for RETRY or LEASE_LOST)."""
        return JobStatus(self.kind.value)


Handler = Callable[[Job, JobContext], Awaitable[Outcome]]
"""``async def handle(job, ctx) -> Outcome``: what one job kind does once a worker holds it."""
