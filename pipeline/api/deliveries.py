"""The deliveries routes: notification deliveries, dead letters and their replay (admin).

A delivery is a ``deliver`` job (:mod:`pipeline.jobs.deliver`), planned by the notification
outbox (:mod:`pipeline.notify.outbox`); replaying one is retrying that job.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from pipeline.api import openapi
from pipeline.api.auth import require
from pipeline.api.keys import store_key
from pipeline.jobs import status
from pipeline.notify import schemas
from pipeline.store import Job, JobStatus, Store

routes = web.RouteTableDef()


@routes.get("/api/deliveries")
async def list_deliveries(request: web.Request) -> web.Response:
    await require(request, "admin")  # targets are people's addresses and channels; the docs say admin
    dead = request.query.get("dead", "").lower() == "true"
    jobs, nxt = await request.app[store_key].list_jobs(kind="deliver", dead=True if dead else None,
                                                       status=JobStatus.FAILED if dead else request.query.get("status"),
                                                       limit=100, cursor=request.query.get("cursor"))
    return web.json_response({"deliveries": [delivery_view(j) for j in jobs], "next": nxt})


@routes.post("/api/deliveries/{job_id}/retry")
async def replay_one(request: web.Request) -> web.Response:
    await require(request, "admin")
    job = await request.app[store_key].retry(request.match_info["job_id"])
    return web.json_response(delivery_view(job), status=202)


@routes.post("/api/deliveries/retry-dead")
async def replay_all(request: web.Request) -> web.Response:
    await require(request, "admin")
    replayed = await replay_dead(request.app[store_key])
    return web.json_response({"replayed": replayed}, status=202)


async def replay_dead(store: Store) -> list[str]:
    replayed: list[str] = []
    cursor = None
    while True:
        jobs, cursor = await store.list_jobs(kind="deliver", status=JobStatus.FAILED, dead=True, limit=200, cursor=cursor)
        for job in jobs:
            await store.retry(job.id)
            replayed.append(job.id)
        if cursor is None:
            return replayed


def delivery_view(job: Job) -> dict[str, Any]:
    view = status.job_view(job)
    payload = job.payload or {}
    view["delivery"] = {"channel": payload.get("channel"), "target": payload.get("target"), "event": payload.get("event"),
                        "thread_key": payload.get("thread_key"), "idempotency_key": payload.get("idempotency_key"),
                        "error": (job.result or {}).get("delivery_error"), "result": job.result if job.status == JobStatus.COMPLETED else None}
    return view


OPENAPI_PATHS: dict[str, Any] = {
    "/api/deliveries": {"get": {
        "operationId": "listDeliveries", "summary": "Notification deliveries (dead letters with dead=true)",
        "parameters": [{"name": "dead", "in": "query", "required": False, "schema": {"enum": ["true", "false"]}},
                       {"name": "status", "in": "query", "required": False, "schema": {"type": "string"}},
                       {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}}],
        "responses": {**openapi.ok("Deliveries"), **openapi.err(400, 401, 403, 429)}}},
    "/api/deliveries/{job_id}/retry": {"post": {
        "operationId": "replayDelivery", "summary": "Replay one delivery", "parameters": [openapi.JOB_ID],
        "responses": {**openapi.ok("Re-queued", status="202"), **openapi.err(401, 403, 404, 409, 429)}}},
    "/api/deliveries/retry-dead": {"post": {
        "operationId": "replayDeadDeliveries", "summary": "Replay every dead-lettered delivery",
        "responses": {**openapi.ok("Re-queued", status="202"), **openapi.err(401, 403, 429)}}},
}

OPENAPI_WEBHOOKS: dict[str, Any] = schemas.openapi_webhooks()
"""The outgoing webhooks' payloads, for the OpenAPI document's ``webhooks`` section."""
