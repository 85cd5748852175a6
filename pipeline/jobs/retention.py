"""Retention: prune old job workspaces and logs on a schedule. Job rows and events stay.

The schedule submits a ``maintenance`` job; the worker runs it like any other kind.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from pathlib import Path

from pipeline.jobs import previews
from pipeline.jobs.context import JobContext, Outcome
from pipeline.jobs.workspace import Workspace
from pipeline.store import Job, JobSpec, Store

logger = logging.getLogger(__name__)


async def handle(job: Job, ctx: JobContext) -> Outcome:
    """The ``maintenance`` job: prune what finished more than ``workspaces_days`` ago."""
    cfg = ctx.config
    cutoff = time.time() - cfg.retention.workspaces_days * 86400
    pruned = await prune(ctx.store, cfg.data_path, cutoff)
    previews_removed = await previews.remove_closed(ctx.store, cfg)
    return Outcome.completed({"pruned": len(pruned), "previews_removed": previews_removed})


async def prune(store: Store, data_dir: Path, finished_before: float) -> list[str]:
    done: list[str] = []
    while True:
        jobs = await store.prunable(finished_before, limit=200)
        if not jobs:
            return done
        for job in jobs:
            root = Workspace.for_job(data_dir, job.id).root
            await asyncio.to_thread(shutil.rmtree, root, True)
        await store.mark_pruned([j.id for j in jobs])
        done.extend(j.id for j in jobs)
        logger.info("pruned %d job workspace(s)", len(jobs), extra={"action": "prune"})


async def schedule_loop(store: Store, interval_hours: float, priority: int) -> None:
    """Submit one maintenance job per interval; the store makes it once across all daemons."""
    interval = interval_hours * 3600
    while True:
        fire = (time.time() // interval) * interval
        await store.fire_schedule("retention", fire, JobSpec(kind="maintenance", priority=priority,
                                                             trigger={"kind": "schedule", "schedule": "retention"}))
        await asyncio.sleep(max(1.0, fire + interval - time.time()))
