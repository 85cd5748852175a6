"""Liveness, metrics and the OpenAPI document (built per app when its routes are mounted)."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from pipeline import errors
from pipeline.api import openapi
from pipeline.api.keys import (
    config_key,
    metrics_key,
    openapi_key,
    store_key,
    supervisor_key,
    worker_key,
)
from pipeline.metrics import CONTENT_TYPE

routes = web.RouteTableDef()
PING_TIMEOUT = 1.0
"""Seconds /healthz waits for the store server before calling it unreachable (a SQLite file
locked by another program is reported after 20 ms)."""


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """200 only when the store takes writes and every supervised part runs; otherwise 503 and
    ``failing`` names what is down. Bounded: the store probe gives up after ``PING_TIMEOUT``."""
    started = time.perf_counter()
    store = request.app[store_key]
    try:
        await store.ping(PING_TIMEOUT)
        store_state = "ok"
    except errors.StoreUnavailable:
        store_state = "locked" if store.dialect == "sqlite" else "unreachable"
    except Exception:
        store_state = "unreachable"
    supervisor = request.app[supervisor_key]
    failing = ([] if store_state == "ok" else ["store"]) + supervisor.failing()
    worker = request.app[worker_key]
    body: dict[str, Any] = {
        "status": "degraded" if failing else "ok", "store": store_state, "failing": failing,
        "parts": supervisor.health(), "running_jobs": len(worker.running) if worker else 0,
        "worker_id": worker.id if worker else None,
        "check_ms": round((time.perf_counter() - started) * 1000, 2)}
    if store.locked_since is not None:
        body["store_locked_since"] = round(store.locked_since, 3)
    return web.json_response(body, status=503 if failing else 200)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    m = request.app[metrics_key]
    worker = request.app[worker_key]
    await m.refresh(request.app[store_key], request.app[config_key].data_path, len(worker.running) if worker else 0)
    return web.Response(body=m.render(), headers={"Content-Type": CONTENT_TYPE})


@routes.get("/api/openapi.json")
async def openapi_doc(request: web.Request) -> web.Response:
    return web.json_response(request.app[openapi_key])


OPENAPI_PATHS: dict[str, Any] = {
    "/healthz": {"get": {"operationId": "healthz", "summary": "Liveness", "security": [],
                         "responses": {"200": {"description": "Healthy", "content": {"application/json": {"schema": {"type": "object"}}}},
                                       "503": {"description": "Store locked or unreachable, or a supervised part down (`failing` names them)",
                                               "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    "/metrics": {"get": {"operationId": "metrics", "summary": "Prometheus metrics", "security": [],
                         "responses": openapi.ok("Prometheus text format", content_type="text/plain")}},
    "/api/openapi.json": {"get": {"operationId": "openapi", "summary": "This document", "security": [],
                                  "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
}
