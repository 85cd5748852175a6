"""``GET /api/events``: every job's events as one Server-Sent Events stream (the builds page).

The stream resumes from ``Last-Event-ID`` (or ``?after=``), so a page rendered at event N and a
browser that reconnects both miss nothing. Writes by this process wake it at once; writes by other
daemons (PostgreSQL, or a separate worker process on the same SQLite file) are found by a short
poll, which is one indexed read of the events table.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from aiohttp import web

from pipeline.api.auth import require
from pipeline.api.http import sse_frame
from pipeline.api.keys import store_key

logger = logging.getLogger(__name__)

POLL_SECONDS = 2.0
KEEPALIVE_SECONDS = 15.0

closing_key: web.AppKey[asyncio.Event] = web.AppKey("dashboard_streams_closing")
"""Set on shutdown so open streams end at once instead of holding the server open."""

OPENAPI_PATHS: dict[str, Any] = {
    "/api/events": {"get": {
        "operationId": "streamAllEvents",
        "summary": "Server-Sent Events of all jobs (transitions and progress), resumable with Last-Event-ID",
        "parameters": [{"name": "after", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0}},
                       {"name": "Last-Event-ID", "in": "header", "required": False, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "An event stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                      "401": {"description": "Missing or invalid token"}, "403": {"description": "Token lacks the scope"},
                      "429": {"description": "Rate limited (see Retry-After)"}},
    }},
}


def _start_id(request: web.Request) -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.query.get("after")
    if raw is None:
        return None
    try:
        return max(0, int(raw))
    except ValueError:
        return None


async def all_events(request: web.Request) -> web.StreamResponse:
    await require(request, "read")
    store = request.app[store_key]
    closing = request.app[closing_key]
    last = _start_id(request)
    if last is None:
        last = await store.last_event_id()
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                       "X-Accel-Buffering": "no"})
    await resp.prepare(request)
    idle = 0.0
    try:
        await resp.write(b"retry: 2000\n\n")
        while not closing.is_set():
            batch = await store.events_since(last)
            for ev in batch:
                last = ev["id"]
                await resp.write(sse_frame(ev))
            if batch:
                idle = 0.0
                continue
            waited = await _wait(store.wait_changed(POLL_SECONDS), closing)
            if not waited:
                idle += POLL_SECONDS
                if idle >= KEEPALIVE_SECONDS:
                    idle = 0.0
                    await resp.write(b": keep-alive\n\n")
    except (ConnectionResetError, ConnectionError):
        logger.debug("event stream closed by the client")
    return resp


async def _wait(changed: Coroutine[Any, Any, bool], closing: asyncio.Event) -> bool:
    """Wait for a store change, or for shutdown; True when something changed."""
    change = asyncio.ensure_future(changed)
    stop = asyncio.ensure_future(closing.wait())
    try:
        done, _ = await asyncio.wait({change, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (change, stop):
            if not t.done():
                t.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await t
    return change in done and bool(change.result())


async def close_streams(app: web.Application) -> None:
    app[closing_key].set()
