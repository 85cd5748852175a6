"""Approval and promotion: reviews of staged builds, ``promote`` jobs, rollback, live sites.

The deploy stage decides what follows a deploy to the build target (``outputs.promotion``:
``none``, ``review`` or ``auto``, with a diff preview). This module turns that into state:

* ``review``: the build's result gets ``review = {"state": "pending", ...}`` (stored in the same
  transaction as COMPLETED) and ``review.requested`` is notified; an older pending review of the
  same branch becomes ``superseded``.
* ``auto`` (``auto_promote = "when-clean"`` or a target without approval): a ``promote`` job is
  created in the completion's transaction.
* ``POST /api/builds/{id}/approve`` (admin) moves a pending review to ``approved`` with a
  compare-and-set and creates the ``promote`` job (idempotent per build); ``reject`` closes it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from pipeline import config as config_mod
from pipeline import errors, runner, status
from pipeline.api import jsonbody, openapi
from pipeline.api.keys import config_key, services_key, store_key
from pipeline.outcome import Outcome
from pipeline.store import Job, JobSpec, Transition
from pipeline.workspace import Workspace
from stages.base import StageError
from stages.deploy import targets

if TYPE_CHECKING:
    from pipeline.worker import Running, Worker

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
            "preview_json": promo.get("preview_json")}


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
        from pipeline import notifications

        specs.extend(notifications.outbox(cfg, dataclasses.replace(t, event="review.requested",
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


async def after_build(job: Job, outcome: Outcome, worker: Worker) -> None:
    """Once a build with a pending review is stored, older pending reviews of the same source for
    the same target lapse: approving one of them would put older docs live over newer ones."""
    review = outcome.result.get("review") or {}
    if job.kind != "build" or review.get("state") != PENDING:
        return
    store = worker.store
    mine = source_key(job)
    jobs, _ = await store.list_jobs(kind="build", branch=job.supersede_key, review=PENDING, limit=200)
    for old in jobs:
        if source_key(old) != mine or ((old.result or {}).get("review") or {}).get("target") != review.get("target"):
            continue
        if old.id != job.id and old.created_at < job.created_at:
            await store.update_result(old.id, {"review": {**(old.result or {}).get("review", {}), "state": "superseded",
                                                          "superseded_by": job.id}},
                                      expect=lambda r: (r.get("review") or {}).get("state") == PENDING)


async def handle_promote(job: Job, running: Running, worker: Worker) -> Outcome:
    """Deploy an existing release to another target, through the deploy stage (same checks, lease)."""
    cfg = worker.config
    payload = job.payload or {}
    try:
        release_from = str(payload.get("release_from") or release_dir(cfg, payload.get("release_target"), payload["release"]))
    except StageError as exc:  # the build's target left the config since the review
        return Outcome.failed(exc.code, str(exc), stage="deploy")
    ws = Workspace.for_job(cfg.data_path, job.id)
    ws.create()
    run = runner.BuildRun(
        job_id=job.id, workspace=ws, config=cfg, recorder=_recorder(worker, job), pipeline=["deploy"],
        should_cancel=lambda: running.cancel, check_lease=lambda: worker.store.holds_lease(job.id, worker.id),
        trigger=job.trigger or {}, source=ws.root, target=payload["target"], release_from=Path(release_from),
    )
    outcome = await runner.run_build(run)
    if outcome.status == "COMPLETED" and payload.get("build_id"):
        build = await worker.store.get(payload["build_id"])
        live = dict((build.result or {}).get("live_urls") or {})
        live.update(outcome.result.get("live_urls") or {})
        review = dict((build.result or {}).get("review") or {})
        if review:
            review.update({"state": "promoted", "promote_job": job.id, "promoted_at": status.iso(time.time())})
        await worker.store.update_result(build.id, {"live_urls": live, **({"review": review} if review else {})})
    return outcome


def _recorder(worker: Worker, job: Job) -> runner.Recorder:
    from pipeline.handlers import StoreRecorder

    return StoreRecorder(worker.store, job.id, worker.id)


# -- HTTP -------------------------------------------------------------------------------------

routes = web.RouteTableDef()


def _deploy_opts(request: web.Request) -> Any:
    return request.app[config_key].stages.deploy


def _sites(request: web.Request) -> Path:
    return request.app[config_key].data_path / "sites"


@routes.get("/api/reviews")
async def list_reviews(request: web.Request) -> web.Response:
    from pipeline.api.builds import require

    await require(request, "read")
    jobs, nxt = await request.app[store_key].list_jobs(kind="build", review=PENDING, limit=100,
                                                       cursor=request.query.get("cursor"))
    return web.json_response({"reviews": [review_view(j) for j in jobs], "next": nxt})


def review_view(job: Job) -> dict[str, Any]:
    view = status.job_view(job)
    review = dict(view.get("review") or {})
    view["review"] = review
    return view


@routes.post("/api/builds/{job_id}/approve")
async def approve(request: web.Request) -> web.Response:
    from pipeline.api.builds import require

    who = await require(request, "admin")
    store = request.app[store_key]
    cfg = request.app[config_key]
    job_id = request.match_info["job_id"]
    pending = ((await store.get(job_id)).result or {}).get("review") or {}
    if pending.get("state") == PENDING and not await asyncio.to_thread(_release_exists, cfg, pending):
        # Retention ([stages.deploy.targets.*] keep_releases) removed it: a promote job could only fail.
        raise errors.ReleaseGone(f"release {release_id(pending.get('release'))} of job {job_id} is no longer on "
                                 f"target {pending.get('release_target') or cfg.stages.deploy.target} (pruned by "
                                 "keep_releases); rebuild and review the new build")
    decided = {"state": "approved", "decided_by": who.name, "decided_at": status.iso(time.time())}
    done = await store.update_result(job_id, lambda r: {"review": {**r["review"], **decided}},
                                     expect=lambda r: (r.get("review") or {}).get("state") == PENDING)
    if done is None:
        raise errors.NotAwaitingReview(f"job {job_id} is not waiting for review")
    review = (done.result or {})["review"]
    res = await store.submit(promote_spec(cfg, done, review["target"], review["release"], who.name,
                                          review.get("release_target")))
    await store.update_result(job_id, {"review": {**review, "promote_job": res.job.id}})
    return web.json_response({"job_id": job_id, "review": {**review, "promote_job": res.job.id},
                              "promote_job": res.job.id, "status_url": f"/api/builds/{res.job.id}/status"}, status=202)


def _release_exists(cfg: config_mod.Config, review: dict[str, Any]) -> bool:
    if not review.get("release"):
        return False
    try:
        return release_dir(cfg, review.get("release_target"), str(review["release"])).is_dir()
    except StageError:  # the target is no longer configured
        return False


@routes.post("/api/builds/{job_id}/reject")
async def reject(request: web.Request) -> web.Response:
    from pipeline.api.builds import require

    who = await require(request, "admin")
    reason = ""
    if request.can_read_body:
        body = jsonbody.loads(await request.read())
        reason = str((body or {}).get("reason", "")) if isinstance(body, dict) else ""
    store = request.app[store_key]
    job_id = request.match_info["job_id"]
    decided = {"state": "rejected", "reason": reason[:2000], "decided_by": who.name, "decided_at": status.iso(time.time())}
    done = await store.update_result(job_id, lambda r: {"review": {**r["review"], **decided}},
                                     expect=lambda r: (r.get("review") or {}).get("state") == PENDING)
    if done is None:
        raise errors.NotAwaitingReview(f"job {job_id} is not waiting for review")
    return web.json_response({"job_id": job_id, "review": (done.result or {})["review"]})


@routes.get("/api/targets/{name}/releases")
async def releases(request: web.Request) -> web.Response:
    from pipeline.api.builds import require

    await require(request, "read")
    try:
        infos = await asyncio.to_thread(targets.releases, _deploy_opts(request), _sites(request), request.match_info["name"])
    except StageError as exc:
        raise _as_http(exc) from None
    return web.json_response({"target": request.match_info["name"], "releases": [i.to_dict() for i in infos]})


@routes.post("/api/targets/{name}/rollback")
async def rollback(request: web.Request) -> web.Response:
    from pipeline.api.builds import require

    await require(request, "admin")
    job_id = request.query.get("job_id")
    if request.can_read_body and request.content_type == "application/json":
        body = jsonbody.loads(await request.read())
        if isinstance(body, dict) and isinstance(body.get("job_id"), str):
            job_id = body["job_id"]
    workdir = Path(tempfile.mkdtemp(prefix="rollback-", dir=request.app[config_key].data_path))
    try:
        info = await targets.rollback_and_publish(_deploy_opts(request), _sites(request), request.match_info["name"],
                                                  job_id, workdir=workdir)
    except StageError as exc:
        raise _as_http(exc) from None
    finally:
        await asyncio.to_thread(shutil.rmtree, workdir, True)
    return web.json_response({"target": request.match_info["name"], "current": info.to_dict()})


def _as_http(exc: StageError) -> errors.PressroomError:
    if exc.code in ("target_not_found", "release_not_found"):
        err = errors.NotFound(str(exc))
        err.code = exc.code
        return err
    err2 = errors.Conflict(str(exc))
    err2.code = exc.code
    return err2


def setup(app: web.Application) -> None:
    cfg = app[config_key]
    services = app[services_key]
    services["handlers"]["promote"] = handle_promote
    services["outbox"].append(lambda t: outbox(cfg, t))
    services["after_finish"].append(after_build)
    app.add_routes(routes)  # the sites themselves are served on their own origin (pipeline/sites.py)
    openapi.EXTRA_PATHS.update(OPENAPI_PATHS)


_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
OPENAPI_PATHS: dict[str, Any] = {
    "/api/reviews": {"get": {
        "operationId": "listReviews", "summary": "Builds waiting for approval, with diff preview links",
        "parameters": [{"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}}],
        "responses": {**openapi.ok("Pending reviews"), **openapi.err(400, 401, 403, 429)}}},
    "/api/builds/{job_id}/approve": {"post": {
        "operationId": "approveBuild", "summary": "Approve a pending review: creates a promote job (admin)",
        "parameters": [openapi.JOB_ID],
        "responses": {**openapi.ok("Approved; promote job created", status="202"), **openapi.err(401, 403, 404, 409, 429)}}},
    "/api/builds/{job_id}/reject": {"post": {
        "operationId": "rejectBuild", "summary": "Reject a pending review with a reason (admin)", "parameters": [openapi.JOB_ID],
        "requestBody": {"required": False, "content": {"application/json": {"schema": {
            "type": "object", "properties": {"reason": {"type": "string"}}}}}},
        "responses": {**openapi.ok("Rejected"), **openapi.err(400, 401, 403, 404, 409, 429)}}},
    "/api/targets/{name}/releases": {"get": {
        "operationId": "listReleases", "summary": "A target's releases, newest first", "parameters": [_NAME],
        "responses": {**openapi.ok("Releases"), **openapi.err(401, 403, 404, 429)}}},
    "/api/targets/{name}/rollback": {"post": {
        "operationId": "rollbackTarget", "summary": "Swap a target back to an earlier release (admin)",
        "parameters": [_NAME, {"name": "job_id", "in": "query", "required": False, "schema": {"type": "string"}}],
        "responses": {**openapi.ok("Rolled back"), **openapi.err(400, 401, 403, 404, 409, 429)}}},
}

