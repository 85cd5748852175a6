"""Review state of translate jobs: the pending review, its diff, approval, and publishing it.

A translate job that :func:`pipeline.jobs.translation_policy.decide` holds for review deployed its
language to the ``translation-<lang>`` target only. This module turns that into the same review
record builds have (``result.review``, listed by ``GET /api/reviews``) with ``kind = "translation"``
and a diff of the held ``/<lang>/`` against the live one. Approving it creates a ``promote`` job
whose payload names the language; :func:`compose_release` (called by :mod:`pipeline.jobs.promote`)
lays that language onto the release live *at that moment*, so a source-language deploy made since
the translation was built is kept.

The review is written by the translate handler (:func:`review_for`, then stored with COMPLETED so
``review.requested`` goes out in the same transaction, :func:`outbox`); :func:`after_translate`
writes it late for a job whose handler did not, and makes older pending reviews of the same
language lapse (approving one would put an older translation live over a newer one).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from pipeline import config as config_mod
from pipeline.jobs import reviews, status
from pipeline.jobs.context import JobContext, Outcome, OutcomeKind
from pipeline.jobs.workspace import Workspace
from pipeline.notify import outbox as notify_outbox
from pipeline.store import Job, JobSpec, Store, Transition
from stages.deploy import compose, language, release
from stages.deploy.options import Target
from stages.deploy.stage import target_root
from stages.translate.states import STATES

KIND = "translation"
DIFF_HTML = "reports/translation-diff.html"
DIFF_JSON = "reports/translation-diff.json"
logger = logging.getLogger(__name__)
COUNTS = ("completion", *STATES, "source_pages")


def language_of(job: Job) -> str | None:
    lang = (job.payload or {}).get("language") or ((job.result or {}).get("translation") or {}).get("language")
    return str(lang) if lang else None


def build_of(job: Job) -> str | None:
    return (job.payload or {}).get("build_id") or job.parent_id


def target_of(cfg: config_mod.Config, job: Job) -> str:
    """Where an approved language goes: the build's target (``[stages.deploy] target`` by default)."""
    if job.target and not job.target.startswith("translation-"):
        return job.target
    return cfg.stages.deploy.target


def target_folder(cfg: config_mod.Config, name: str) -> Path:
    """Root of a target; ``translation-<lang>`` need not be configured (a local directory, like previews)."""
    opts = cfg.stages.deploy
    return target_root(cfg.data_path / "sites", name, opts.target_named(name) or Target(keep_releases=1))


def release_folder(cfg: config_mod.Config, release_target: str, release_name: str) -> Path:
    if Path(release_name).is_absolute():
        return Path(release_name)
    return release.releases_dir(target_folder(cfg, release_target)) / release_name


def _held(result: dict[str, Any], lang: str) -> tuple[str | None, str]:
    deploy = (result.get("outputs") or {}).get("deploy") or {}
    return deploy.get("release"), str(deploy.get("target") or f"translation-{lang}")


async def review_for(cfg: config_mod.Config, job: Job, result: dict[str, Any]) -> dict[str, Any] | None:
    """The pending review of a completed translate job that needs approval, else None.

    Writes the diff preview (held ``/<lang>/`` against the live one) into the job's reports, served
    by ``GET /api/builds/{id}/artifacts/reports/translation-diff.html``.
    """
    translation = result.get("translation") or {}
    lang = translation.get("language") or language_of(job)
    if not translation.get("needs_review") or not lang:
        return None
    held_path, held_target = _held(result, str(lang))
    if not held_path:
        return None
    target = target_of(cfg, job)
    held = release_folder(cfg, held_target, held_path)
    live = release.current_path(target_folder(cfg, target))
    try:
        preview = await asyncio.to_thread(language.diff_language, held, live, str(lang),
                                          max_tables=cfg.stages.deploy.diff_pages)
        await asyncio.to_thread(_write_preview, Workspace.for_job(cfg.data_path, job.id).root, preview, str(lang))
    except OSError:  # the review still opens (and can be approved) without its diff
        logger.exception("job %s: the diff of %s/ against the live site failed", job.id, lang)
        preview = None
    return {"state": reviews.PENDING, "kind": KIND, "language": lang, "target": target,
            "release": reviews.release_id(held_path), "release_target": held_target,
            "changes": preview.summary() if preview else {}, "requested_at": status.iso(time.time()),
            "reason": translation.get("reason"), "build_id": build_of(job),
            "preview_url": f"/api/builds/{job.id}/artifacts/{DIFF_HTML}" if preview else None,
            "preview_json": DIFF_JSON if preview else None,
            "site_preview_url": translation.get("preview_url"),
            "translation": {k: translation.get(k) for k in COUNTS}}


def _write_preview(root: Path, preview: Any, lang: str) -> None:
    from stages.deploy import diff

    reports = root / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (root / DIFF_HTML).write_text(diff.preview_html(preview, title=f"/{lang}/ against the live site"), encoding="utf-8")
    (root / DIFF_JSON).write_text(json.dumps(preview.to_dict()), encoding="utf-8")


