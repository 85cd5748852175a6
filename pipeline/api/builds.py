"""Build routes: submit, status, events (SSE), log, list, cancel, retry, artifacts; their OpenAPI paths."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from pipeline import errors
from pipeline.api import openapi
from pipeline.api.auth import Principal, require
from pipeline.api.http import (
    DELIVER,
    DELIVERIES_ADMIN,
    USER_CONTENT_HEADERS,
    check_path,
    load_job,
    parse_json,
    read_body,
    sse_frame,
)
from pipeline.api.keys import config_key, store_key, submitter_key, worker_key
from pipeline.intake.submitter import SubmitOptions, request_hash
from pipeline.jobs import status
from pipeline.jobs.workspace import Workspace
from pipeline.notify import callbacks
from pipeline.redact import redact_url
from pipeline.store import Job, JobStatus
from stages.deploy.options import is_preview

routes = web.RouteTableDef()
ARCHIVE_TYPES = {"application/gzip", "application/x-gzip", "application/x-tar", "application/zip",
                 "application/x-zip-compressed", "application/octet-stream", "application/x-gtar"}


_FIELD_TYPES: dict[str, tuple[type, ...]] = {"branch": (str,), "priority": (int, str), "target": (str,),
                                             "force": (bool, str), "trigger": (dict,), "note": (str,)}
FIELD_LIMITS: dict[str, int] = {"source.git": 2048, "source.ref": 255, "source.path": 4096, "branch": 200,
                                "target": 200, "note": 500, "Idempotency-Key": 200}
"""Characters each client-sent field may have (longer is ``400 field_too_long``): nothing real is longer,
and every one of them is stored with the job and shown by the status, list and dashboard."""


def check_length(name: str, value: object) -> None:
    if isinstance(value, str) and len(value) > FIELD_LIMITS[name]:
        raise errors.FieldTooLong(f"{name} is {len(value)} characters long; the limit is {FIELD_LIMITS[name]}",
                                  field=name, limit=FIELD_LIMITS[name])


def _check_fields(extra: dict[str, Any]) -> None:
    for key, types in _FIELD_TYPES.items():
        value = extra.get(key)
        if value is not None and (not isinstance(value, types) or (isinstance(value, bool) and bool not in types)):
            raise errors.BadRequest(f"{key} must be {' or '.join(t.__name__ for t in types)}")
    for key in ("branch", "target", "note"):
        check_length(key, extra.get(key))


def _note(extra: dict[str, Any]) -> str | None:
    """The one part of the trigger a client writes: free text, shown as such.

    ``kind``, ``token`` and the rest are the server's record of who asked and through which route;
    a client that sends them is refused rather than silently rewritten, so it learns at once.
    """
    trigger = extra.get("trigger")
    note = extra.get("note")
    if isinstance(trigger, dict):
        forged = sorted(k for k in trigger if k != "note")
        if forged:
            raise errors.BadRequest(f"trigger.{forged[0]} is set by the server from your token and the route; "
                                    "a client may only send trigger.note (or note)", field=f"trigger.{forged[0]}")
        if trigger.get("note") is not None and not isinstance(trigger["note"], str):
            raise errors.BadRequest("trigger.note must be a string")
        note = trigger.get("note", note)
    check_length("note", note)
    if not isinstance(note, str):
        return None
    return note.strip() or None


def _submit_options(request: web.Request, who: Principal, body_hash: str, extra: dict[str, Any]) -> SubmitOptions:
    _check_fields(extra)
    if isinstance(extra.get("target"), str) and is_preview(extra["target"]):
        raise errors.BadRequest("preview-<number> and translation-<lang> targets are previews the daemon makes "
                                "(pull requests, unpublished translations); they are never submitted to", field="target")
    cfg = request.app[config_key]
    priority = extra.get("priority", request.query.get("priority"))
    if priority is not None:
        try:
            priority = int(priority)
        except (TypeError, ValueError):
            raise errors.BadRequest("priority must be an integer") from None
        if not who.allows("admin") and priority > cfg.workers.priorities.get("build", 50):
            raise errors.Forbidden("raising a build's priority needs the 'admin' scope")
    branch = extra.get("branch") or request.query.get("branch")
    check_length("branch", branch)
    key = request.headers.get("Idempotency-Key") or None
    check_length("Idempotency-Key", key)
    trigger: dict[str, Any] = {"kind": "api", "token": who.name}
    note = _note(extra)
    if note:
        trigger["note"] = note
    if branch:
        trigger["branch"] = branch
    return SubmitOptions(
        idempotency_key=key, request_hash=body_hash,
        trigger=trigger, supersede_key=branch, priority=priority, target=extra.get("target"),
        dedupe=not bool(extra.get("force") or request.query.get("force")),
    )


@routes.post("/api/builds")
async def submit(request: web.Request) -> web.Response:
    who = await require(request, "submit")
    cfg = request.app[config_key]
    submitter = request.app[submitter_key]
    limit = int(cfg.server.max_upload_mb * 2**20)
    ctype = request.content_type
    body = await read_body(request, limit)
    body_hash = request_hash(body)
    if ctype == "application/json":
        doc = parse_json(body)
        if not isinstance(doc, dict) or not isinstance(doc.get("source"), dict):
            raise errors.InvalidSource('expected {"source": {"git": url, "ref": sha}} or {"source": {"path": dir}}')
        opts = await _with_callback(request, who, _submit_options(request, who, body_hash, doc), doc)
        src = doc["source"]
        for field in ("git", "ref", "path"):
            check_length(f"source.{field}", src.get(field))
        if isinstance(src.get("git"), str):
            ref = src.get("ref") or None
            if ref is not None and not isinstance(ref, str):
                raise errors.InvalidSource("source.ref must be a string")
            if not src["git"].strip():
                raise errors.InvalidSource("source.git must be a repository URL")
            result = await submitter.submit_git(src["git"], ref, opts)
        elif isinstance(src.get("path"), str) and src["path"].strip():
            if not (cfg.server.allow_path_sources and who.allows("admin")):
                raise errors.Forbidden("path sources need the 'admin' scope and [server] allow_path_sources")
            result = await submitter.submit_path(Path(src["path"]), opts)
        else:
            raise errors.InvalidSource('source must have "git" (with optional "ref") or "path"')
    elif ctype in ARCHIVE_TYPES or ctype == "multipart/form-data" or not ctype:
        if ctype == "multipart/form-data":
            body = _first_file(body, request.headers.get("Content-Type", ""))
        if not body:
            raise errors.InvalidArchive("the request has no archive in its body")
        opts = await _with_callback(request, who, _submit_options(request, who, body_hash, dict(request.query)),
                                    dict(request.query))
        result = await submitter.submit_archive(body, opts)
    else:
        raise errors.InvalidSource(f"unsupported Content-Type {ctype!r}: send a tar.gz/zip archive or JSON")
    job = result.job
    worker = request.app[worker_key]
    if worker is not None and result.superseded:
        for old in result.superseded:
            worker.request_cancel(old)
    payload: dict[str, Any] = {"job_id": job.id, "status": job.status, "status_url": f"/api/builds/{job.id}/status",
               "events_url": f"/api/builds/{job.id}/events", "log_url": f"/api/builds/{job.id}/log",
               "read_token": job.read_token, "duplicate": not result.created, "superseded": result.superseded}
    if opts.callback:
        payload["callback"] = _callback_answer(cfg, job.id, job.payload or {}, created=result.created)
    return web.json_response(payload, status=202, headers={"Location": str(payload["status_url"])})


async def _with_callback(request: web.Request, who: Principal, opts: SubmitOptions, extra: dict[str, Any]) -> SubmitOptions:
    """Register ``callback_url`` (or the ``Callback-URL`` header) after the SSRF checks.

    A submission with a callback is never folded into another request's job by content dedupe:
    that job would call back someone else. The same ``Idempotency-Key`` still names one job.
    """
    url = extra.get("callback_url") or request.headers.get("Callback-URL")
    events = extra.get("callback_events") or request.headers.get("Callback-Events")
    if url is None:
        if events is not None:
            raise errors.BadRequest("callback_events needs a callback_url", field="callback_events")
        return opts
    callback = await callbacks.register(request.app[config_key], url, events, who.name)
    return dataclasses.replace(opts, callback=callback, dedupe=False)


def _callback_answer(cfg: Any, job_id: str, job_payload: dict[str, Any], *, created: bool) -> dict[str, Any]:
    """The callback as the submit response shows it; a job's own secret only to the request that made it."""
    registered = job_payload.get("callback") or {}
    answer: dict[str, Any] = {"url": redact_url(str(registered.get("url", ""))), "events": registered.get("events", []),
                              "signing": "token" if (registered.get("signing") or {}).get("token") else "job"}
    if created and answer["signing"] == "job":
        answer["secret"] = callbacks.job_secret(cfg, job_id)
    return answer


