"""The OpenAPI 3.1 document for the HTTP API, written by hand to match the routes.

Each module that serves routes declares its own paths beside them (``OPENAPI_PATHS``), and
:func:`document` puts together those of the modules an app mounts (``api/routes.py``), so the
document describes what that server serves and nothing is shared between apps. This module holds
what the fragments share: the schemas, the job ID parameter and the response helpers. A
schemathesis test runs against the document.
"""

from __future__ import annotations

import copy
from typing import Any

from pipeline import __version__
from pipeline.store.model import JobStatus

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
            "status": {"enum": [status.value for status in JobStatus]},
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
            "openapi": {"type": ["object", "null"], "description": "API spec changes of this build: specs, breaking, "
                        "non_breaking ({kind, pointer, message} each), summary; null without [stages.openapi] specs."},
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


def document(paths: dict[str, Any], webhooks: dict[str, Any] | None = None) -> dict[str, Any]:
    """The document for an app serving ``paths`` (``{path: {method: operation}}``) and sending
    ``webhooks`` (the notifications it can deliver)."""
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "pressroom", "version": __version__,
                 "description": "Documentation build and publishing daemon. See docs/api.md for the async contract."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": copy.deepcopy(paths),
        "components": {"schemas": copy.deepcopy(SCHEMAS),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
    if webhooks:
        doc["webhooks"] = copy.deepcopy(webhooks)
    return doc
