"""``/api/sessions``: an admin lists the dashboard's live sign-in sessions and revokes them.

A session is shown by its handle, never by its ID (the ID is the cookie's value, and the store
keeps only its digest). Opening, checking and closing sessions is authentication, in
``pipeline/api/auth.py``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from pipeline import errors
from pipeline.api import auth as auth_mod
from pipeline.api import openapi
from pipeline.api.keys import auth_key, store_key
from pipeline.jobs import status

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
    await auth_mod.require(request, "admin")
    rows = await request.app[store_key].list_sessions()
    mine = request.cookies.get(auth_mod.SESSION_COOKIE) if auth_mod.from_cookie(request) else None
    current = auth_mod.session_digest(mine) if mine else None
    return web.json_response({"sessions": [_view(r, request, current) for r in rows]})


async def _revoke(request: web.Request) -> web.Response:
    await auth_mod.require(request, "admin")
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