def _first_file(body: bytes, content_type: str) -> bytes:
    """The first file part of a multipart/form-data body (``curl -F archive=@docs.tar.gz``)."""
    from email.parser import BytesParser
    from email.policy import HTTP

    msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    for part in msg.iter_parts():
        if part.get_filename() or part.get_param("name", header="content-disposition"):
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                return data
    return b""


@routes.get("/api/builds/{job_id}/status")
async def get_status(request: web.Request) -> web.Response:
    job = await load_job(request)
    view = await status.full_view(request.app[store_key], job, workers=request.app[config_key].workers.count)
    resp = web.json_response(view)
    ra = status.retry_after(job)
    if ra is not None:
        resp.headers["Retry-After"] = str(ra)
    return resp


@routes.get("/api/translations/{job_id}/status")
async def translation_status(request: web.Request) -> web.Response:
    job = await _translation_job(request)
    resp = web.json_response(await status.full_view(request.app[store_key], job,
                                                    workers=request.app[config_key].workers.count))
    ra = status.retry_after(job)
    if ra is not None:
        resp.headers["Retry-After"] = str(ra)
    return resp


async def _translation_job(request: web.Request, scope: str = "read") -> Job:
    job = await load_job(request, scope)
    if job.kind != "translate":
        raise errors.JobNotFound(f"{job.id} is not a translation job")
    return job


