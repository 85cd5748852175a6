"""The OpenAPI 3.1 document for the HTTP API, written by hand to match the routes.

Later parts add their paths through :data:`EXTRA_PATHS` / :data:`WEBHOOKS` at import time
(reviews, targets, deliveries, hooks), so the document always describes what the server serves.
A schemathesis test runs against it.
"""

from __future__ import annotations

import copy
from typing import Any

from pipeline import __version__

EXTRA_PATHS: dict[str, dict[str, Any]] = {}
WEBHOOKS: dict[str, dict[str, Any]] = {}

NULLABLE_STR = {"type": ["string", "null"]}
NULLABLE_NUM = {"type": ["number", "null"]}
NULLABLE_INT = {"type": ["integer", "null"]}
JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string"}, "message": {"type": "string"}, "runbook": {"type": "string"},
            "details": {"type": "object"}}}},
    },
    "Submitted": {
        "type": "object", "required": ["job_id", "status", "status_url", "events_url"],
        "properties": {"job_id": {"type": "string"}, "status": {"type": "string"}, "status_url": {"type": "string"},
                       "events_url": {"type": "string"}, "log_url": {"type": "string"},
                       "read_token": NULLABLE_STR, "duplicate": {"type": "boolean"},
                       "superseded": {"type": "array", "items": {"type": "string"}}},
    },
    "Stage": {
        "type": "object", "required": ["name", "status"],
        "properties": {
            "name": {"type": "string"},
            "status": {"enum": ["pending", "running", "passed", "failed", "skipped", "degraded"]},
            "started_at": NULLABLE_STR, "finished_at": NULLABLE_STR, "duration_seconds": NULLABLE_NUM,
            "progress": NULLABLE_NUM, "counts": {"type": "object"}, "findings": {"type": "array"},
            "findings_total": {"type": "integer"}, "error_code": NULLABLE_STR, "message": NULLABLE_STR},
    },
    "Status": {
        "type": "object",
        "required": ["job_id", "kind", "status", "progress", "attempt", "created_at", "stages", "trigger"],
        "properties": {
            "job_id": {"type": "string"},
            "kind": {"enum": ["build", "translate", "audit", "promote", "deliver", "maintenance"]},
            "status": {"enum": ["PENDING", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED"]},
            "stage": NULLABLE_STR, "progress": {"type": "number", "minimum": 0, "maximum": 100},
            "queue_position": NULLABLE_INT, "eta_seconds": NULLABLE_NUM,
            "attempt": {"type": "integer"}, "max_attempts": {"type": "integer"}, "priority": {"type": "integer"},
            "created_at": {"type": "string"}, "started_at": NULLABLE_STR, "finished_at": NULLABLE_STR,
            "duration_seconds": NULLABLE_NUM, "trigger": {"type": "object"}, "branch": NULLABLE_STR,
            "target": NULLABLE_STR, "parent_id": NULLABLE_STR, "dead": {"type": "boolean"},
            "cancel_requested": {"type": "boolean"},
            "stages": {"type": "array", "items": {"$ref": "#/components/schemas/Stage"}},
            "translations": {"type": "object"}, "artifacts": {"type": "object"},
            "live_url": NULLABLE_STR, "live_urls": {"type": "object"},
            "changed_urls": {"type": "array", "items": {"type": "string"}},
            "pdf_urls": {"type": "object"},
            "warnings": {"type": "integer"}, "degraded": {"type": "array"},
            "review": {"type": ["object", "null"]},
            "error": {"oneOf": [{"type": "null"}, {"type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "string"}, "message": NULLABLE_STR, "stage": NULLABLE_STR, "runbook": {"type": "string"}}}]},
            "links": {"type": "object"},
        },
    },
    "JobList": {
        "type": "object", "required": ["jobs", "next"],
        "properties": {"jobs": {"type": "array", "items": {"$ref": "#/components/schemas/Status"}}, "next": NULLABLE_STR},
    },
}


def err(*codes: int) -> dict[str, Any]:
    names = {400: "Bad request", 401: "Missing or invalid token", 403: "Token lacks the scope", 404: "Not found",
             409: "Conflict with the job's state", 413: "Upload too large", 429: "Rate limited (see Retry-After)"}
    return {str(c): {"description": names.get(c, "Error"),
                     "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}} for c in codes}


def ok(description: str, schema_ref: str | None = None, content_type: str = "application/json", status: str = "200") -> dict[str, Any]:
    body: dict[str, Any] = {"description": description}
    if schema_ref:
        body["content"] = {content_type: {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}
    elif content_type != "application/json":
        body["content"] = {content_type: {"schema": {"type": "string"}}}
    return {status: body}


BASE_PATHS: dict[str, Any] = {
    "/api/builds": {
        "post": {
            "operationId": "submitBuild", "summary": "Submit a build (archive upload or JSON source reference)",
            "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"}},
                           {"name": "branch", "in": "query", "required": False, "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": {
                "application/gzip": {"schema": {"type": "string", "format": "binary"}},
                "application/zip": {"schema": {"type": "string", "format": "binary"}},
                "application/json": {"schema": {"type": "object", "required": ["source"], "properties": {
                    "source": {"type": "object", "properties": {"git": {"type": "string", "maxLength": 2048},
                                                                "ref": {"type": "string", "maxLength": 255},
                                                                "path": {"type": "string", "maxLength": 4096}}},
                    "branch": {"type": "string", "maxLength": 200}, "priority": {"type": "integer"},
                    "force": {"type": "boolean"}, "note": {"type": "string", "maxLength": 500},
                    "trigger": {"type": "object", "additionalProperties": False,
                                "properties": {"note": {"type": "string", "maxLength": 500}}}}}}}},
            "responses": {**ok("Accepted: the job is stored; follow status_url", "Submitted", status="202"),
                          **err(400, 401, 403, 409, 413, 429)},
        },
        "get": {
            "operationId": "listBuilds", "summary": "List jobs, newest first, with cursor pagination",
            "parameters": [{"name": n, "in": "query", "required": False, "schema": s} for n, s in [
                ("status", {"type": "string"}), ("kind", {"type": "string"}), ("branch", {"type": "string"}),
                ("trigger", {"type": "string"}), ("dead", {"enum": ["true", "false"]}),
                ("limit", {"type": "integer", "minimum": 1, "maximum": 200}), ("cursor", {"type": "string"})]],
            "responses": {**ok("A page of jobs", "JobList"), **err(400, 401, 403, 429)},
        },
    },
    "/api/builds/{job_id}/status": {"get": {
        "operationId": "getStatus", "summary": "A job's status (Retry-After while it runs)", "parameters": [JOB_ID],
        "responses": {**ok("The job's status", "Status"), **err(401, 403, 404, 429)}}},
    "/api/translations/{job_id}/status": {"get": {
        "operationId": "getTranslationStatus", "summary": "One language's translation job", "parameters": [JOB_ID],
        "responses": {**ok("The translation job's status", "Status"), **err(401, 403, 404, 429)}}},
    "/api/builds/{job_id}/events": {"get": {
        "operationId": "streamEvents", "summary": "Server-Sent Events: one per transition and progress step",
        "parameters": [JOB_ID, {"name": "Last-Event-ID", "in": "header", "required": False, "schema": {"type": "string"}}],
        "responses": {**ok("An event stream", content_type="text/event-stream"), **err(401, 403, 404, 429)}}},
    "/api/builds/{job_id}/log": {"get": {
        "operationId": "getLog", "summary": "The job's log as text", "parameters": [JOB_ID],
        "responses": {**ok("The log", content_type="text/plain"), **err(401, 403, 404, 429)}}},
    "/api/builds/{job_id}/cancel": {"post": {
        "operationId": "cancelBuild", "summary": "Cancel a job (PENDING at once, PROCESSING cooperatively)",
        "parameters": [JOB_ID], "responses": {**ok("Cancel accepted", "Status", status="202"), **err(401, 403, 404, 409, 429)}}},
    "/api/builds/{job_id}/retry": {"post": {
        "operationId": "retryBuild", "summary": "Put a FAILED job back in the queue", "parameters": [JOB_ID],
        "responses": {**ok("Re-queued", "Status", status="202"), **err(401, 403, 404, 409, 429)}}},
    "/healthz": {"get": {"operationId": "healthz", "summary": "Liveness", "security": [],
                         "responses": {"200": {"description": "Healthy", "content": {"application/json": {"schema": {"type": "object"}}}},
                                       "503": {"description": "Store locked or unreachable, or a supervised part down (`failing` names them)",
                                               "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    "/metrics": {"get": {"operationId": "metrics", "summary": "Prometheus metrics", "security": [],
                         "responses": ok("Prometheus text format", content_type="text/plain")}},
    "/api/openapi.json": {"get": {"operationId": "openapi", "summary": "This document", "security": [],
                                  "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
}


def document() -> dict[str, Any]:
    paths = copy.deepcopy(BASE_PATHS)
    for path, ops in EXTRA_PATHS.items():
        paths.setdefault(path, {}).update(copy.deepcopy(ops))
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "pressroom", "version": __version__,
                 "description": "Documentation build and publishing daemon. See docs/api.md for the async contract."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"schemas": copy.deepcopy(SCHEMAS),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
    if WEBHOOKS:
        doc["webhooks"] = copy.deepcopy(WEBHOOKS)
    return doc
