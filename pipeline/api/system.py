"""Liveness, metrics and the OpenAPI document."""

from __future__ import annotations

import time

from aiohttp import web

from pipeline.api import openapi
from pipeline.api.keys import config_key, metrics_key, store_key, worker_key
from pipeline.metrics import CONTENT_TYPE

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    started = time.perf_counter()
    store_ok = True
    try:
        await request.app[store_key].ping()
    except Exception:
        store_ok = False
    worker = request.app[worker_key]
    body = {"status": "ok" if store_ok else "degraded", "store": "ok" if store_ok else "unreachable",
            "running_jobs": len(worker.running) if worker else 0,
            "worker_id": worker.id if worker else None,
            "check_ms": round((time.perf_counter() - started) * 1000, 2)}
    return web.json_response(body, status=200 if store_ok else 503)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    m = request.app[metrics_key]
    worker = request.app[worker_key]
    await m.refresh(request.app[store_key], request.app[config_key].data_path, len(worker.running) if worker else 0)
    return web.Response(body=m.render(), headers={"Content-Type": CONTENT_TYPE})


@routes.get("/api/openapi.json")
async def openapi_doc(request: web.Request) -> web.Response:
    return web.json_response(openapi.document())