@routes.get("/api/builds")
async def list_builds(request: web.Request) -> web.Response:
    who = await require(request, "read")
    q = request.query
    try:
        limit = max(1, min(200, int(q.get("limit", "50"))))
    except ValueError:
        raise errors.BadRequest("limit must be an integer") from None
    dead = {"true": True, "false": False}.get(q.get("dead", "").lower()) if "dead" in q else None
    kind = q.get("kind", "build" if "status" not in q and "dead" not in q else None)
    if kind == DELIVER and not who.allows("admin"):
        raise errors.Forbidden(DELIVERIES_ADMIN)
    try:
        jobs, nxt = await request.app[store_key].list_jobs(
            status=q.get("status"), kind=kind if kind != "all" else None, branch=q.get("branch"),
            trigger=q.get("trigger"), dead=dead, limit=limit, cursor=q.get("cursor"))
    except ValueError:
        raise errors.BadRequest("the cursor is not valid") from None
    views = [status.job_view(j) for j in jobs]
    if not who.allows("admin"):
        for view in views:
            view.pop("delivery", None)  # who gets notified where is for admins (docs/api.md)
    return web.json_response({"jobs": views, "next": nxt})


@routes.post("/api/builds/{job_id}/cancel")
async def cancel(request: web.Request) -> web.Response:
    await require(request, "submit")
    return await _cancel(request, request.match_info["job_id"])


@routes.post("/api/translations/{job_id}/cancel")
async def cancel_translation(request: web.Request) -> web.Response:
    job = await _translation_job(request, "submit")
    return await _cancel(request, job.id)


