"""Typed application keys: the one place that says what lives on the aiohttp app."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from pipeline.api.auth import Auth
    from pipeline.app import Services
    from pipeline.config import Config
    from pipeline.intake.folders import FolderWatcher
    from pipeline.intake.submitter import Submitter
    from pipeline.jobs.worker import Worker
    from pipeline.metrics import Metrics
    from pipeline.store import Store
    from pipeline.supervise import Supervisor

config_key: web.AppKey[Config] = web.AppKey("config")
store_key: web.AppKey[Store] = web.AppKey("store")
submitter_key: web.AppKey[Submitter] = web.AppKey("submitter")
auth_key: web.AppKey[Auth] = web.AppKey("auth")
metrics_key: web.AppKey[Metrics] = web.AppKey("metrics")
worker_key: web.AppKey[Worker | None] = web.AppKey("worker")
openapi_key: web.AppKey[dict[str, Any]] = web.AppKey("openapi")
"""The OpenAPI document of the routes mounted on this app (``api/routes.py``)."""
supervisor_key: web.AppKey[Supervisor] = web.AppKey("supervisor")
"""The daemon's long-running tasks (worker, watchers, schedules), restarted when they fail."""
services_key: web.AppKey[Services] = web.AppKey("services")
"""Store, process pool, submitter and HTTP session, built in that order when the app starts."""
watchers_key: web.AppKey[list[FolderWatcher]] = web.AppKey("watchers")
"""The drop-folder watchers, set when they start (absent with no ``[intake] watch``)."""
webhook_lock_key: web.AppKey[asyncio.Lock] = web.AppKey("webhook_lock")
"""Held while a push webhook's delivery ID is checked and recorded (replays are refused)."""
