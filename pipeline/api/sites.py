"""The sites origin: deployed sites get their own listener, never the dashboard's origin.

A page is written by whoever holds a ``submit`` token (or can commit to a watched branch), and it
may carry raw HTML and scripts. Served on the dashboard's origin, such a script runs with the
reviewing admin's cookie: it can read the dashboard's CSRF token and act as the admin. So, as
Read the Docs and GitHub do, user content lives on another origin (``[server] sites_port``, or
``sites_base_url`` behind a proxy), where the browser's same-origin policy keeps its scripts from
reading anything of the dashboard's. ``/sites/...`` on the API origin only redirects there
(:data:`redirects`, mounted by ``api/routes.py`` with the rest of that origin).

What the API origin still serves from a build (artifacts, previews) goes out with
``api.http.USER_CONTENT_HEADERS``: ``Content-Security-Policy: sandbox`` (no ``allow-same-origin``,
no ``allow-scripts``) gives the document an opaque origin and no script at all, and ``nosniff``
stops a browser from reading a text file as HTML. Every other API-origin response without a
policy of its own gets the same sandbox (``api.http.harden``), so a forgotten handler fails safe.

The sites origin is an application of its own, with its own two routes: the deploy stage's file
handler (``stages.deploy.serve.make_handler``) and the redirect of a bare ``/sites/<target>``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from pipeline import config as config_mod
from pipeline.api.http import check_path
from pipeline.api.keys import config_key
from pipeline.api.middleware import Handler, error_middleware
from stages.deploy import serve, targets
from stages.deploy.options import is_preview

logger = logging.getLogger(__name__)

SITES_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "strict-origin-when-cross-origin"}
"""The sites origin runs the site's own scripts (docs need search and tabs); it holds no secrets."""


@web.middleware
async def _sites_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    check_path(request)
    return await handler(request)


async def _sites_headers(request: web.Request, response: web.StreamResponse) -> None:
    for key, value in SITES_HEADERS.items():
        response.headers.setdefault(key, value)
    if is_preview(request.match_info.get("target", "")):
        response.headers["X-Robots-Tag"] = "noindex, nofollow"  # a pull request's draft must not be found by search


def create_sites_app(cfg: config_mod.Config) -> web.Application:
    """The sites origin's application: ``/sites/<target>/...`` and nothing else (no API, no cookies read)."""
    app = web.Application(middlewares=[error_middleware, _sites_guard])
    app.on_response_prepare.append(_sites_headers)
    root_for = targets.root_for(cfg.stages.deploy, cfg.data_path / "sites")
    app.router.add_get("/sites/{target}", _to_slash)
    app.router.add_get("/sites/{target}/{path:.*}", serve.make_handler(root_for))
    return app


async def _to_slash(request: web.Request) -> web.StreamResponse:
    """``/sites/<target>`` -> ``/sites/<target>/``, so the site's relative links resolve."""
    raise web.HTTPMovedPermanently(request.path + "/")


async def _to_sites_origin(request: web.Request) -> web.StreamResponse:
    """Old links (``/sites/...`` on the dashboard's origin) keep working: same path, other origin."""
    check_path(request)
    raise web.HTTPTemporaryRedirect(request.app[config_key].sites_url + request.raw_path)


redirects = [web.get("/sites/{target}", _to_sites_origin), web.get("/sites/{target}/{path:.*}", _to_sites_origin)]
"""The API origin's ``/sites/...`` routes."""


async def sites_ctx(app: web.Application) -> AsyncIterator[None]:
    """Start the sites listener with the app and stop it with the app.

    With ``sites_port = 0`` the port is known only once bound: the app's config is replaced by
    one naming it, before any later part (worker, dashboard) reads it, so live URLs are right."""
    cfg = app[config_key]
    runner = web.AppRunner(create_sites_app(cfg), access_log=None, shutdown_timeout=5)
    await runner.setup()
    try:
        site = web.TCPSite(runner, cfg.server.host, cfg.server.effective_sites_port)
        await site.start()
        port = int(runner.addresses[0][1])
        if port != cfg.server.effective_sites_port:
            bound = cfg.model_copy(update={"server": cfg.server.model_copy(update={"sites_port": port})})
            cfg = app[config_key] = config_mod.with_site_base(bound, cfg.sites_url)
        logger.info("serving deployed sites on %s/sites/", cfg.sites_url)
        yield
    finally:
        await runner.cleanup()
