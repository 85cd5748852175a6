"""What every intake channel does around ``Submitter``: branch filter, replay memory, the answer.

The webhook routes and the commit route share these so a job looks the same whichever channel
made it: the same response body as ``POST /api/builds``, the same cancel fast-path for the jobs a
newer trigger superseded.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import time
from typing import Any

from aiohttp import web

from pipeline.api.keys import services_key, store_key, worker_key
from pipeline.store.model import SubmitResult

DELIVERY_PREFIX = "intake:delivery:"
MESSAGE_LIMIT = 2000


def branch_allowed(patterns: list[str], branch: str) -> bool:
    """``[intake] branches`` entries are names or globs (``release/*``)."""
    return any(fnmatch.fnmatchcase(branch, p) for p in patterns)


def clip(text: Any, limit: int = MESSAGE_LIMIT) -> str | None:
    """Commit messages go into the trigger, which every status response carries: keep them short."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def after_submit(app: web.Application, result: SubmitResult) -> dict[str, Any]:
    """Cancel what the new job superseded (fast path) and build the ``202`` body."""
    worker = app[worker_key]
    if worker is not None:
        for old in result.superseded:
            worker.request_cancel(old)
    job = result.job
    return {"job_id": job.id, "status": job.status, "status_url": f"/api/builds/{job.id}/status",
            "events_url": f"/api/builds/{job.id}/events", "log_url": f"/api/builds/{job.id}/log",
            "read_token": job.read_token, "duplicate": not result.created, "superseded": result.superseded,
            "ignored": False}


def ignored(reason: str, **extra: Any) -> web.Response:
    return web.json_response({"ignored": True, "reason": reason, **extra}, status=202)


def accepted(app: web.Application, result: SubmitResult) -> web.Response:
    body = after_submit(app, result)
    return web.json_response(body, status=202, headers={"Location": body["status_url"]})


def _lock(app: web.Application) -> asyncio.Lock:
    services = app[services_key]
    lock = services.get("intake_delivery_lock")
    if lock is None:
        lock = services["intake_delivery_lock"] = asyncio.Lock()
    return lock  # type: ignore[no-any-return]


async def claim_delivery(app: web.Application, provider: str, delivery_id: str) -> bool:
    """Record a verified delivery ID; False when it was seen before (a replay).

    The check and the record happen under one lock so two copies of a delivery arriving together
    cannot both pass. Across daemons the content id (tree hash) still folds duplicates into one job.
    """
    store = app[store_key]
    key = f"{DELIVERY_PREFIX}{provider}:{delivery_id}"[:300]
    async with _lock(app):
        if await store.ref_get(key) is not None:
            return False
        await store.ref_set(key, json.dumps({"at": time.time()}))
    return True


async def note_delivery(app: web.Application, provider: str, delivery_id: str, **info: Any) -> None:
    """Remember what a delivery did (the job it made, or why it was ignored) for support questions."""
    key = f"{DELIVERY_PREFIX}{provider}:{delivery_id}"[:300]
    await app[store_key].ref_set(key, json.dumps({"at": time.time(), **info}))
