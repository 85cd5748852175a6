"""Runs a build's stages in order inside one worker attempt.

The runner owns what stages must not: timing, timeouts, cancellation, persistence of each stage's
result, the per-job log, and turning a stage's outcome into the job's outcome. It is used by the
worker (with a store) and by ``pressroom build`` (with no store at all, via :class:`Recorder`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pipeline import config as config_mod
from pipeline import errors
from pipeline.jobs.context import Outcome
from pipeline.jobs.workspace import Workspace
from stages import registry
from stages.base import (
    Cancelled,
    StageContext,
    StageError,
    StageNotFound,
    StageOptions,
    StageResult,
)
from stages.deploy import targets

logger = logging.getLogger(__name__)

FIRST_FINDINGS = 50
REPORTING_CODES = frozenset({"lint_failed", "broken_links"})
"""Failures that report on the source rather than stop the stages after them: the site is still
rendered and checked so the writer can look at it, then the build ends FAILED with the first one's code."""
PUBLISHING = frozenset({"deploy"})
"""Stages that never run for a build that failed a reporting check (nothing failed is published)."""
CANCEL_GRACE = 2.0
"""Seconds a stage gets to notice ``should_cancel`` before its task is cancelled outright."""


class Recorder(Protocol):
    """Where the runner reports; the worker's implementation writes to the store."""

    async def stage_started(self, name: str, position: int, pipeline: list[str]) -> bool: ...
    async def stage_finished(self, name: str, result: StageResult, findings_total: int) -> bool: ...
    async def progress(self, stage: str, overall: float, stage_progress: float, message: str | None) -> None: ...


class NullRecorder:
    async def stage_started(self, name: str, position: int, pipeline: list[str]) -> bool:
        return True

    async def stage_finished(self, name: str, result: StageResult, findings_total: int) -> bool:
        return True

    async def progress(self, stage: str, overall: float, stage_progress: float, message: str | None) -> None:
        return None


Progress = tuple[str, float, float, str | None]
"""(stage, overall percent, stage percent, message): one progress report as the recorder takes it."""
BeforeStage = Callable[[str], Awaitable[None]]
"""Runs before a stage starts (a translate job settles its deploy target before ``deploy``)."""
AfterStage = Callable[[str, StageResult], Awaitable[bool]]
"""Runs once a stage's result is recorded and did not stop the build (the build's fan-out after
``render_html``); False means the lease was lost and the attempt ends."""


@dataclass
class BuildRun:
    """One attempt at one build: what the stages see besides their own options."""

    job_id: str
    workspace: Workspace
    config: config_mod.Config
    recorder: Recorder = field(default_factory=NullRecorder)
    should_cancel: Callable[[], bool] = lambda: False
    check_lease: Callable[[], Awaitable[bool]] | None = None
    executor: concurrent.futures.Executor | None = None
    trigger: Mapping[str, Any] = field(default_factory=dict)
    target: str | None = None
    """Deploy to this target instead of ``[stages.deploy] target`` (a promote job)."""
    release_from: Path | None = None
    """Deploy this existing release instead of the build's output (a promote job)."""
    deploy_lock: Callable[[str], AbstractAsyncContextManager[None]] | None = None
    """Held around the deploy stage, per target: with several daemons on one store, two nodes
    never publish to (or swap ``current`` of) one target at once (:meth:`Store.target_lock`)."""
    pipeline: list[str] | None = None
    language: str | None = None
    """Build only this language (``ctx.language``): a fanned-out build's source language, or a
    translate job's language. None builds every language the site has."""
    before_stage: BeforeStage | None = None
    after_stage: AfterStage | None = None
    source: Path | None = None
    out: Path | None = None
    results: dict[str, StageResult] = field(default_factory=dict)
    pending_progress: Progress | None = field(default=None, repr=False)
    reported: tuple[str, str, str] | None = None
    """(code, message, stage) of the first reporting failure; the build ends FAILED with it."""
    """The running stage's latest progress, not yet written (the flusher writes it)."""


