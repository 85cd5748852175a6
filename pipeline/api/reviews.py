"""The review routes: pending reviews, approve and reject, a target's releases and rollback.

Review state itself (what a review record holds, the promote job an approval creates) is
:mod:`pipeline.jobs.reviews`; the deployed sites are served on their own origin
(:mod:`pipeline.api.sites`), never here.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from pipeline import config as config_mod
from pipeline import errors
from pipeline.api import http, openapi
from pipeline.api.auth import require
from pipeline.api.keys import config_key, store_key
from pipeline.jobs import reviews, status, translation_reviews
from pipeline.store import Job
from stages.base import StageError
from stages.deploy import targets

routes = web.RouteTableDef()


def _deploy_opts(request: web.Request) -> Any:
    return request.app[config_key].stages.deploy


def _sites(request: web.Request) -> Path:
    return request.app[config_key].data_path / "sites"


@routes.get("/api/reviews")
async def list_reviews(request: web.Request) -> web.Response:
    await require(request, "read")
    jobs, nxt = await request.app[store_key].list_jobs(kind="build,translate", review=reviews.PENDING, limit=100,
                                                       cursor=request.query.get("cursor"))
    return web.json_response({"reviews": [review_view(j) for j in jobs], "next": nxt})


def review_view(job: Job) -> dict[str, Any]:
    view = status.job_view(job)
    review = dict(view.get("review") or {})
    view["review"] = review
    return view


@routes.post("/api/builds/{job_id}/approve")
async def approve(request: web.Request) -> web.Response:
    who = await require(request, "admin")
    store = request.app[store_key]
    cfg = request.app[config_key]
    job_id = request.match_info["job_id"]
    job = await store.get(job_id)
    if job.kind == "translate":  # a held language is laid onto the live site, never copied over it
        return await _approve_translation(request, job, who.name)
    pending = (job.result or {}).get("review") or {}
    if pending.get("state") == reviews.PENDING and not await asyncio.to_thread(_release_exists, cfg, pending):
        # Retention ([stages.deploy.targets.*] keep_releases) removed it: a promote job could only fail.
        raise errors.ReleaseGone(f"release {reviews.release_id(pending.get('release'))} of job {job_id} is no longer on "
                                 f"target {pending.get('release_target') or cfg.stages.deploy.target} (pruned by "
                                 "keep_releases); rebuild and review the new build")
    decided = {"state": "approved", "decided_by": who.name, "decided_at": status.iso(time.time())}
    done = await store.update_result(job_id, lambda r: {"review": {**r["review"], **decided}},
                                     expect=lambda r: (r.get("review") or {}).get("state") == reviews.PENDING)
    if done is None:
        raise errors.NotAwaitingReview(f"job {job_id} is not waiting for review")
    review = (done.result or {})["review"]
    res = await store.submit(reviews.promote_spec(cfg, done, review["target"], review["release"], who.name,
                                          review.get("release_target")))
    await store.update_result(job_id, {"review": {**review, "promote_job": res.job.id}})
    return web.json_response({"job_id": job_id, "review": {**review, "promote_job": res.job.id},
                              "promote_job": res.job.id, "status_url": f"/api/builds/{res.job.id}/status"}, status=202)


async def _translation_job(request: web.Request) -> tuple[str, Job]:
    """The admin's name and the translate job in the URL (any other kind of job is not found)."""
    who = await require(request, "admin")
    job = await request.app[store_key].get(request.match_info["job_id"])
    if job.kind != "translate":
        raise errors.JobNotFound(f"{job.id} is not a translation job")
    return who.name, job


@routes.post("/api/translations/{job_id}/approve")
async def approve_translation(request: web.Request) -> web.Response:
    by, job = await _translation_job(request)
    return await _approve_translation(request, job, by)


async def _approve_translation(request: web.Request, job: Job, by: str) -> web.Response:
    """Pending -> approved (compare-and-set), then the promote job that publishes ``/<lang>/``."""
    store = request.app[store_key]
    cfg = request.app[config_key]
    pending = (job.result or {}).get("review") or {}
    if pending.get("state") == reviews.PENDING and not await asyncio.to_thread(translation_reviews.held_exists, cfg, pending):
        raise errors.ReleaseGone(f"the held {pending.get('language')} release of job {job.id} is no longer on target "
                                 f"{pending.get('release_target')} (a newer run replaced it); approve the newer run")
    decided = {"state": "approved", "decided_by": by, "decided_at": status.iso(time.time())}
    done = await store.update_result(job.id, lambda r: {"review": {**r["review"], **decided}},
                                     expect=lambda r: (r.get("review") or {}).get("state") == reviews.PENDING)
    if done is None:
        raise errors.NotAwaitingReview(f"translation {job.id} is not waiting for review")
    review = (done.result or {})["review"]
    res = await store.submit(translation_reviews.publish_spec(cfg, done, review, by))
    await store.update_result(job.id, {"review": {**review, "promote_job": res.job.id}})
    return web.json_response({"job_id": job.id, "language": review.get("language"),
                              "review": {**review, "promote_job": res.job.id}, "promote_job": res.job.id,
                              "status_url": f"/api/builds/{res.job.id}/status"}, status=202)


