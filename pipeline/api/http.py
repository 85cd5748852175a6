"""What every route shares for reading requests and writing responses, after :mod:`auth`.

* The job in the URL (:func:`load_job`), loaded only after the caller is known, so a bad token
  never learns whether a job exists.
* Bodies anyone may send: :func:`read_body` refuses one over the limit before it is all in
  memory; :func:`parse_json` bounds nesting. ``json.loads`` recurses once per nesting level, so
  ``[[[[...]]]]`` 100k deep raises ``RecursionError``, which would surface as
  ``500 internal_error``. A document that parses just under the interpreter's limit is no better:
  the next recursive walk over it (``json.dumps`` when it is stored, a ``scrub`` of a payload)
  fails far from the request. No body pressroom accepts needs more than a few levels, so anything
  deeper than :data:`MAX_JSON_DEPTH` is refused up front as ``400 invalid_json``.
* Paths with a NUL byte (:func:`check_path`), refused as ``400 invalid_path`` on both origins.
* User content on the API origin (:data:`USER_CONTENT_HEADERS`, :func:`harden`): why deployed
  sites live on their own origin and what the API origin still serves is in ``api/sites.py``.
* One Server-Sent Events frame per job event (:func:`sse_frame`), for a job's stream and the
  dashboard's stream of all jobs.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from pipeline import errors
from pipeline.api.auth import require
from pipeline.api.keys import store_key
from pipeline.jobs import status
from pipeline.store import Job

MAX_JSON_DEPTH = 64
"""Nesting levels a request body may have; GitHub and GitLab push payloads use fewer than 10."""


def parse_json(raw: bytes | str, what: str = "the body") -> Any:
    """The parsed document, or :class:`errors.InvalidJson` naming ``what`` and the reason."""
    try:
        doc = json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise errors.InvalidJson(f"{what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise errors.InvalidJson(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels") from None
    if json_depth(doc) > MAX_JSON_DEPTH:
        raise errors.InvalidJson(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels")
    return doc


def json_depth(doc: Any) -> int:
    """Nesting depth without recursion (a scalar is 0, ``[]`` is 1); stops counting past the limit."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(doc, 0)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, level) for child in children if isinstance(child, dict | list))
    return deepest


DELIVER = "deliver"
DELIVERIES_ADMIN = "notification deliveries (their recipients and replay) need the 'admin' scope"


async def load_job(request: web.Request, scope: str = "read") -> Job:
    """The job in the URL, after authentication: a bad token never learns whether the job exists."""
    job_id = request.match_info["job_id"]
    who = await require(request, scope, job_id)
    job = await request.app[store_key].get(job_id)
    if job.kind == DELIVER and not who.allows("admin"):
        raise errors.Forbidden(DELIVERIES_ADMIN)
    return job


async def read_body(request: web.Request, limit: int) -> bytes:
    """Read at most ``limit`` bytes; a larger body is refused before it is all in memory."""
    length = request.content_length
    if length is not None and length > limit:
        raise errors.PayloadTooLarge(f"the upload is {length // 2**20} MB; the limit is {limit // 2**20} MB")
    chunks = []
    size = 0
    async for chunk in request.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > limit:
            raise errors.PayloadTooLarge(f"the upload is over the limit of {limit // 2**20} MB")
        chunks.append(chunk)
    return b"".join(chunks)


def check_path(request: web.Request) -> None:
    """A NUL byte cannot be in a file name; refuse it as a bad request instead of crashing on it."""
    if "\x00" in request.path or "%00" in request.raw_path.split("?", 1)[0]:
        raise errors.InvalidPath("the path contains a NUL byte (%00)")


USER_CONTENT_HEADERS = {"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"}
"""For user content the API origin still serves (artifacts, previews). ``Content-Security-Policy:
sandbox`` without ``allow-same-origin`` gives the document an opaque origin, and without
``allow-scripts`` no script at all: the real site, scripts and all, is one click away on the sites
origin. ``nosniff`` stops a browser from reading a text file as HTML."""


async def harden(request: web.Request, response: web.StreamResponse) -> None:
    """API-origin default: ``nosniff`` everywhere, and a sandbox for anything without its own CSP,
    so a forgotten handler fails safe."""
    for key, value in USER_CONTENT_HEADERS.items():
        response.headers.setdefault(key, value)


def sse_frame(ev: dict[str, Any]) -> bytes:
    """One stored job event as a Server-Sent Events frame; its ``id`` lets a client resume."""
    data = {"job_id": ev["job_id"], "type": ev["type"], "status": ev.get("status"), "stage": ev.get("stage"),
            "progress": ev.get("progress"), "at": status.iso(ev.get("created_at")), **(ev.get("data") or {})}
    return f"id: {ev['id']}\nevent: {ev['type']}\ndata: {json.dumps(data)}\n\n".encode()
