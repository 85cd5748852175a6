"""The daemon: ``create_app`` wires the parts; each long-lived part is a cleanup context.

Order matters and is the dependency order: store, process pool, worker, schedules. Cleanup runs
in reverse, and only for the parts that started (aiohttp's ``cleanup_ctx``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from pipeline import config as config_mod
from pipeline import docsite, handlers, maintenance, notifications, reviews, sites, supervise
from pipeline.api import auth, builds, system
from pipeline.api.keys import (
    auth_key,
    config_key,
    metrics_key,
    services_key,
    store_key,
    submitter_key,
    supervisor_key,
    worker_key,
)
from pipeline.api.middleware import error_middleware
from pipeline.dashboard import wiring as dashboard_wiring
from pipeline.intake import wiring as intake_wiring
from pipeline.intake.submitter import Submitter
from pipeline.metrics import Metrics
from pipeline.store import Store
from pipeline.worker import Handler, Worker
from stages import lifeline

logger = logging.getLogger(__name__)

PARTS: list[Callable[[web.Application], None]] = [
    docsite.setup,
    notifications.setup,
    reviews.setup,
    intake_wiring.setup,
    dashboard_wiring.setup,
]
"""Parts that plug routes, job kinds, outbox hooks and cleanup contexts into the app."""


def create_app(cfg: config_mod.Config, *, store: Store | None = None, run_worker: bool = True,
               worker_handlers: dict[str, Handler] | None = None) -> web.Application:
    """Build the application; no I/O happens until it starts."""
    app = web.Application(middlewares=[error_middleware], client_max_size=int(cfg.server.max_upload_mb * 2**20) + 1024)
    app[config_key] = cfg
    app[auth_key] = auth.Auth(cfg.server)
    app[metrics_key] = Metrics()
    app[supervisor_key] = supervise.Supervisor(on_restart=lambda part: app[metrics_key].part_restarts.labels(part).inc())
    app[worker_key] = None
    app[services_key] = {"handlers": dict(worker_handlers or handlers.default_handlers()), "outbox": [], "after_finish": []}
    app.add_routes(builds.routes)
    app.add_routes(system.routes)
    sites.setup(app)  # first: with sites_port = 0 it settles the config the later parts read
    app.cleanup_ctx.append(_store_ctx(store))
    for setup in PARTS:
        setup(app)
    app.cleanup_ctx.append(_pool_ctx)
    if run_worker:
        app.cleanup_ctx.append(_worker_ctx)
        app.cleanup_ctx.append(_schedules_ctx)
    return app


def _store_ctx(given: Store | None) -> Callable[[web.Application], Any]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        cfg = app[config_key]
        store = given or await Store.open(cfg.store_url, busy_timeout=cfg.store.busy_timeout)
        outboxes = app[services_key]["outbox"]
        if outboxes:
            store.outbox = lambda t: [spec for fn in outboxes for spec in fn(t)]
        app[store_key] = store
        app[submitter_key] = Submitter(store=store, config=cfg)
        yield
        if given is None:
            await store.close()

    return ctx


async def _pool_ctx(app: web.Application) -> AsyncIterator[None]:
    n = app[config_key].workers.processes
    pool = None
    if n > 0:
        # die_with_parent: the children exit when the daemon does, even on kill -9.
        pool = concurrent.futures.ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"),
                                                      initializer=lifeline.die_with_parent, initargs=(os.getpid(),))
        for _ in range(n):  # start the processes now, not on the first upload or build
            pool.submit(_warm)
    app[services_key]["executor"] = pool
    app[submitter_key].executor = pool
    yield
    if pool is not None:
        # The worker has stopped by now (cleanup runs in reverse): join the children so none
        # outlives the app.
        await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


def _warm() -> None:
    import pipeline.intake.submitter  # noqa: F401  (what an upload needs in the child)


async def _worker_ctx(app: web.Application) -> AsyncIterator[None]:
    cfg = app[config_key]
    worker = Worker(store=app[store_key], config=cfg, handlers=app[services_key]["handlers"],
                    executor=app[services_key].get("executor"), after_finish=app[services_key]["after_finish"],
                    metrics=app[metrics_key])
    app[worker_key] = worker
    supervisor = app[supervisor_key]
    supervisor.start("worker", worker.run, stop=worker.stop)
    yield
    await supervisor.stop("worker", grace=30)
    await worker.close()


async def _schedules_ctx(app: web.Application) -> AsyncIterator[None]:
    cfg = app[config_key]
    supervisor = app[supervisor_key]
    supervisor.start("retention-schedule", lambda: maintenance.schedule_loop(
        app[store_key], cfg.retention.interval_hours, cfg.workers.priorities.get("maintenance", 5)))
    yield
    await supervisor.stop("retention-schedule")
