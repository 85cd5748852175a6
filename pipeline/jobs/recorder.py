"""The runner's reports written to the store under the worker's lease (:class:`StoreRecorder`).

Every write is fenced by the lease owner: a ``False`` from ``stage_started`` or ``stage_finished``
means another worker owns the job now, and the runner ends the attempt without a result.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pipeline.metrics import Metrics
from pipeline.store import Store
from stages.base import StageResult


class StoreRecorder:
    """The runner's reports, written to the store under this worker's lease."""

    def __init__(self, store: Store, job_id: str, owner: str, first_findings: int = 50,
                 metrics: Metrics | None = None) -> None:
        self.store = store
        self.job_id = job_id
        self.owner = owner
        self.first_findings = first_findings
        self.metrics = metrics
        self._started: dict[str, float] = {}

    async def stage_started(self, name: str, position: int, pipeline: list[str]) -> bool:
        self._started[name] = time.monotonic()
        # the event goes in the stage's own transaction: one commit instead of two
        return await self.store.stage_started(self.job_id, self.owner, name, position, pipeline,
                                              emit="build.started" if position == 0 else None)

    async def stage_finished(self, name: str, result: StageResult, findings_total: int) -> bool:
        started = self._started.pop(name, None)
        if self.metrics is not None and started is not None:
            self.metrics.stage_duration.labels(name, result.status).observe(time.monotonic() - started)
        return await self.store.stage_finished(
            self.job_id, self.owner, name, status=result.status, counts=dict(result.counts),
            findings=[f.to_dict() for f in result.findings[: self.first_findings]], findings_total=findings_total,
            artifacts=dict(result.artifacts), outputs=_jsonable(result.outputs), error_code=result.error_code,
            message=result.message, emit="build.stage", emit_extra={"stage": name})

    async def progress(self, stage: str, overall: float, stage_progress: float, message: str | None) -> None:
        await self.store.set_progress(self.job_id, self.owner, stage, round(overall, 1), round(stage_progress, 1), message)


def _jsonable(value: Any) -> Any:
    """Stage outputs as JSON can hold them (paths and other objects become strings)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