def job_logger(job_id: str, path: Path) -> tuple[logging.Logger, logging.Handler]:
    """A logger whose records go to the job's own log file (``GET /api/builds/{id}/log``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    log = logging.getLogger(f"pressroom.job.{job_id}")
    log.propagate = False
    log.setLevel(logging.INFO)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s [%(stage)s] %(message)s", "%H:%M:%S"))
    log.addHandler(handler)
    return log, handler


class _StageAdapter(logging.LoggerAdapter):  # type: ignore[type-arg]
    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        kwargs.setdefault("extra", {})["stage"] = (self.extra or {}).get("stage", "-")
        return msg, kwargs


async def run_build(run: BuildRun) -> Outcome:
    cfg = run.config
    names = list(run.pipeline or cfg.pipeline.build)
    log, handler = job_logger(run.job_id, run.workspace.log)
    job_log = _StageAdapter(log, {"stage": "job"})
    job_log.info("build started: stages %s", " -> ".join(names))
    degraded: list[str] = []
    try:
        for position, name in enumerate(names):
            if run.should_cancel():
                job_log.info("cancelled before stage %s", name)
                return Outcome.cancelled(result=summarise(run, degraded))
            if run.reported and name in PUBLISHING:
                if not await _skip(run, name, position, names, f"not run: {run.reported[0]} in stage {run.reported[2]}"):
                    return Outcome.lease_lost()
                job_log.info("%s skipped: the build failed %s", name, run.reported[0])
                continue
            if run.before_stage is not None:
                await run.before_stage(name)
            outcome = await _run_stage(run, name, position, names, log, degraded)
            if outcome is not None:
                return outcome
            done = run.results.get(name)  # None for a stage disabled in config
            if run.after_stage is not None and done is not None and not await run.after_stage(name, done):
                return Outcome.lease_lost()
        if run.reported:
            code, message, stage = run.reported
            job_log.info("build finished, failed: %s", code)
            return Outcome.failed(code, message, stage=stage, result=summarise(run, degraded))
        job_log.info("build finished%s", f" (degraded: {', '.join(degraded)})" if degraded else "")
        return Outcome.completed(summarise(run, degraded))
    finally:
        log.removeHandler(handler)
        handler.close()


async def _run_stage(run: BuildRun, name: str, position: int, names: list[str], log: logging.Logger,
                     degraded: list[str]) -> Outcome | None:
    cfg = run.config
    stage_log = _StageAdapter(log, {"stage": name})
    try:
        spec = registry.get(name)
        section: StageOptions | None = getattr(cfg.stages, spec.config_key) if spec.config_key else _own_table(cfg, spec)
        if section is not None and not section.enabled:
            await run.recorder.stage_started(name, position, names)
            await run.recorder.stage_finished(name, StageResult(status="skipped", message="disabled in config"), 0)
            stage_log.info("skipped (disabled in config)")
            return None
        fn = spec.load()
    except StageNotFound as exc:
        stage_log.error("%s", exc)
        await run.recorder.stage_started(name, position, names)
        await run.recorder.stage_finished(name, StageResult(status="failed", error_code=exc.code, message=str(exc)), 0)
        return Outcome.failed(exc.code, str(exc), stage=name, result=summarise(run, degraded))
    if not await run.recorder.stage_started(name, position, names):
        return Outcome.lease_lost()
    options = section if section is not None else spec.options()
    required = section.required if section is not None else True
    timeout = section.timeout if section is not None else float(cfg.workers.job_timeout)

    def progress(percent: float, message: str | None = None) -> None:
        pct = max(0.0, min(100.0, float(percent)))
        overall = (position + pct / 100.0) / len(names) * 100.0
        run.pending_progress = (name, overall, pct, message)

    ctx = StageContext(
        job_id=run.job_id, workspace=run.workspace.root, source=run.source or run.workspace.source,
        out=run.out or run.workspace.out, cache_dir=cfg.data_path / "cache" / cfg.site.name,
        sites_dir=cfg.data_path / "sites", site=cfg.site, options=options, language=run.language,
        previous=dict(run.results),
        trigger=run.trigger, progress=progress, should_cancel=run.should_cancel,
        check_lease=run.check_lease or _always_true, logger=stage_log.logger, executor=run.executor,
        target=run.target, release_from=run.release_from,
        target_roots=targets.roots(cfg.stages.deploy, cfg.data_path / "sites"),
    )
    started = time.monotonic()
    stage_log.info("started")
    flusher = asyncio.create_task(_flush_progress(run))
    try:
        target = run.target or getattr(options, "target", None)
        lock = run.deploy_lock(target) if run.deploy_lock is not None and name == "deploy" and target else None
        async with lock or contextlib.nullcontext():
            result = await _with_cancel(run, fn(ctx), timeout)
    except Cancelled:
        await run.recorder.stage_finished(name, StageResult(status="skipped", message="cancelled"), 0)
        stage_log.info("cancelled")
        return Outcome.cancelled(result=summarise(run, degraded))
    except TimeoutError:
        result = StageResult(status="failed", error_code="stage_timeout", message=f"stage {name} ran past its timeout of {timeout:g} s")
    except StageError as exc:
        result = StageResult(status="failed", error_code=exc.code, message=str(exc))
    except Exception as exc:  # a stage bug must not take the worker down; the log keeps the trace
        stage_log.error("crashed: %s\n%s", exc, traceback.format_exc())
        result = StageResult(status="failed", error_code="stage_crashed", message=f"{type(exc).__name__}: {exc}")
    finally:
        flusher.cancel()
        run.pending_progress = None
    if result.status == "failed" and not required:
        result.status = "degraded"
    run.results[name] = result
    for f in result.findings[:20]:
        stage_log.info("%s %s:%s %s %s", f.severity, f.file, f.line or "-", f.rule, f.message)
    stage_log.info("%s in %.2f s %s%s", result.status, time.monotonic() - started, result.counts or "",
                   f" ({result.error_code}: {result.message})" if result.error_code else "")
    if not await run.recorder.stage_finished(name, result, len(result.findings)):
        return Outcome.lease_lost()
    if result.status == "degraded":
        degraded.append(name)
    if result.status == "failed" and result.error_code in REPORTING_CODES:
        run.reported = run.reported or (result.error_code, result.message or f"stage {name} failed", name)
        return None
    if result.status == "failed":
        code = result.error_code or "stage_failed"
        return Outcome.failed(code, result.message or f"stage {name} failed", stage=name, result=summarise(run, degraded))
    return None


def _own_table(cfg: config_mod.Config, spec: registry.StageSpec) -> StageOptions | None:
    """A stage configured by a top-level table of its own name (``[translate]``, which the jobs read
    too), when that table's model is the stage's options class."""
    table = getattr(cfg, spec.name, None)
    return table if isinstance(table, spec.options) else None


async def _skip(run: BuildRun, name: str, position: int, names: list[str], message: str) -> bool:
    """Record ``name`` as skipped; False when the lease was lost meanwhile."""
    if not await run.recorder.stage_started(name, position, names):
        return False
    result = StageResult(status="skipped", message=message)
    run.results[name] = result
    return await run.recorder.stage_finished(name, result, 0)


async def _flush_progress(run: BuildRun, interval: float = 0.25) -> None:
    """Stages report progress as often as they like; the store sees at most 4 writes a second."""
    last: Progress | None = None
    while True:
        await asyncio.sleep(interval)
        current = run.pending_progress
        if current and current != last:
            try:
                await run.recorder.progress(*current)
            except errors.StoreUnavailable:
                continue  # the store is locked for now: the next tick writes the latest progress
            last = current


async def _always_true() -> bool:
    return True


async def _with_cancel(run: BuildRun, coro: Awaitable[StageResult], timeout: float) -> StageResult:
    """Await the stage; on cancel give it CANCEL_GRACE seconds to stop itself, then cancel it."""
    task = asyncio.ensure_future(coro)
    deadline = time.monotonic() + timeout
    cancel_seen: float | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise TimeoutError
        done, _ = await asyncio.wait({task}, timeout=min(0.2, remaining))
        if done:
            return task.result()
        if run.should_cancel():
            cancel_seen = cancel_seen or time.monotonic()
            if time.monotonic() - cancel_seen > CANCEL_GRACE:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                raise Cancelled(run.job_id)


def summarise(run: BuildRun, degraded: list[str]) -> dict[str, Any]:
    """The job's result: artifacts, live URLs and counts gathered from every stage."""
    artifacts: dict[str, str] = {}
    counts: dict[str, int] = {}
    warnings = 0
    live: dict[str, str] = {}
    changed: list[str] = []
    outputs: dict[str, Any] = {}
    for name, res in run.results.items():
        artifacts.update(res.artifacts)
        for k, v in res.counts.items():
            counts[f"{name}.{k}"] = v
        warnings += sum(1 for f in res.findings if f.severity == "warning")
        out = res.outputs or {}
        if out.get("live_url"):
            live[str(out.get("target", "staging"))] = str(out["live_url"])
        if out.get("changed_urls"):
            changed = list(out["changed_urls"])
        if name == "deploy":
            outputs["deploy"] = {k: v for k, v in out.items() if k in ("target", "release", "live_url", "promotion", "pdf")}
        if name == "openapi" and out.get("specs") is not None:
            outputs["openapi"] = {k: out.get(k) for k in ("specs", "breaking", "non_breaking", "summary", "changed")}
    result: dict[str, Any] = {"artifacts": artifacts, "counts": counts, "warnings": warnings, "degraded": degraded}
    if live:
        result["live_urls"] = live
        result["live_url"] = next(iter(live.values()))
    if changed:
        result["changed_urls"] = changed
    if outputs:
        result["outputs"] = outputs
    return result
