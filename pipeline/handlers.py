"""What each job kind does once a worker holds it. The worker knows kinds only by this table."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline import errors, redact, runner
from pipeline.intake import gitfetch
from pipeline.metrics import Metrics
from pipeline.outcome import Outcome
from pipeline.store import Job, Store
from pipeline.workspace import Workspace
from stages.base import StageResult

if TYPE_CHECKING:
    from pipeline.worker import Handler, Running, Worker

logger = logging.getLogger(__name__)


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
        ok = await self.store.stage_started(self.job_id, self.owner, name, position, pipeline)
        if ok and position == 0 and self.store.outbox is not None:
            await self.store.emit(self.job_id, "build.started")
        return ok

    async def stage_finished(self, name: str, result: StageResult, findings_total: int) -> bool:
        started = self._started.pop(name, None)
        if self.metrics is not None and started is not None:
            self.metrics.stage_duration.labels(name, result.status).observe(time.monotonic() - started)
        ok = await self.store.stage_finished(
            self.job_id, self.owner, name, status=result.status, counts=dict(result.counts),
            findings=[f.to_dict() for f in result.findings[: self.first_findings]], findings_total=findings_total,
            artifacts=dict(result.artifacts), outputs=_jsonable(result.outputs), error_code=result.error_code,
            message=result.message)
        if ok and self.store.outbox is not None:
            await self.store.emit(self.job_id, "build.stage", {"stage": name})
        return ok

    async def progress(self, stage: str, overall: float, stage_progress: float, message: str | None) -> None:
        await self.store.set_progress(self.job_id, self.owner, stage, round(overall, 1), round(stage_progress, 1), message)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


async def handle_build(job: Job, running: Running, worker: Worker) -> Outcome:
    cfg = worker.config
    ws = Workspace.for_job(cfg.data_path, job.id)
    ws.create()
    source = Path(job.source_path) if job.source_path else ws.source
    git = (job.payload or {}).get("git")
    if git:
        try:
            shutil.rmtree(ws.source, ignore_errors=True)
            url = gitfetch.git_url_for(ws.root, git)
            sha, tree = await asyncio.to_thread(gitfetch.fetch_git, url, git.get("ref"), ws.source)
            logger.info("job %s: fetched %s at %s", job.id, redact.redact_url(url), sha)
        except errors.FetchError as exc:
            return Outcome.failed("source_fetch_failed", str(exc), stage="fetch")
        claimed = (job.source_hash or "").removeprefix("gittree:") if (job.source_hash or "").startswith("gittree:") else None
        if claimed is not None and claimed != tree:
            # A signed push names its tree; the content id is trusted only once git agrees.
            return Outcome.failed("tree_mismatch", f"the push named tree {claimed} but commit {sha} has tree {tree}",
                                  stage="fetch")
        source = ws.source
    if not source.is_dir():
        return Outcome.failed("source_missing", f"the job's source snapshot {source} is missing (pruned?)")
    store = worker.store
    run = runner.BuildRun(
        job_id=job.id, workspace=ws, config=cfg, recorder=StoreRecorder(store, job.id, worker.id, metrics=worker.metrics),
        should_cancel=lambda: running.cancel, check_lease=lambda: store.holds_lease(job.id, worker.id),
        executor=worker.executor, trigger=job.trigger or {}, source=source,
        pipeline=(job.payload or {}).get("pipeline"),
    )
    outcome = await runner.run_build(run)
    if git and outcome.status in ("COMPLETED", "CANCELLED"):
        gitfetch.forget_git_url(ws.root)  # a FAILED job may be retried: its credentials stay until pruned
    if outcome.status == "COMPLETED":
        from pipeline import reviews

        review = reviews.review_from(outcome.result, job.id)
        if review:
            outcome.result["review"] = review
    return outcome


async def handle_noop(job: Job, running: Running, worker: Worker) -> Outcome:
    """Maintenance placeholder kinds that have nothing to run still finish cleanly."""
    return Outcome.completed({"ran_at": time.time()})


def default_handlers() -> dict[str, Handler]:
    handlers: dict[str, Handler] = {"build": handle_build}
    from pipeline import maintenance

    handlers["maintenance"] = maintenance.handle
    return handlers
