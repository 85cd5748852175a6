"""Plain data the store hands out and takes in: no SQLAlchemy types leak past the store."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any


class JobStatus(StrEnum):
    """A job's status: the API's vocabulary and the ``jobs.status`` column, the same strings.

    The values are ``str``, so JSON, SQL parameters and comparisons with a plain string read
    from a row all see ``"PENDING"`` and so on; the enum only names the set in one place.
    """

    PENDING = "PENDING"
    """Stored, waiting for a worker."""
    PROCESSING = "PROCESSING"
    """A worker holds the lease."""
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    """A required stage failed for good, or attempts ran out (``dead`` lists it for replay)."""
    CANCELLED = "CANCELLED"
    """Cancelled by a user, or superseded by a newer build of the same source."""


TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})
STATUSES = tuple(JobStatus)


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    status: str
    stage: str | None = None
    progress: float = 0.0
    priority: int = 50
    attempt: int = 0
    max_attempts: int = 3
    parent_id: str | None = None
    idempotency_key: str | None = None
    request_hash: str | None = None
    dedupe_key: str | None = None
    source_hash: str | None = None
    source_path: str | None = None
    supersede_key: str | None = None
    target: str | None = None
    trigger: dict[str, Any] | None = None
    payload: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    lease_owner: str | None = None
    lease_expires_at: float | None = None
    run_after: float = 0.0
    cancel_requested: bool = False
    dead: bool = False
    error_code: str | None = None
    error_message: str | None = None
    error_stage: str | None = None
    read_token: str | None = None
    children_total: int = 0
    children_done: int = 0
    children_failed: int = 0
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    updated_at: float = 0.0
    pruned: bool = False

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    @classmethod
    def from_row(cls, row: Any) -> Job:
        data = dict(row._mapping) if hasattr(row, "_mapping") else dict(row)
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True, kw_only=True)
class JobSpec:
    """What :meth:`Store.submit` needs to create a job."""

    kind: str
    priority: int = 50
    max_attempts: int = 3
    parent_id: str | None = None
    idempotency_key: str | None = None
    request_hash: str | None = None
    source_hash: str | None = None
    source_path: str | None = None
    supersede_key: str | None = None
    target: str | None = None
    trigger: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)
    dedupe: bool = True
    """Map the same (kind, target, source hash) onto the live job that has it."""
    job_id: str | None = None
    run_after: float = 0.0


@dataclass(frozen=True)
class Transition:
    """A job reached a terminal state; handed to the outbox hook inside the same transaction."""

    job: Job
    stages: list[dict[str, Any]]
    previous_status: str | None
    """Status of the last finished job of the same kind and supersede key (for ``build.fixed``)."""
    event: str
    """``build.completed``, ``build.failed``, ``build.cancelled``, ``promote.completed``, ..."""
    extra: dict[str, Any] | None = None
    """Event details for non-terminal events (``stage`` for ``build.stage``, review data...)."""


@dataclass(frozen=True)
class SubmitResult:
    job: Job
    created: bool
    superseded: list[str] = field(default_factory=list)
