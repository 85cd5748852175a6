"""The ``promote`` job: deploy a release that already exists to another target (staging to
production), through the deploy stage so the same checks and the same lease fencing apply.

On success the build's record learns the new live URL and its review becomes ``promoted``.
"""

from __future__ import annotations

import time
from pathlib import Path

from pipeline.jobs import reviews, runner, status, translation_reviews
from pipeline.jobs.context import JobContext, Outcome, OutcomeKind
from pipeline.jobs.recorder import StoreRecorder
from pipeline.jobs.workspace import Workspace
from pipeline.store import Job
from stages.base import StageError


async def handle(job: Job, ctx: JobContext) -> Outcome:
    """Deploy an existing release to another target, through the deploy stage (same checks, lease)."""
    cfg = ctx.config
    payload = job.payload or {}
    lang = payload.get("language")
    ws = Workspace.for_job(cfg.data_path, job.id)
    ws.create()
    # An approved translation is laid onto what is live now, under the target's compose lock (held
    # until ``current`` is swapped, so a source or language deploy in between is not lost).
    async with translation_reviews.compose_lock(cfg, payload):
        try:
            if lang:
                release_from = await translation_reviews.compose_release(cfg, ws, payload)
            else:
                release_from = Path(payload.get("release_from")
                                    or reviews.release_dir(cfg, payload.get("release_target"), payload["release"]))
        except StageError as exc:  # the build's target left the config since the review, or the release is gone
            return Outcome.failed(exc.code, str(exc), stage="deploy")
        run = runner.BuildRun(
            job_id=job.id, workspace=ws, config=cfg, recorder=StoreRecorder(ctx.store, job.id, ctx.worker_id),
            pipeline=["deploy"], should_cancel=ctx.should_cancel, check_lease=ctx.check_lease,
            deploy_lock=ctx.store.target_lock, trigger=job.trigger or {}, source=ws.root, target=payload["target"],
            release_from=release_from,
        )
        outcome = await runner.run_build(run)
    if outcome.kind == OutcomeKind.COMPLETED and payload.get("build_id"):
        build = await ctx.store.get(payload["build_id"])
        live = dict((build.result or {}).get("live_urls") or {})
        live.update(outcome.result.get("live_urls") or {})
        review = dict((build.result or {}).get("review") or {})
        if review:
            review.update({"state": "promoted", "promote_job": job.id, "promoted_at": status.iso(time.time())})
        await ctx.store.update_result(build.id, {"live_urls": live, **({"review": review} if review else {})})
        if lang:
            await translation_reviews.after_publish(ctx.store, build.id, str(lang), outcome)
    return outcome
