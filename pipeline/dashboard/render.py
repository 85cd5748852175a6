"""Templates, the viewer (who is looking and what they may do) and the page wrapper.

Pages resolve the caller with the API's own ``principal()``, so a token means the same on a page
as on ``/api``. A page that needs a login redirects to the login form; one that needs a scope the
viewer lacks renders a short explanation instead of the API's JSON error.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jinja2
from aiohttp import web
from yarl import URL

from pipeline import errors
from pipeline.api import auth as auth_mod
from pipeline.api.keys import auth_key
from pipeline.dashboard import present

env_key: web.AppKey[jinja2.Environment] = web.AppKey("dashboard_templates")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
"""No inline script or style anywhere: the timeline and charts are SVG attributes, not styles."""

SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY", "Cache-Control": "no-store"}


def make_env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("pipeline.dashboard", "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    env.globals["seconds"] = present.seconds
    env.globals["stage_badge"] = present.stage_badge
    env.globals["status_badge"] = present.status_badge
    return env


@dataclass(frozen=True)
class Viewer:
    principal: auth_mod.Principal
    open: bool
    csrf: str
    """The CSRF token for this session (empty with ``auth = "none"``, where none is needed)."""
    cookie: bool

    @property
    def name(self) -> str:
        return self.principal.name

    def can(self, scope: str) -> bool:
        return self.principal.allows(scope)


async def viewer(request: web.Request) -> Viewer:
    who = await auth_mod.principal(request)
    from_cookie = auth_mod.from_cookie(request)
    session_id = request.cookies.get(auth_mod.SESSION_COOKIE, "")
    csrf = auth_mod.csrf_token(session_id) if session_id and from_cookie and not request.app[auth_key].open else ""
    return Viewer(principal=who, open=request.app[auth_key].open, csrf=csrf, cookie=from_cookie)


def html(request: web.Request, name: str, context: dict[str, Any], status: int = 200) -> web.Response:
    text = request.app[env_key].get_template(name).render(**context)
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS)


def page(title: str, nav: str) -> Callable[[Callable[[web.Request, Viewer], Awaitable[dict[str, Any]]]],
                                             Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    """Wrap a handler that returns template context: login redirect, scope check, error pages."""

    def wrap(fn: Callable[[web.Request, Viewer], Awaitable[dict[str, Any]]]) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        @functools.wraps(fn)
        async def handler(request: web.Request) -> web.StreamResponse:
            try:
                v = await viewer(request)
            except errors.Unauthorized:
                raise web.HTTPSeeOther(URL("/login").with_query(next=request.path_qs)) from None
            base = {"viewer": v, "nav": nav, "title": title}
            job_id = request.match_info.get("job_id")
            if not v.principal.allows("read", job_id):
                return html(request, "error.html", {**base, "title": "Not allowed",
                                                    "message": "Your token cannot read this page."}, status=403)
            try:
                context = await fn(request, v)
            except errors.JobNotFound:
                return html(request, "error.html", {**base, "title": "No such job",
                                                    "message": f"No job has the ID {job_id}."}, status=404)
            template = context.pop("template")
            return html(request, template, {**base, **context})

        return handler

    return wrap
