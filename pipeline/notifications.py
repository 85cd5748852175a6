"""Wires ``pipeline.notify`` into the daemon: the outbox, the ``deliver`` job kind, replay routes.

A job's terminal transition runs :func:`outbox` inside the store's transaction, so every planned
delivery is stored together with the event that caused it (a crash can lose neither alone). Each
delivery is a ``deliver`` job: retried with backoff by the worker, dead-lettered after the last
attempt or at once on a permanent error, and replayable from the API, the CLI and the dashboard.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from pipeline import config as config_mod
from pipeline import status
from pipeline.api import openapi
from pipeline.api.keys import config_key, services_key, store_key
from pipeline.notify import backoff, deliver, errors, router, schemas
from pipeline.outcome import Outcome
from pipeline.store import Job, JobSpec, Store, Transition
from pipeline.workspace import Workspace

if TYPE_CHECKING:
    from pipeline.worker import Running, Worker

logger = logging.getLogger(__name__)
NOTIFYING_KINDS = frozenset({"build", "translate", "audit", "promote"})
LOG_TAIL = 20


class StoreRefs:
    """The notify package's RefStore on the job store's ``refs`` table."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, key: str) -> str | None:
        return await self.store.ref_get(key)

    async def set(self, key: str, value: str) -> None:
        await self.store.ref_set(key, value)


def channels_enabled(cfg: config_mod.Config) -> bool:
    n = cfg.notify
    return bool(n.slack.enabled or n.email.enabled or n.webhooks)


def log_tail(cfg: config_mod.Config, job_id: str, lines: int = LOG_TAIL) -> list[str]:
    path = Workspace.for_job(cfg.data_path, job_id).log
    try:
        with path.open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - 16384))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]


def outbox(cfg: config_mod.Config, t: Transition) -> list[JobSpec]:
    """Plan deliveries for a transition (pure apart from reading the job's log tail)."""
    if t.job.kind not in NOTIFYING_KINDS or not channels_enabled(cfg):
        return []
    event: dict[str, Any] = {"type": t.event, "job": status.job_view(t.job, t.stages),
                             "previous_status": t.previous_status, **(t.extra or {})}
    if t.event.endswith((".failed", ".completed", ".cancelled")):
        event["log_tail"] = log_tail(cfg, t.job.id)
    try:
        planned = router.plan_deliveries(event, cfg)
    except errors.RouteError:
        logger.exception("notification routing failed for %s %s", t.job.id, t.event)
        return []
    priority = cfg.workers.priorities.get("deliver", 60)
    return [JobSpec(kind="deliver", idempotency_key=d["idempotency_key"], payload=d, priority=priority,
                    max_attempts=cfg.notify.max_attempts,
                    trigger={"kind": "event", "job_id": t.job.id, "event": d.get("event", t.event)})
            for d in planned]


async def handle_deliver(job: Job, running: Running, worker: Worker, *, http: aiohttp.ClientSession | None = None) -> Outcome:
    cfg = worker.config
    delivery = dict(job.payload or {})
    try:
        result = await deliver.send(delivery, config=cfg, refs=StoreRefs(worker.store), http=http)
    except errors.PermanentDeliveryError as exc:
        return Outcome.failed(exc.code, exc.message, result={"delivery_error": exc.as_dict()}, dead=True)
    except errors.TransientDeliveryError as exc:
        delay = backoff.next_delay(job.attempt, cfg.notify.backoff_base, exc.retry_after, cap=cfg.notify.backoff_max)
        return Outcome.retry("delivery_failed", exc.message, delay=delay)
    except Exception as exc:  # a bug in a channel: retry, and in the end dead-letter with the error shown
        logger.exception("delivery %s crashed", job.id)
        delay = backoff.next_delay(job.attempt, cfg.notify.backoff_base, None, cap=cfg.notify.backoff_max)
        return Outcome.retry("delivery_failed", f"{type(exc).__name__}: {exc}", delay=delay)
    return Outcome.completed(result)


routes = web.RouteTableDef()


@routes.get("/api/deliveries")
async def list_deliveries(request: web.Request) -> web.Response:
    from pipeline.api.builds import require

    await require(request, "admin")  # targets are people's addresses and channels; the docs say admin
    dead = request.query.get("dead", "").lower() == "true"
    jobs, nxt = await request.app[store_key].list_jobs(kind="deliver", dead=True if dead else None,
                                                       status="FAILED" if dead else request.query.get("status"),
                                                       limit=100, cursor=request.query.get("cursor"))
    return web.json_response({"deliveries": [delivery_view(j) for j in jobs], "next": nxt})


@routes.post("/api/deliveries/{job_id}/retry")
async def replay_one(request: web.Request) -> web.Response:
    from pipeline.api.builds import require

    await require(request, "admin")
    job = await request.app[store_key].retry(request.match_info["job_id"])
    return web.json_response(delivery_view(job), status=202)


@routes.post("/api/deliveries/retry-dead")
async def replay_all(request: web.Request) -> web.Response:
    from pipeline.api.builds import require

    await require(request, "admin")
    replayed = await replay_dead(request.app[store_key])
    return web.json_response({"replayed": replayed}, status=202)


async def replay_dead(store: Store) -> list[str]:
    replayed: list[str] = []
    cursor = None
    while True:
        jobs, cursor = await store.list_jobs(kind="deliver", status="FAILED", dead=True, limit=200, cursor=cursor)
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
                        "error": (job.result or {}).get("delivery_error"), "result": job.result if job.status == "COMPLETED" else None}
    return view


def setup(app: web.Application) -> None:
    cfg = app[config_key]
    services = app[services_key]
    services["outbox"].append(functools.partial(outbox, cfg))
    app.add_routes(routes)
    openapi.WEBHOOKS.update(schemas.openapi_webhooks())
    openapi.EXTRA_PATHS.update(OPENAPI_PATHS)

    async def http_ctx(app: web.Application) -> AsyncIterator[None]:
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        services["handlers"]["deliver"] = functools.partial(handle_deliver, http=session)
        yield
        with contextlib.suppress(Exception):
            await session.close()

    services["handlers"]["deliver"] = handle_deliver
    app.cleanup_ctx.append(http_ctx)


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

