"""Review state: what a deploy's promotion decision turns into, and what a finished build causes.

The deploy stage decides what follows a deploy to the build target (``outputs.promotion``:
``none``, ``review`` or ``auto``, with a diff preview). This module turns that into state:

* ``review``: the build's result gets ``review = {"state": "pending", ...}`` (stored in the same
  transaction as COMPLETED, by the build handler) and ``review.requested`` is notified; an older
  pending review of the same source becomes ``superseded`` (:func:`after_build`).
* ``auto`` (``auto_promote = "when-clean"`` or a target without approval): a ``promote`` job is
  created in the completion's transaction (:func:`outbox`).
* ``POST /api/builds/{id}/approve`` (admin, :mod:`pipeline.api.reviews`) moves a pending review
  to ``approved`` with a compare-and-set and creates the ``promote`` job (idempotent per build,
  :func:`promote_spec`); ``reject`` closes it. The promote job itself is :mod:`pipeline.jobs.promote`.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from pipeline import config as config_mod
from pipeline.jobs import status
from pipeline.jobs.context import JobContext, Outcome
from pipeline.notify import outbox as notify_outbox
from pipeline.store import Job, JobSpec, Transition
from stages.deploy import targets

PENDING = "pending"


def review_from(outcome_result: dict[str, Any], job_id: str) -> dict[str, Any] | None:
    """The review record for a completed build, from the deploy stage's promotion output.

    The release is named by its ID and the target that holds it, never by its folder: the record
    is shown by the API, the dashboard and notifications, and server paths are nobody's business
    there (:func:`release_dir` finds the folder again).
    """
    deploy = (outcome_result.get("outputs") or {}).get("deploy") or {}
    promo = deploy.get("promotion") or {}
    if promo.get("decision") != "review":
        return None
    preview = promo.get("preview")
    return {"state": PENDING, "target": promo.get("to"), "release": release_id(promo.get("release")),
            "release_target": deploy.get("target"),
            "changes": promo.get("changes") or {}, "requested_at": status.iso(time.time()),
            "preview_url": f"/api/builds/{job_id}/artifacts/{preview}" if preview else None,
            "preview_json": promo.get("preview_json"), "openapi": promo.get("openapi")}


def release_id(release: str | None) -> str | None:
    """``<data>/sites/staging/releases/build_x`` -> ``build_x`` (a bare ID stays as it is)."""
    return Path(release).name if release else None


def release_dir(cfg: config_mod.Config, release_target: str | None, release: str) -> Path:
    """The folder of a release named by ID on ``release_target`` (default: the build target).

    Records written before releases were named by ID hold the absolute folder; it is used as is.
    """
    if Path(release).is_absolute():
        return Path(release)
    opts = cfg.stages.deploy
    root = targets.root_of(opts, cfg.data_path / "sites", release_target or opts.target)
    return root / "releases" / release


def promote_spec(cfg: config_mod.Config, build: Job, target: str, release: str, by: str,
                 release_target: str | None = None) -> JobSpec:
    """The ``promote`` job for a build's release, one per build and target (the idempotency key)."""
    return JobSpec(kind="promote", idempotency_key=f"promote:{build.id}:{target}",
                   priority=cfg.workers.priorities.get("promote", 80), max_attempts=cfg.workers.max_attempts,
                   parent_id=None, supersede_key=build.supersede_key, target=target,
                   trigger={"kind": "promotion", "build_id": build.id, "approved_by": by, "job_id": build.id},
                   payload={"build_id": build.id, "target": target, "release": release_id(release),
                            "release_target": release_target})


def outbox(cfg: config_mod.Config, t: Transition) -> list[JobSpec]:
    """In the build's completion transaction: the automatic promotion and the review request."""
    if t.job.kind != "build" or t.event != "build.completed":
        return []
    result = t.job.result or {}
    specs: list[JobSpec] = []
    promo = ((result.get("outputs") or {}).get("deploy") or {}).get("promotion") or {}
    if promo.get("decision") == "auto" and promo.get("to") and promo.get("release"):
        specs.append(promote_spec(cfg, t.job, promo["to"], promo["release"], "auto_promote",
                                  ((result.get("outputs") or {}).get("deploy") or {}).get("target")))
    if (result.get("review") or {}).get("state") == PENDING:
        specs.extend(notify_outbox.plan(cfg, dataclasses.replace(t, event="review.requested",
                                                                 extra={"review": result["review"]})))
    return specs


def source_key(job: Job) -> str:
    """What makes two builds "the same docs": the branch or folder, else the repository; builds
    uploaded with neither (a bare archive to the API) all count as one source."""
    trigger = job.trigger or {}
    for value in (job.supersede_key, trigger.get("branch"), trigger.get("folder"), trigger.get("repository")):
        if isinstance(value, str) and value:
            return value
    return ""


async def after_build(job: Job, outcome: Outcome, ctx: JobContext) -> None:
    """Once a build with a pending review is stored, older pending reviews of the same source for
    the same target lapse: approving one of them would put older docs live over newer ones."""
    review = outcome.result.get("review") or {}
    if job.kind != "build" or review.get("state") != PENDING:
        return
    store = ctx.store
    mine = source_key(job)
    jobs, _ = await store.list_jobs(kind="build", branch=job.supersede_key, review=PENDING, limit=200)
    for old in jobs:
        if source_key(old) != mine or ((old.result or {}).get("review") or {}).get("target") != review.get("target"):
            continue
        if old.id != job.id and old.created_at < job.created_at:
            await store.update_result(old.id, {"review": {**(old.result or {}).get("review", {}), "state": "superseded",
                                                          "superseded_by": job.id}},
                                      expect=lambda r: (r.get("review") or {}).get("state") == PENDING)
