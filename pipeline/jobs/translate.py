"""The ``translate`` job: one language of a build, fanned out so it never holds the source back.

A build of a site with several languages (``[translate] fan_out``) renders only its source
language; right after its ``render_html`` passes it creates one child per other language in one
transaction fenced by its lease (:func:`fan_out`). Each child runs ``[pipeline] translate`` with
``ctx.language`` set to its language, in its own workspace (``jobs/<trn id>/out/<lang>/``), reading
the parent's source snapshot in place. Before ``deploy`` the publishing rule
(:mod:`pipeline.jobs.translation_policy`) decides whether the language goes live at ``/<lang>/``
of the build's target or only to its ``translation-<lang>`` preview; either way the job completes.
A child killed with its daemon is reclaimed after its lease expires and runs again on its own:
the parent, already finished, is not touched.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pipeline import config as config_mod
from pipeline.jobs import runner, translation_policy, translation_reviews
from pipeline.jobs.context import JobContext, Outcome, OutcomeKind
from pipeline.jobs.recorder import StoreRecorder
from pipeline.jobs.workspace import Workspace
from pipeline.store import Job, JobSpec
from stages.base import StageError, StageResult
from stages.deploy import compose
from stages.deploy.options import is_preview, translation_target
from stages.translate.states import STATES

logger = logging.getLogger(__name__)

COUNTS = ("source_pages", *STATES)
TRANSLATE_STAGE = "translate"


def languages_to_fan_out(cfg: config_mod.Config, source: Path) -> tuple[str, list[str]] | None:
    """(source language, other languages) when a build of ``source`` fans out, else None."""
    if not cfg.translate.fan_out:
        return None
    try:
        src, langs = compose.site_languages(source, cfg.site)
    except StageError:
        return None  # render_html reports what is wrong with the source
    others = [lang for lang in langs if lang != src]
    return (src, others) if others else None


def child_specs(cfg: config_mod.Config, build: Job, source: Path, languages: list[str]) -> list[JobSpec]:
    """One ``translate`` job per language; the key ``<build>:translate:<lang>`` makes it once-only."""
    trigger = {**(build.trigger or {}), "build_id": build.id}
    priority = cfg.workers.priorities.get("translate", 40)
    stages = cfg.pipeline.translate_stages((build.payload or {}).get("pipeline"))  # a build's own stage list carries over
    return [JobSpec(kind="translate", parent_id=build.id, payload={"language": lang, "build_id": build.id, "pipeline": stages},
                    source_path=str(source), target=build.target, idempotency_key=f"{build.id}:translate:{lang}",
                    trigger=trigger, priority=priority, dedupe=False) for lang in languages]


def fan_out(build: Job, ctx: JobContext, run: runner.BuildRun, source: Path, languages: list[str]) -> runner.AfterStage:
    """The build's hook: after ``render_html`` passes (and lint did not fail), create the children."""

    async def after(name: str, result: StageResult) -> bool:
        if name != "render_html" or not result.ok or run.reported is not None:
            return True
        made = await ctx.store.spawn_children(build.id, ctx.worker_id, child_specs(ctx.config, build, source, languages))
        if made is None:
            return False
        logger.info("job %s: translate jobs %s", build.id, ", ".join(f"{(c.payload or {}).get('language')}={c.id}" for c in made))
        return True

    return after


async def handle(job: Job, ctx: JobContext) -> Outcome:
    cfg = ctx.config
    lang = (job.payload or {}).get("language")
    if not isinstance(lang, str) or not lang:
        return Outcome.failed("translate_invalid", "the translate job names no language")
    source = Path(job.source_path) if job.source_path else None
    if source is None or not source.is_dir():
        return Outcome.failed("source_missing", "the build's source snapshot is gone (pruned?)")
    ws = Workspace.for_job(cfg.data_path, job.id)
    ws.create()
    run = runner.BuildRun(
        job_id=job.id, workspace=ws, config=cfg,
        recorder=StoreRecorder(ctx.store, job.id, ctx.worker_id, metrics=ctx.metrics),
        should_cancel=ctx.should_cancel, check_lease=ctx.check_lease, deploy_lock=ctx.store.target_lock,
        executor=ctx.executor, trigger=job.trigger or {}, source=source,
        pipeline=list((job.payload or {}).get("pipeline") or cfg.pipeline.translate_stages()),
        language=lang, target=job.target if job.target and is_preview(job.target) else None,
    )
    decided: list[translation_policy.Decision] = []

    async def before(name: str) -> None:
        if name == "deploy":
            decision = translation_policy.decide(cfg, lang, _outputs(run))
            decided.append(decision)
            if not decision.publish and run.target is None:  # a pull request's preview stays one
                run.target = translation_target(lang)

    run.before_stage = before
    outcome = await runner.run_build(run)
    if outcome.kind in (OutcomeKind.COMPLETED, OutcomeKind.FAILED, OutcomeKind.CANCELLED):
        outcome.result["translation"] = summary(cfg, run, lang, decided[0] if decided else None)
    if outcome.kind == OutcomeKind.COMPLETED:  # stored with COMPLETED, so review.requested goes out with it
        outcome.result["review"] = await translation_reviews.review_for(cfg, job, outcome.result)
    return outcome


def _outputs(run: runner.BuildRun) -> dict[str, Any]:
    stage = run.results.get(TRANSLATE_STAGE)
    return dict(stage.outputs) if stage is not None else {}


def summary(cfg: config_mod.Config, run: runner.BuildRun, lang: str,
            decision: translation_policy.Decision | None) -> dict[str, Any]:
    """The job result's ``translation``: counts, the publishing decision and where to look."""
    out = _outputs(run)
    deploy = run.results.get("deploy")
    deployed = deploy is not None and deploy.status == "passed"
    dep = deploy.outputs if deploy is not None else {}
    url = dep.get("language_url") or (f"{dep['live_url']}{lang}/" if dep.get("live_url") else None)
    published = bool(decision and decision.publish and deployed and not is_preview(str(dep.get("target") or "")))
    completion = out.get("completion")
    return {
        "language": lang, "source_language": out.get("source_language"),
        "completion": round(float(completion), 1) if completion is not None else None,
        **{k: out.get(k) for k in COUNTS},
        "published": published, "needs_review": bool(decision and decision.needs_review),
        "reason": decision.reason if decision else None,
        "live_url": url if published else None,
        "preview_url": url if deployed and not published else None,
    }
