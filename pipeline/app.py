"""The daemon: ``create_app`` wires the parts; each long-lived part is a cleanup context.

Order matters and is the dependency order: the shared services (store, process pool, submitter,
HTTP session, built in that order into one :class:`Services`), then the worker, then the
schedules. Cleanup runs in reverse, and only for the parts that started (aiohttp's
``cleanup_ctx``): the worker stops before the pool is joined and the store closed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from pipeline import config as config_mod
from pipeline import supervise
from pipeline.api import auth, routes, sites
from pipeline.api.http import harden
from pipeline.api.keys import (
    auth_key,
    config_key,
    metrics_key,
    services_key,
    store_key,
    submitter_key,
    supervisor_key,
    webhook_lock_key,
    worker_key,
)
from pipeline.api.middleware import error_middleware
from pipeline.dashboard import wiring as dashboard_wiring
from pipeline.intake import wiring as intake_wiring
from pipeline.intake.submitter import Submitter
from pipeline.jobs import kinds, retention, schedule
from pipeline.jobs.context import Handler
from pipeline.jobs.worker import Worker
from pipeline.metrics import Metrics
from pipeline.store import Store
from stages import lifeline

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    """What the daemon's parts share, built once at start in dependency order."""

    store: Store
    pool: concurrent.futures.Executor | None
    """``[workers] processes`` children for CPU-heavy work (uploads, stages); None with 0."""
    submitter: Submitter
    http: aiohttp.ClientSession
    """Outgoing HTTP (notification channels), closed after the worker has stopped."""


def create_app(cfg: config_mod.Config, *, store: Store | None = None, run_worker: bool = True,
               worker_handlers: Mapping[str, Handler] | None = None) -> web.Application:
    """Build the application; no I/O happens until it starts.

    ``store``: use this open store as it is (its own outbox; the caller closes it) instead of
    opening ``[store] url`` with the job kinds' outbox. ``worker_handlers``: the job kind ->
    handler table, :data:`pipeline.jobs.kinds.HANDLERS` unless a test gives its own.
    """
    app = web.Application(middlewares=[error_middleware], client_max_size=int(cfg.server.max_upload_mb * 2**20) + 1024)
    app[config_key] = cfg
    app[auth_key] = auth.Auth(cfg.server)
    app[metrics_key] = Metrics()
    app[supervisor_key] = supervise.Supervisor(on_restart=lambda part: app[metrics_key].part_restarts.labels(part).inc())
    app[worker_key] = None
    app[webhook_lock_key] = asyncio.Lock()
    dashboard_wiring.setup(app)
    routes.mount(app)
    app.on_response_prepare.append(harden)
    app.cleanup_ctx.append(sites.sites_ctx)  # first: with sites_port = 0 it settles the config the later parts read
    app.cleanup_ctx.append(_services_ctx(store))
    app.cleanup_ctx.append(intake_wiring.watchers_ctx)
    if run_worker:
        app.cleanup_ctx.append(_worker_ctx(worker_handlers or kinds.HANDLERS))
        app.cleanup_ctx.append(_schedules_ctx)
    return app


def _services_ctx(given: Store | None) -> Callable[[web.Application], Any]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        cfg = app[config_key]
        async with contextlib.AsyncExitStack() as stack:
            store = given
            if store is None:
                store = await Store.open(cfg.store_url, busy_timeout=cfg.store.busy_timeout, outbox=kinds.outbox(cfg))
                stack.push_async_callback(store.close)
            pool = _start_pool(cfg.workers.processes)
            if pool is not None:
                # Runs after the worker has stopped (cleanup is in reverse): join the children so
                # none outlives the app.
                stack.push_async_callback(asyncio.to_thread, pool.shutdown, wait=True, cancel_futures=True)
            submitter = Submitter(store=store, config=cfg, executor=pool)
            http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
            stack.push_async_callback(_close_quietly, http)
            app[services_key] = Services(store=store, pool=pool, submitter=submitter, http=http)
            app[store_key] = store
            app[submitter_key] = submitter
            yield

    return ctx


def _start_pool(n: int) -> concurrent.futures.ProcessPoolExecutor | None:
    if n <= 0:
        return None
    # die_with_parent: the children exit when the daemon does, even on kill -9.
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"),
                                                  initializer=lifeline.die_with_parent, initargs=(os.getpid(),))
    for _ in range(n):  # start the processes now, not on the first upload or build
        pool.submit(_warm)
    return pool


async def _close_quietly(http: aiohttp.ClientSession) -> None:
    with contextlib.suppress(Exception):
        await http.close()


def _warm() -> None:
    import pipeline.intake.submitter  # noqa: F401  (what an upload needs in the child)


def _worker_ctx(handlers: Mapping[str, Handler]) -> Callable[[web.Application], Any]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        services = app[services_key]
        worker = Worker(store=services.store, config=app[config_key], handlers=handlers, executor=services.pool,
                        http=services.http, after_finish=list(kinds.AFTER_FINISH), metrics=app[metrics_key])
        app[worker_key] = worker
        supervisor = app[supervisor_key]
        supervisor.start("worker", worker.run, stop=worker.stop)
        yield
        await supervisor.stop("worker", grace=30)
        await worker.close()

    return ctx


async def _schedules_ctx(app: web.Application) -> AsyncIterator[None]:
    cfg = app[config_key]
    supervisor = app[supervisor_key]
    supervisor.start("retention-schedule", lambda: retention.schedule_loop(
        app[store_key], cfg.retention.interval_hours, cfg.workers.priorities.get("maintenance", 5)))
    if cfg.audit.enabled:
        supervisor.start("audit-schedule", lambda: schedule.schedule_loop(app[store_key], cfg))
    yield
    if cfg.audit.enabled:
        await supervisor.stop("audit-schedule")
    await supervisor.stop("retention-schedule")
