"""What a job handler tells the worker when it is done with one attempt."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outcome:
    status: str
    """COMPLETED, FAILED or CANCELLED; or RETRY to try again after ``retry_in`` seconds."""
    result: dict[str, Any] = field(default_factory=dict)
    error_code: str | None = None
    error_message: str | None = None
    error_stage: str | None = None
    retry_in: float | None = None
    dead: bool = False
    """FAILED and listed as a dead letter (replayable), e.g. a delivery that can never succeed."""

    @classmethod
    def completed(cls, result: dict[str, Any] | None = None) -> Outcome:
        return cls("COMPLETED", result or {})

    @classmethod
    def failed(cls, code: str, message: str, *, stage: str | None = None, result: dict[str, Any] | None = None,
               dead: bool = False) -> Outcome:
        return cls("FAILED", result or {}, code, message, stage, dead=dead)

    @classmethod
    def cancelled(cls, message: str = "cancelled by user", result: dict[str, Any] | None = None) -> Outcome:
        return cls("CANCELLED", result or {}, "cancelled", message)

    @classmethod
    def retry(cls, code: str, message: str, *, delay: float | None = None, stage: str | None = None) -> Outcome:
        return cls("RETRY", {}, code, message, stage, retry_in=delay)