def review_event_extra(job: Job, review: dict[str, Any]) -> dict[str, Any]:
    return {"review": review, "language": review.get("language") or language_of(job), "build_id": build_of(job)}


def outbox(cfg: config_mod.Config, t: Transition) -> list[JobSpec]:
    """In a translate job's completion transaction: ``review.requested`` when it waits for approval."""
    if t.job.kind != "translate" or t.event != "translate.completed":
        return []
    review = (t.job.result or {}).get("review") or {}
    if review.get("state") != reviews.PENDING:
        return []
    return notify_outbox.plan(cfg, dataclasses.replace(t, event="review.requested", extra=review_event_extra(t.job, review)))


async def after_translate(job: Job, outcome: Outcome, ctx: JobContext) -> None:
    """Once a translate job's end is stored: its review if the handler wrote none, and older
    pending reviews of the same language and target lapse."""
    if job.kind != "translate" or outcome.kind != OutcomeKind.COMPLETED:
        return
    store = ctx.store
    current = await store.get(job.id)
    result = current.result or {}
    if (result.get("translation") or {}).get("needs_review") and not result.get("review"):
        review = await review_for(ctx.config, current, result)
        if review is not None:
            done = await store.update_result(job.id, {"review": review}, expect=lambda r: not r.get("review"))
            if done is not None:
                await store.emit(job.id, "review.requested", review_event_extra(done, review))
                current = done
    await supersede_older(store, current, target_of(ctx.config, current))


async def supersede_older(store: Store, job: Job, target: str) -> list[str]:
    """Pending reviews of the same language, older than ``job`` (published or pending), lapse."""
    lang = language_of(job)
    lapsed: list[str] = []
    if not lang:
        return lapsed
    jobs, _ = await store.list_jobs(kind="translate", review=reviews.PENDING, limit=200)
    for old in jobs:
        review = (old.result or {}).get("review") or {}
        if old.id == job.id or language_of(old) != lang or review.get("target") != target or old.created_at >= job.created_at:
            continue
        done = await store.update_result(old.id, lambda r: {"review": {**r["review"], "state": "superseded",
                                                                          "superseded_by": job.id}},
                                         expect=lambda r: (r.get("review") or {}).get("state") == reviews.PENDING)
        if done is not None:
            lapsed.append(old.id)
    return lapsed


def held_exists(cfg: config_mod.Config, review: dict[str, Any]) -> bool:
    if not review.get("release"):
        return False
    lang = str(review.get("language") or "")
    return (release_folder(cfg, str(review.get("release_target") or f"translation-{lang}"),
                           str(review["release"])) / lang).is_dir()


def publish_spec(cfg: config_mod.Config, job: Job, review: dict[str, Any], by: str) -> JobSpec:
    """The ``promote`` job that lays an approved language onto its target (one per job and target)."""
    spec = reviews.promote_spec(cfg, job, str(review["target"]), str(review["release"]), by,
                                review.get("release_target"))
    return dataclasses.replace(spec, payload={**spec.payload, "language": review.get("language") or language_of(job)},
                               trigger={**spec.trigger, "language": review.get("language"), "parent_build": build_of(job)})


async def compose_release(cfg: config_mod.Config, ws: Workspace, payload: dict[str, Any]) -> Path:
    """The tree a translation's promote job deploys: the target's live release with ``/<lang>/``
    from the held release (hard links). Raises ``StageError`` when the held release is gone."""
    lang = str(payload["language"])
    held = release_folder(cfg, str(payload.get("release_target") or f"translation-{lang}"), str(payload["release"]))
    live = release.current_path(target_folder(cfg, str(payload["target"])))
    dest = ws.root / "compose"
    await asyncio.to_thread(shutil.rmtree, dest, True)  # a retried attempt starts from what is live now
    await asyncio.to_thread(language.compose, live, held, lang, dest)
    return dest


async def after_publish(store: Store, job_id: str, lang: str, outcome: Outcome) -> None:
    """The translate job's record learns that its language is live, and where."""
    if outcome.kind != OutcomeKind.COMPLETED:
        return
    base = outcome.result.get("live_url")
    live = f"{base.rstrip('/')}/{lang}/" if isinstance(base, str) and base else None

    def patch(result: dict[str, Any]) -> dict[str, Any]:
        translation = {**(result.get("translation") or {}), "published": True, "needs_review": False,
                       "reason": "approved", "live_url": live}
        return {"translation": translation, "live_url": live or result.get("live_url")}

    await store.update_result(job_id, patch)


def compose_lock(cfg: config_mod.Config, payload: dict[str, Any]) -> contextlib.AbstractAsyncContextManager[None]:
    """The target's compose lock for a translation's promote job (nothing for other promotions)."""
    if not payload.get("language"):
        return contextlib.nullcontext()
    return compose.locked(target_folder(cfg, str(payload["target"])))
