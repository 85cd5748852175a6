"""The audit routes: run an audit now, list runs, one report (JSON and HTML), the findings queue.

An audit is an ``audit`` job (:mod:`pipeline.jobs.audit`); its run's ID is the job's ID, so the
``202`` answer's ``job_id`` is also the report's ID once the job finished. The queue is every
open finding in work order (:func:`pipeline.jobs.auditreport.prioritise`), paged; ``admin``
acknowledges or snoozes a finding there.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from pipeline import errors
from pipeline.api import openapi
from pipeline.api.auth import require
from pipeline.api.http import parse_json, read_body
from pipeline.api.keys import config_key, store_key
from pipeline.config import Config
from pipeline.dashboard import auditpage
from pipeline.jobs import auditreport
from pipeline.store import JobSpec, Store
from stages.audit.model import CHECKS

routes = web.RouteTableDef()
PAGE = 50


async def submit_audits(store: Store, cfg: Config, *, target: str | None, checks: list[str] | None,
                        by: str) -> list[str]:
    """One audit job per target (the one named, else every ``[audit] targets``)."""
    names = [target] if target else list(cfg.audit.targets)
    for name in names:
        if name not in cfg.stages.deploy.targets:
            raise errors.BadRequest(f"no deploy target named {name!r} (configured: {', '.join(sorted(cfg.stages.deploy.targets))})")
    ids = []
    for name in names:
        spec = JobSpec(kind="audit", target=name, priority=cfg.workers.priorities.get("audit", 10), dedupe=False,
                       trigger={"kind": "api", "by": by}, payload={"checks": checks or list(cfg.audit.checks)})
        ids.append((await store.submit(spec)).job.id)
    return ids


@routes.post("/api/audits")
async def run_audit(request: web.Request) -> web.Response:
    who = await require(request, "admin")
    raw = await read_body(request, 64 * 1024)
    body = parse_json(raw) if raw.strip() else {}
    if not isinstance(body, dict):
        raise errors.BadRequest('the body must be a JSON object like {"target": "staging", "checks": ["links"]}')
    target, checks = body.get("target"), body.get("checks")
    if target is not None and not isinstance(target, str):
        raise errors.BadRequest("target must be a string")
    if checks is not None and (not isinstance(checks, list) or not all(c in CHECKS for c in checks)):
        raise errors.BadRequest(f"checks must be a list of {list(CHECKS)}")
    ids = await submit_audits(request.app[store_key], request.app[config_key], target=target, checks=checks, by=who.name)
    first = ids[0]
    return web.json_response({"job_id": first, "jobs": ids, "status_url": f"/api/builds/{first}/status",
                              "report_url": f"/api/audits/{first}", "events_url": f"/api/builds/{first}/events"},
                             status=202, headers={"Location": f"/api/builds/{first}/status"})


@routes.get("/api/audits")
async def list_audits(request: web.Request) -> web.Response:
    await require(request, "read")
    runs = await request.app[store_key].audit_runs(limit=min(int_arg(request, "limit", 50), 500))
    return web.json_response({"audits": [auditreport.run_view(r) for r in runs]})


@routes.get("/api/audits/findings")
async def findings_queue(request: web.Request) -> web.Response:
    await require(request, "read")
    state = request.query.get("state", "open")
    if state not in ("open", "fixed"):
        raise errors.BadRequest("state must be open or fixed")
    found = await request.app[store_key].audit_findings(state=state, target=request.query.get("target") or None)
    now = time.time()
    if request.query.get("snoozed", "").lower() != "true":
        found = [f for f in found if not (f.get("snoozed_until") or 0) > now]
    if severity := request.query.get("severity"):
        found = [f for f in found if f["severity"] == severity]
    ordered = auditreport.prioritise(request.app[config_key], found)
    offset, limit = int_arg(request, "offset", 0), min(int_arg(request, "limit", PAGE), 500)
    page = ordered[offset:offset + limit]
    nxt = offset + limit if offset + limit < len(ordered) else None
    return web.json_response({"findings": [auditreport.finding_view(f) for f in page], "total": len(ordered),
                              "next_offset": nxt})


@routes.post("/api/audits/findings/{fingerprint}/ack")
async def ack(request: web.Request) -> web.Response:
    who = await require(request, "admin")
    done = await request.app[store_key].audit_triage(request.match_info["fingerprint"], by=who.name)
    return web.json_response(auditreport.finding_view(done))


@routes.post("/api/audits/findings/{fingerprint}/snooze")
async def snooze(request: web.Request) -> web.Response:
    who = await require(request, "admin")
    body = parse_json(await read_body(request, 4096))
    until = body.get("until") if isinstance(body, dict) else None
    try:
        when = datetime.fromisoformat(str(until))
    except ValueError:
        raise errors.BadRequest('snooze needs {"until": "YYYY-MM-DD"} (or a full ISO 8601 time)') from None
    stamp = (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    done = await request.app[store_key].audit_triage(request.match_info["fingerprint"], by=who.name, snooze_until=stamp)
    return web.json_response(auditreport.finding_view(done))


@routes.get("/api/audits/{audit_id}")
async def one_audit(request: web.Request) -> web.Response:
    await require(request, "read")
    run = await request.app[store_key].audit_run(request.match_info["audit_id"])
    return web.json_response(auditreport.report_view(request.app[config_key], run))


@routes.get("/api/audits/{audit_id}/report.html")
async def report_html(request: web.Request) -> web.Response:
    await require(request, "read")
    return await auditpage.report(request, request.match_info["audit_id"])


def int_arg(request: web.Request, name: str, default: int) -> int:
    try:
        return max(0, int(request.query.get(name, default)))
    except ValueError:
        raise errors.BadRequest(f"{name} must be a whole number") from None


_ID = {"name": "audit_id", "in": "path", "required": True, "schema": {"type": "string"}}
_FP = {"name": "fingerprint", "in": "path", "required": True, "schema": {"type": "string"}}
OPENAPI_PATHS: dict[str, Any] = {
    "/api/audits": {
        "post": {"operationId": "runAudit", "summary": "Run an audit now (admin): one job per target",
                 "responses": {**openapi.ok("Accepted: follow status_url", status="202"), **openapi.err(400, 401, 403, 429)}},
        "get": {"operationId": "listAudits", "summary": "Audit runs, newest first",
                "responses": {**openapi.ok("Runs"), **openapi.err(401, 403, 429)}}},
    "/api/audits/findings": {"get": {
        "operationId": "auditFindings", "summary": "Tracked findings in work order (paged)",
        "parameters": [{"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
                       for n in ("state", "target", "severity", "snoozed", "offset", "limit")],
        "responses": {**openapi.ok("Findings"), **openapi.err(400, 401, 403, 429)}}},
    "/api/audits/findings/{fingerprint}/ack": {"post": {
        "operationId": "ackFinding", "summary": "Acknowledge a finding (admin)", "parameters": [_FP],
        "responses": {**openapi.ok("The finding"), **openapi.err(401, 403, 404, 429)}}},
    "/api/audits/findings/{fingerprint}/snooze": {"post": {
        "operationId": "snoozeFinding", "summary": "Hide a finding from the queue until a date (admin)", "parameters": [_FP],
        "responses": {**openapi.ok("The finding"), **openapi.err(400, 401, 403, 404, 429)}}},
    "/api/audits/{audit_id}": {"get": {
        "operationId": "getAudit", "summary": "One audit report (JSON)", "parameters": [_ID],
        "responses": {**openapi.ok("The report"), **openapi.err(401, 403, 404, 429)}}},
    "/api/audits/{audit_id}/report.html": {"get": {
        "operationId": "getAuditReportHtml", "summary": "One audit report (HTML)", "parameters": [_ID],
        "responses": {"200": {"description": "The report", "content": {"text/html": {"schema": {"type": "string"}}}},
                      **openapi.err(401, 403, 404, 429)}}},
}
