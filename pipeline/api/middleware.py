"""One error middleware: domain errors become ``{"error": {"code", "message"}}`` with their status."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from pipeline import errors

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
               413: "payload_too_large", 415: "unsupported_media_type", 429: "rate_limited"}


def error_response(exc: errors.PressroomError) -> web.Response:
    resp = web.json_response(exc.to_json(), status=exc.http_status)
    if isinstance(exc, errors.RateLimited):
        resp.headers["Retry-After"] = str(max(1, int(exc.retry_after + 0.999)))
    if isinstance(exc, errors.StoreUnavailable):
        resp.headers["Retry-After"] = str(int(exc.retry_after))
    if isinstance(exc, errors.Unauthorized):
        resp.headers["WWW-Authenticate"] = 'Bearer realm="pressroom"'
    return resp


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except errors.PressroomError as exc:
        return error_response(exc)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        body = {"error": {"code": code, "message": exc.reason, "runbook": errors.runbook(code)}}
        return web.json_response(body, status=exc.status, headers={k: v for k, v in exc.headers.items()
                                                                   if k.lower() in ("allow", "retry-after")})
    except Exception:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        body = {"error": {"code": "internal_error", "message": "internal error; see the daemon log",
                          "runbook": errors.runbook("internal_error")}}
        return web.json_response(body, status=500)
