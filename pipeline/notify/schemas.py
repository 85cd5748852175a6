"""The webhook body contract, one JSON Schema per event, for the OpenAPI ``webhooks`` section.

Bodies are ``{"type": <event>, "timestamp": <ISO 8601>, "data": {...}}``; ``data`` is built by
:func:`pipeline.notify.render.webhook_data`. Receivers may rely on every ``required`` key here;
new optional keys may appear at any time, so schemas allow additional properties. The tests
validate real bodies against these schemas, so code and contract cannot drift apart.
"""

from __future__ import annotations

import copy
from typing import Any

from pipeline.notify.router import PUBLIC_EVENTS

_NULLABLE_STRING: dict[str, Any] = {"type": ["string", "null"]}
_TIMESTAMP: dict[str, Any] = {"type": ["string", "null"], "description": "ISO 8601 UTC time"}

FINDING: dict[str, Any] = {
    "type": "object",
    "description": "One finding of a stage (lint rule hit, broken link, ...).",
    "properties": {
        "file": {"type": ["string", "null"]},
        "line": {"type": ["integer", "null"]},
        "rule": {"type": ["string", "null"]},
        "message": {"type": ["string", "null"]},
    },
}

STAGE: dict[str, Any] = {
    "type": "object",
    "required": ["name", "status"],
    "properties": {
        "name": {"type": "string", "examples": ["lint", "render_html", "render_pdf", "linkcheck", "deploy"]},
        "status": {"enum": ["pending", "running", "passed", "failed", "skipped", "degraded"]},
        "started_at": _TIMESTAMP,
        "finished_at": _TIMESTAMP,
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        "findings": {"type": "array", "maxItems": 5, "items": FINDING, "description": "The first five findings."},
    },
}

ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "description": "Stable snake_case error code"},
        "message": {"type": ["string", "null"]},
        "stage": _NULLABLE_STRING,
        "runbook": {"type": ["string", "null"], "description": "URL of the runbook entry for the code"},
    },
}

DATA: dict[str, Any] = {
    "type": "object",
    "required": ["job_id", "kind", "status", "trigger", "stages", "links"],
    "properties": {
        "job_id": {"type": "string"},
        "kind": {"enum": ["build", "translate", "audit", "promote"]},
        "status": {"enum": ["PENDING", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED"]},
        "branch": _NULLABLE_STRING,
        "language": _NULLABLE_STRING,
        "stage": _NULLABLE_STRING,
        "previous_status": _NULLABLE_STRING,
        "trigger": {
            "type": "object",
            "required": ["kind"],
            "description": "What started the job: folder, commit (sha, author, message, branch), push delivery or API.",
            "properties": {"kind": {"type": "string"}},
        },
        "stages": {"type": "array", "items": STAGE},
        "artifacts": {"type": "object", "description": "Artifact URLs by kind and language, e.g. pdf.en"},
        "live_url": _NULLABLE_STRING,
        "openapi": {"type": ["object", "null"],
                    "description": "API reference changes of this build: specs, changed, summary, breaking, non_breaking"},
        "error": {"oneOf": [{"type": "null"}, ERROR]},
        "created_at": _TIMESTAMP,
        "started_at": _TIMESTAMP,
        "finished_at": _TIMESTAMP,
        "duration_seconds": {"type": ["number", "null"]},
        "links": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"type": "string"}, "log": {"type": "string"}},
        },
        "log_tail": {"type": "array", "maxItems": 20, "items": {"type": "string"},
                     "description": "Last log lines; filled for build.failed and audit.critical only."},
        "details": {"type": "object", "description": "Event-specific extras (audit summary, translation info)."},
    },
}

_EXTRA_REQUIRED: dict[str, dict[str, Any]] = {
    "build.completed": {"properties": {"status": {"const": "COMPLETED"}}},
    "build.fixed": {"properties": {"status": {"const": "COMPLETED"}, "previous_status": {"const": "FAILED"}}},
    "build.failed": {"required": ["error"], "properties": {"status": {"const": "FAILED"}, "error": ERROR}},
    "build.cancelled": {"properties": {"status": {"const": "CANCELLED"}}},
    "translation.ready": {"required": ["language"], "properties": {"language": {"type": "string"}}},
    "promote.completed": {"properties": {"kind": {"const": "promote"}, "status": {"const": "COMPLETED"}}},
    "promote.failed": {"required": ["error"], "properties": {"kind": {"const": "promote"}, "status": {"const": "FAILED"},
                                                             "error": ERROR}},
}

_DESCRIPTIONS = {
    "build.completed": "A build finished with all required stages passed (warnings and degraded PDF allowed).",
    "build.failed": "A required stage failed for good; carries the error, failing stage and last log lines.",
    "build.fixed": "The first success after a failure of the same branch or folder.",
    "build.cancelled": "A build was cancelled by a user or superseded by a newer build of its branch.",
    "review.requested": "A build waits for approval before promotion to production.",
    "translation.ready": "One language of a build was built by its translate job: details.translation has the counts "
                         "(completion, translated, stale, missing, machine, source_pages), published, needs_review, "
                         "reason and live_url or preview_url.",
    "audit.report": "The nightly audit of a deployed site finished; details.summary describes it.",
    "audit.critical": "The audit found critical problems (e.g. a critical page is broken).",
    "promote.completed": "An approved (or automatic) promotion put a build's release live on its target "
                         "(trigger.build_id, target).",
    "promote.failed": "A promotion failed for good; the release stays where it was (error, log_tail).",
}


def _schema(event: str) -> dict[str, Any]:
    data = copy.deepcopy(DATA)
    extra = _EXTRA_REQUIRED.get(event, {})
    data["required"] = data["required"] + extra.get("required", [])
    data["properties"].update(copy.deepcopy(extra.get("properties", {})))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"{event} webhook",
        "description": _DESCRIPTIONS[event],
        "type": "object",
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": {"const": event},
            "timestamp": _TIMESTAMP,
            "data": data,
        },
    }


WEBHOOK_SCHEMAS: dict[str, dict[str, Any]] = {event: _schema(event) for event in PUBLIC_EVENTS}
"""Event type -> JSON Schema of the body POSTed for it."""

SIGNATURE_HEADERS: dict[str, dict[str, Any]] = {
    "webhook-id": {"description": "Idempotency key; identical on every retry of one delivery.", "schema": {"type": "string"}},
    "webhook-timestamp": {"description": "Unix seconds when this attempt was signed.", "schema": {"type": "string"}},
    "webhook-signature": {"description": "Space-separated v1,<base64 HMAC-SHA256 of id.timestamp.body>.", "schema": {"type": "string"}},
}


def openapi_webhooks() -> dict[str, Any]:
    """The OpenAPI 3.1 ``webhooks`` object, ready to merge into the API document."""
    return {
        event: {
            "post": {
                "summary": _DESCRIPTIONS[event],
                "parameters": [{"in": "header", "name": name, "required": True, **spec} for name, spec in SIGNATURE_HEADERS.items()],
                "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
                "responses": {"2XX": {"description": "Received. Any other status is retried with backoff; 410 stops."}},
            }
        }
        for event, schema in WEBHOOK_SCHEMAS.items()
    }
