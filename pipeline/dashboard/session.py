"""Login and logout: the dashboard's cookie holds a random server-side session ID, never the token.

Signing in with a token opens a session in the store (``pipeline.api.auth.open_session``): expiring,
listed and revocable by an admin (``/api/sessions``), and ended by signing out or by removing the token from the
config. The cookie is ``HttpOnly`` (scripts never see it), ``SameSite=Strict`` (no other site can
make the browser send it) and ``Secure`` over HTTPS. The login form has its own CSRF guard (a
random value in a short-lived cookie and in the form), so no site can log a browser in as someone
else; every later POST carries the session's CSRF token (see ``pipeline.api.auth.check_csrf``).
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
from urllib.parse import urlsplit

from aiohttp import web

from pipeline import errors
from pipeline.api import auth as auth_mod
from pipeline.api.keys import auth_key, config_key
from pipeline.dashboard.render import html

LOGIN_COOKIE = "pressroom_login"
LEGACY_COOKIE = "pressroom_token"
"""An older cookie that held the raw token; it is deleted wherever it is still found."""


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def is_https(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def safe_next(value: str | None) -> str:
    """Only paths on this site: ``//evil.example`` and absolute URLs fall back to the builds page."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else "/"


def _login_form(request: web.Request, *, error: str | None = None, status: int = 200,
                next_url: str = "/") -> web.Response:
    nonce = secrets.token_urlsafe(24)
    resp = html(request, "login.html", {"title": "Sign in", "nav": "login", "viewer": None, "error": error,
                                        "login_csrf": nonce, "next": next_url}, status=status)
    resp.set_cookie(LOGIN_COOKIE, nonce, max_age=600, path="/login", httponly=True, samesite="Strict",
                    secure=is_https(request))
    return resp


async def login_form(request: web.Request) -> web.StreamResponse:
    if request.app[auth_key].open:
        raise web.HTTPSeeOther(safe_next(request.query.get("next")))
    return _login_form(request, next_url=safe_next(request.query.get("next")))


async def login(request: web.Request) -> web.StreamResponse:
    auth = request.app[auth_key]
    if auth.open:
        raise web.HTTPSeeOther("/")
    remote = request.remote or "unknown"
    auth.rate_check(f"login:{remote}")
    auth.check_failures(remote)  # the same guessing allowance as bearer tokens on the API
    form = await request.post()
    next_url = safe_next(str(form.get("next") or "/"))
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    given = str(form.get(auth_mod.CSRF_FIELD) or "")
    if not nonce or not given or not hmac.compare_digest(nonce.encode(), given.encode()):
        raise errors.CsrfFailed("the login form expired or did not come from this site; reload it and try again")
    token = str(form.get("token") or "").strip()
    principal = auth.lookup(token) if token else None
    if principal is None:
        auth.record_failure(remote)
        return _login_form(request, error="That token is not valid.", status=401, next_url=next_url)
    session_id = await auth_mod.open_session(request, token, principal)
    resp = see_other(next_url)
    resp.set_cookie(auth_mod.SESSION_COOKIE, session_id, max_age=int(request.app[config_key].server.session_days * 86400),
                    path="/", httponly=True, samesite="Strict", secure=is_https(request))
    resp.del_cookie(LOGIN_COOKIE, path="/login")
    resp.del_cookie(LEGACY_COOKIE, path="/")
    return resp


async def logout(request: web.Request) -> web.StreamResponse:
    """POST only, with the session's CSRF token (checked by ``principal()``), so no link logs out."""
    if not request.app[auth_key].open:
        with contextlib.suppress(errors.Unauthorized):
            await auth_mod.principal(request)
        await auth_mod.close_session(request)
    resp = see_other("/login")
    resp.del_cookie(auth_mod.SESSION_COOKIE, path="/")
    resp.del_cookie(LEGACY_COOKIE, path="/")
    return resp
