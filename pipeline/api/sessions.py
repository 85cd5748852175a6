"""Dashboard sessions: the sign-in cookie holds a random session ID, never an API token.

A token in a cookie is a token anywhere the cookie goes, for as long as it is valid, and nothing
can end it short of rotating the token everywhere. A session ID is random, stored only as its
SHA-256 in the store, expires (``[server] session_days``, absolute), ends at sign-out, can be
listed and revoked by an admin (``GET /api/sessions``, ``DELETE /api/sessions/{handle}``), and
is checked on every request against the token it was opened with: remove that token from the
config and its sessions stop working at once. The CSRF token is derived from the session ID.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from aiohttp import web

from pipeline import errors, status
from pipeline.api import auth as auth_mod
from pipeline.api import openapi
from pipeline.api.keys import auth_key, config_key, store_key

TOUCH_EVERY = 60.0
"""Seconds between two writes of a session's ``last_seen_at`` (a read per request, not a write)."""


def digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


async def open_session(request: web.Request, token: str, who: auth_mod.Principal) -> str:
    """Store a new session for ``who`` (signed in with ``token``); returns the cookie's value."""
    store = request.app[store_key]
    session_id = secrets.token_urlsafe(32)
    await store.create_session(id_hash=digest(session_id), handle=secrets.token_hex(8), principal=who.name,
                               token_hash=auth_mod.token_digest(token),
                               expires_at=store.clock() + request.app[config_key].server.session_days * 86400,
                               user_agent=request.headers.get("User-Agent"), remote=request.remote)
    return session_id


async def resolve(request: web.Request) -> tuple[auth_mod.Principal, str] | None:
    """The principal and session ID behind the request's cookie; None when there is no live session."""
    session_id = request.cookies.get(auth_mod.SESSION_COOKIE, "")
    if not session_id or len(session_id) > 200:
        return None
    store = request.app[store_key]
    row = await store.session(digest(session_id))
    if row is None:
        return None
    who = request.app[auth_key].lookup_digest(row["token_hash"])
    if who is None:  # the token was removed from the config: its sessions end with it
        await store.delete_session(digest(session_id))
        return None
    if store.clock() - row["last_seen_at"] > TOUCH_EVERY:
        await store.touch_session(digest(session_id))
    return who, session_id


async def close(request: web.Request) -> None:
    """Sign-out: the session is deleted, so a copy of the cookie is worthless from now on."""
    session_id = request.cookies.get(auth_mod.SESSION_COOKIE, "")
    if session_id:
        await request.app[store_key].delete_session(digest(session_id))


routes = web.RouteTableDef()


def _view(row: dict[str, Any], request: web.Request, current: str | None) -> dict[str, Any]:
    auth = request.app[auth_key]
    return {"handle": row["handle"], "principal": row["principal"], "created_at": status.iso(row["created_at"]),
            "expires_at": status.iso(row["expires_at"]), "last_seen_at": status.iso(row["last_seen_at"]),
            "user_agent": row["user_agent"], "remote": row["remote"],
            "token_valid": auth.lookup_digest(row["token_hash"]) is not None,
            "current": current is not None and row.get("id_hash") == current}


@routes.get("/api/sessions")
async def list_sessions(request: web.Request) -> web.Response:
    """Live dashboard sessions (admin). The session ID never leaves the server; the handle names one."""
    from pipeline.api.builds import require

    await require(request, "admin")
    rows = await request.app[store_key].list_sessions()
    mine = request.cookies.get(auth_mod.SESSION_COOKIE) if auth_mod.from_cookie(request) else None
    return web.json_response({"sessions": [_view(r, request, digest(mine) if mine else None) for r in rows]})


async def _revoke(request: web.Request) -> web.Response:
    from pipeline.api.builds import require

    await require(request, "admin")
    handle = request.match_info["handle"]
    if not await request.app[store_key].revoke_session(handle):
        raise errors.SessionNotFound(f"no live session has the handle {handle!r}")
    return web.json_response({"revoked": handle})


@routes.delete("/api/sessions/{handle}")
async def revoke(request: web.Request) -> web.Response:
    return await _revoke(request)


@routes.post("/api/sessions/{handle}/revoke")
async def revoke_post(request: web.Request) -> web.Response:
    """The same as DELETE, for clients (and HTML forms) that only POST."""
    return await _revoke(request)


_HANDLE = {"name": "handle", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
_REVOKE = {"summary": "Revoke a dashboard session by its handle (admin)", "parameters": [_HANDLE],
           "responses": {**openapi.ok("Revoked"), **openapi.err(401, 403, 404, 429)}}
OPENAPI_PATHS: dict[str, Any] = {
    "/api/sessions": {"get": {
        "operationId": "listSessions", "summary": "Live dashboard sessions, by handle (admin; never the session ID)",
        "responses": {**openapi.ok("Sessions"), **openapi.err(401, 403, 429)}}},
    "/api/sessions/{handle}": {"delete": {"operationId": "revokeSession", **_REVOKE}},
    "/api/sessions/{handle}/revoke": {"post": {"operationId": "revokeSessionPost", **_REVOKE}},
}
