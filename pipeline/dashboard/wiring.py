"""How the dashboard plugs into the daemon: its route table (pages, fragments, sign-in, the global
event stream, static files), which ``api/routes.py`` mounts with the rest of the API origin, and
:func:`setup`, the app state its handlers read."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web

from pipeline.dashboard import auditpage, previewspage, render, session, stream, translations, views

STATIC = Path(__file__).parent / "static"

routes: list[web.AbstractRouteDef] = [
    web.get("/", views.builds_page, name="dashboard"),
    web.get("/builds", views.builds_page),
    web.get("/builds/{job_id}", views.detail_page),
    web.get("/builds/{job_id}/log.txt", views.log_tail),
    web.get("/reviews", views.reviews_page),
    web.get("/health", views.health_page),
    web.get("/audits", auditpage.audits_page),
    web.get("/previews", previewspage.previews_page),
    web.get("/languages", translations.languages_page),
    web.get("/fragments/rows", views.rows_fragment),
    web.get("/fragments/build/{job_id}", views.detail_fragment),
    web.get("/login", session.login_form),
    web.post("/login", session.login),
    web.post("/logout", session.logout),
    web.get("/api/events", stream.all_events),
    web.static("/static/dashboard", STATIC, append_version=True, name="dashboard_static"),
]

OPENAPI_PATHS = stream.OPENAPI_PATHS
"""Of the dashboard's routes, only the event stream is API (the pages are for browsers)."""


def setup(app: web.Application) -> None:
    """The templates, and the event that ends open event streams when the daemon shuts down."""
    app[render.env_key] = render.make_env()
    app[stream.closing_key] = asyncio.Event()
    app.on_shutdown.append(stream.close_streams)
    # Looked up when a page renders: the static route is mounted with the others, after this.
    app[render.env_key].globals["static"] = lambda path: str(
        app.router["dashboard_static"].url_for(filename=path))
