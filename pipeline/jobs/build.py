"""The ``build`` job: fetch the source if it is a git push, run the build pipeline (fanning out one
``translate`` job per other language), open a review."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

from pipeline import errors, redact
from pipeline.intake import gitfetch
from pipeline.jobs import reviews, runner, translate
from pipeline.jobs.context import JobContext, Outcome, OutcomeKind
from pipeline.jobs.recorder import StoreRecorder
from pipeline.jobs.workspace import Workspace
from pipeline.store import Job
from stages.deploy.options import is_preview
from stages.site import gitdates

logger = logging.getLogger(__name__)


async def handle(job: Job, ctx: JobContext) -> Outcome:
    cfg = ctx.config
    ws = Workspace.for_job(cfg.data_path, job.id)
    ws.create()
    source = Path(job.source_path) if job.source_path else ws.source
    git = (job.payload or {}).get("git")
    if git:
        try:
            shutil.rmtree(ws.source, ignore_errors=True)
            url = gitfetch.git_url_for(ws.root, git)
            sha, tree = await asyncio.to_thread(gitfetch.fetch_git, url, git.get("ref"), ws.source,
                                                dates_to=ws.root / gitdates.SIDECAR)
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
    fan = translate.languages_to_fan_out(cfg, source)
    run = runner.BuildRun(
        job_id=job.id, workspace=ws, config=cfg,
        recorder=StoreRecorder(ctx.store, job.id, ctx.worker_id, metrics=ctx.metrics),
        should_cancel=ctx.should_cancel, check_lease=ctx.check_lease, deploy_lock=ctx.store.target_lock,
        executor=ctx.executor, trigger=job.trigger or {}, source=source,
        pipeline=(job.payload or {}).get("pipeline"),
        # A pull request's preview deploys to its own target; every other build to [stages.deploy] target.
        target=job.target if job.target and is_preview(job.target) else None,
        # Fanned out, the build renders the source language; a translate job per other language follows.
        language=fan[0] if fan else None,
    )
    if fan:
        run.after_stage = translate.fan_out(job, ctx, run, source, fan[1])
    outcome = await runner.run_build(run)
    if git and outcome.kind in (OutcomeKind.COMPLETED, OutcomeKind.CANCELLED):
        gitfetch.forget_git_url(ws.root)  # a FAILED job may be retried: its credentials stay until pruned
    if outcome.kind == OutcomeKind.COMPLETED:
        review = reviews.review_from(outcome.result, job.id)
        if review:
            outcome.result["review"] = review
    return outcome