async def _cancel(request: web.Request, job_id: str) -> web.Response:
    """Cancel a job and its live children (a build's translate jobs stop with it)."""
    store = request.app[store_key]
    job = await store.cancel(job_id)
    worker = request.app[worker_key]
    if worker is not None:
        worker.request_cancel(job_id)
        for child in await store.children(job_id) if job.children_total else []:
            if child.cancel_requested:
                worker.request_cancel(child.id)
    return web.json_response(status.job_view(job), status=202)


@routes.post("/api/builds/{job_id}/retry")
async def retry(request: web.Request) -> web.Response:
    await load_job(request, "submit")  # a delivery's replay needs admin, as on /api/deliveries
    job = await request.app[store_key].retry(request.match_info["job_id"])
    return web.json_response(status.job_view(job), status=202)


@routes.post("/api/translations/{job_id}/retry")
async def retry_translation(request: web.Request) -> web.Response:
    """One language again: its build and the other languages are left as they are."""
    job = await _translation_job(request, "submit")
    job = await request.app[store_key].retry(job.id)
    return web.json_response(status.job_view(job), status=202)


@routes.get("/api/builds/{job_id}/log")
async def log(request: web.Request) -> web.StreamResponse:
    job = await load_job(request)
    path = Workspace.for_job(request.app[config_key].data_path, job.id).log
    text = path.read_text("utf-8", "replace") if path.exists() else ""
    return web.Response(text=text, content_type="text/plain", charset="utf-8")


@routes.get("/api/builds/{job_id}/artifacts/{path:.+}")
async def artifact(request: web.Request) -> web.StreamResponse:
    job = await load_job(request)
    check_path(request)
    root = Workspace.for_job(request.app[config_key].data_path, job.id).root.resolve()
    target = (root / request.match_info["path"]).resolve()
    if root not in target.parents or not target.is_file():
        raise errors.NotFound("no such artifact")
    # Built pages are user content on the dashboard's origin: sandboxed, no script (api/sites.py).
    return web.FileResponse(target, headers=USER_CONTENT_HEADERS)


@routes.get("/api/builds/{job_id}/events")
async def events(request: web.Request) -> web.StreamResponse:
    """SSE: one event per transition and progress step; ends after the terminal status."""
    job = await load_job(request)
    store = request.app[store_key]
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                       "X-Accel-Buffering": "no"})
    await resp.prepare(request)
    try:
        last = int(request.headers.get("Last-Event-ID") or request.query.get("after") or 0)
    except ValueError:
        last = 0
    wait = 1.0 if store.dialect == "postgresql" else 15.0
    await resp.write(b"retry: 2000\n\n")
    finished = job.finished and last > 0
    while not finished:
        batch = await store.events_after(job.id, last)
        for ev in batch:
            last = ev["id"]
            await resp.write(sse_frame(ev))
            if ev["type"] == "status" and ev["status"] in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED):
                current = await store.get(job.id)
                finished = current.finished
        if finished:
            break
        if not batch and not await store.wait_changed(wait):
            await resp.write(b": keep-alive\n\n")
    final = await store.get(job.id)
    await resp.write(b"event: end\ndata: " + json.dumps(status.job_view(final, await store.stages(job.id))).encode() + b"\n\n")
    await asyncio.sleep(0)
    return resp