@routes.post("/api/translations/{job_id}/reject")
async def reject_translation(request: web.Request) -> web.StreamResponse:
    by, _job = await _translation_job(request)
    return await _reject(request, by)


def _release_exists(cfg: config_mod.Config, review: dict[str, Any]) -> bool:
    if not review.get("release"):
        return False
    try:
        return reviews.release_dir(cfg, review.get("release_target"), str(review["release"])).is_dir()
    except StageError:  # the target is no longer configured
        return False


@routes.post("/api/builds/{job_id}/reject")
async def reject(request: web.Request) -> web.Response:
    who = await require(request, "admin")
    return await _reject(request, who.name)


async def _reject(request: web.Request, by: str) -> web.Response:
    """Pending -> rejected (compare-and-set) with the body's ``reason``."""
    reason = ""
    if request.can_read_body:
        body = http.parse_json(await request.read())
        reason = str((body or {}).get("reason", "")) if isinstance(body, dict) else ""
    store = request.app[store_key]
    job_id = request.match_info["job_id"]
    decided = {"state": "rejected", "reason": reason[:2000], "decided_by": by, "decided_at": status.iso(time.time())}
    done = await store.update_result(job_id, lambda r: {"review": {**r["review"], **decided}},
                                     expect=lambda r: (r.get("review") or {}).get("state") == reviews.PENDING)
    if done is None:
        raise errors.NotAwaitingReview(f"job {job_id} is not waiting for review")
    return web.json_response({"job_id": job_id, "review": (done.result or {})["review"]})


@routes.get("/api/targets/{name}/releases")
async def releases(request: web.Request) -> web.Response:
    await require(request, "read")
    try:
        infos = await asyncio.to_thread(targets.releases, _deploy_opts(request), _sites(request), request.match_info["name"])
    except StageError as exc:
        raise _as_http(exc) from None
    return web.json_response({"target": request.match_info["name"], "releases": [i.to_dict() for i in infos]})


@routes.post("/api/targets/{name}/rollback")
async def rollback(request: web.Request) -> web.Response:
    await require(request, "admin")
    job_id = request.query.get("job_id")
    if request.can_read_body and request.content_type == "application/json":
        body = http.parse_json(await request.read())
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


_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
OPENAPI_PATHS: dict[str, Any] = {
    "/api/reviews": {"get": {
        "operationId": "listReviews",
        "summary": "Builds and translations (review.kind = translation) waiting for approval, with diff preview links",
        "parameters": [{"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}}],
        "responses": {**openapi.ok("Pending reviews"), **openapi.err(400, 401, 403, 429)}}},
    "/api/builds/{job_id}/approve": {"post": {
        "operationId": "approveBuild", "summary": "Approve a pending review: creates a promote job (admin)",
        "parameters": [openapi.JOB_ID],
        "responses": {**openapi.ok("Approved; promote job created", status="202"), **openapi.err(401, 403, 404, 409, 429)}}},
    "/api/translations/{job_id}/approve": {"post": {
        "operationId": "approveTranslation",
        "summary": "Approve a held language: a promote job lays its /<lang>/ onto the live site (admin)",
        "parameters": [openapi.JOB_ID],
        "responses": {**openapi.ok("Approved; promote job created", status="202"), **openapi.err(401, 403, 404, 409, 429)}}},
    "/api/translations/{job_id}/reject": {"post": {
        "operationId": "rejectTranslation", "summary": "Reject a held language with a reason (admin)",
        "parameters": [openapi.JOB_ID],
        "requestBody": {"required": False, "content": {"application/json": {"schema": {
            "type": "object", "properties": {"reason": {"type": "string"}}}}}},
        "responses": {**openapi.ok("Rejected"), **openapi.err(400, 401, 403, 404, 409, 429)}}},
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
