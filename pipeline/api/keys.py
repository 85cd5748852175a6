"""Typed application keys: the one place that says what lives on the aiohttp app."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from pipeline.api.auth import Auth
    from pipeline.config import Config
    from pipeline.intake.submitter import Submitter
    from pipeline.metrics import Metrics
    from pipeline.store import Store
    from pipeline.supervise import Supervisor
    from pipeline.worker import Worker

config_key: web.AppKey[Config] = web.AppKey("config")
store_key: web.AppKey[Store] = web.AppKey("store")
submitter_key: web.AppKey[Submitter] = web.AppKey("submitter")
auth_key: web.AppKey[Auth] = web.AppKey("auth")
metrics_key: web.AppKey[Metrics] = web.AppKey("metrics")
worker_key: web.AppKey[Worker | None] = web.AppKey("worker")
supervisor_key: web.AppKey[Supervisor] = web.AppKey("supervisor")
"""The daemon's long-running tasks (worker, watchers, schedules), restarted when they fail."""
services_key: web.AppKey[dict[str, Any]] = web.AppKey("services")
"""Optional collaborators added by later parts (notifier, watcher, scheduler) by name."""
