"""Plugs the dashboard into the daemon: pages, fragments, the global event stream, static files."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web

from pipeline.api import openapi, sessions
from pipeline.dashboard import render, session, stream, views

STATIC = Path(__file__).parent / "static"


def setup(app: web.Application) -> None:
    app[render.env_key] = render.make_env()
    app[stream.closing_key] = asyncio.Event()
    app.on_shutdown.append(stream.close_streams)
    openapi.EXTRA_PATHS.update(stream.PATHS)
    openapi.EXTRA_PATHS.update(sessions.OPENAPI_PATHS)
    app.add_routes(sessions.routes)
    app.add_routes([
        web.get("/", views.builds_page, name="dashboard"),
        web.get("/builds", views.builds_page),
        web.get("/builds/{job_id}", views.detail_page),
        web.get("/builds/{job_id}/log.txt", views.log_tail),
        web.get("/reviews", views.reviews_page),
        web.get("/health", views.health_page),
        web.get("/fragments/rows", views.rows_fragment),
        web.get("/fragments/build/{job_id}", views.detail_fragment),
        web.get("/login", session.login_form),
        web.post("/login", session.login),
        web.post("/logout", session.logout),
        web.get("/api/events", stream.all_events),
        web.static("/static/dashboard", STATIC, append_version=True, name="dashboard_static"),
    ])
    static = app.router["dashboard_static"]
    app[render.env_key].globals["static"] = lambda path: str(static.url_for(filename=path))