OPENAPI_PATHS: dict[str, Any] = {
    "/api/builds": {
        "post": {
            "operationId": "submitBuild", "summary": "Submit a build (archive upload or JSON source reference)",
            "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"}},
                           {"name": "branch", "in": "query", "required": False, "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": {
                "application/gzip": {"schema": {"type": "string", "format": "binary"}},
                "application/zip": {"schema": {"type": "string", "format": "binary"}},
                "application/json": {"schema": {"type": "object", "required": ["source"], "properties": {
                    "source": {"type": "object", "properties": {
                        f: {"type": "string", "maxLength": FIELD_LIMITS[f"source.{f}"]} for f in ("git", "ref", "path")}},
                    "branch": {"type": "string", "maxLength": FIELD_LIMITS["branch"]}, "priority": {"type": "integer"},
                    "force": {"type": "boolean"}, "note": {"type": "string", "maxLength": FIELD_LIMITS["note"]},
                    "callback_url": {"type": "string", "maxLength": callbacks.MAX_URL},
                    "callback_events": {"type": "array", "items": {"enum": list(callbacks.EVENTS)}},
                    "trigger": {"type": "object", "additionalProperties": False,
                                "properties": {"note": {"type": "string", "maxLength": FIELD_LIMITS["note"]}}}}}}}},
            "responses": {**openapi.ok("Accepted: the job is stored; follow status_url", "Submitted", status="202"),
                          **openapi.err(400, 401, 403, 409, 413, 429)},
        },
        "get": {
            "operationId": "listBuilds", "summary": "List jobs, newest first, with cursor pagination",
            "parameters": [{"name": n, "in": "query", "required": False, "schema": s} for n, s in [
                ("status", {"type": "string"}), ("kind", {"type": "string"}), ("branch", {"type": "string"}),
                ("trigger", {"type": "string"}), ("dead", {"enum": ["true", "false"]}),
                ("limit", {"type": "integer", "minimum": 1, "maximum": 200}), ("cursor", {"type": "string"})]],
            "responses": {**openapi.ok("A page of jobs", "JobList"), **openapi.err(400, 401, 403, 429)},
        },
    },
    "/api/builds/{job_id}/status": {"get": {
        "operationId": "getStatus", "summary": "A job's status (Retry-After while it runs)", "parameters": [openapi.JOB_ID],
        "responses": {**openapi.ok("The job's status", "Status"), **openapi.err(401, 403, 404, 429)}}},
    "/api/translations/{job_id}/status": {"get": {
        "operationId": "getTranslationStatus", "summary": "One language's translation job (its full status, with counts)",
        "parameters": [openapi.JOB_ID],
        "responses": {**openapi.ok("The translation job's status", "Status"), **openapi.err(401, 403, 404, 429)}}},
    "/api/translations/{job_id}/cancel": {"post": {
        "operationId": "cancelTranslation", "summary": "Cancel one language of a build (the build and other languages go on)",
        "parameters": [openapi.JOB_ID],
        "responses": {**openapi.ok("Cancel accepted", "Status", status="202"), **openapi.err(401, 403, 404, 409, 429)}}},
    "/api/translations/{job_id}/retry": {"post": {
        "operationId": "retryTranslation", "summary": "Put one FAILED language of a build back in the queue",
        "parameters": [openapi.JOB_ID],
        "responses": {**openapi.ok("Re-queued", "Status", status="202"), **openapi.err(401, 403, 404, 409, 429)}}},
    "/api/builds/{job_id}/events": {"get": {
        "operationId": "streamEvents", "summary": "Server-Sent Events: one per transition and progress step",
        "parameters": [openapi.JOB_ID, {"name": "Last-Event-ID", "in": "header", "required": False, "schema": {"type": "string"}}],
        "responses": {**openapi.ok("An event stream", content_type="text/event-stream"), **openapi.err(401, 403, 404, 429)}}},
    "/api/builds/{job_id}/log": {"get": {
        "operationId": "getLog", "summary": "The job's log as text", "parameters": [openapi.JOB_ID],
        "responses": {**openapi.ok("The log", content_type="text/plain"), **openapi.err(401, 403, 404, 429)}}},
    "/api/builds/{job_id}/cancel": {"post": {
        "operationId": "cancelBuild",
        "summary": "Cancel a job and its live translate jobs (PENDING at once, PROCESSING cooperatively)",
        "parameters": [openapi.JOB_ID], "responses": {**openapi.ok("Cancel accepted", "Status", status="202"), **openapi.err(401, 403, 404, 409, 429)}}},
    "/api/builds/{job_id}/retry": {"post": {
        "operationId": "retryBuild", "summary": "Put a FAILED job back in the queue", "parameters": [openapi.JOB_ID],
        "responses": {**openapi.ok("Re-queued", "Status", status="202"), **openapi.err(401, 403, 404, 409, 429)}}},
}
