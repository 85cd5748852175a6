"""OpenAPI entries for the intake routes (``webhooks``, ``hookupload``); ``api/routes.py`` mounts both."""

from __future__ import annotations

from typing import Any

from pipeline.api import openapi

_ACCEPTED: dict[str, Any] = {
    "description": "A job was created or an existing one matched (``duplicate``), or the delivery was ignored "
                   "(``ignored: true`` with a ``reason``, e.g. an unconfigured branch)",
    "content": {"application/json": {"schema": {"type": "object", "properties": {
        "job_id": {"type": "string"}, "status_url": {"type": "string"}, "events_url": {"type": "string"},
        "duplicate": {"type": "boolean"}, "superseded": {"type": "array", "items": {"type": "string"}},
        "ignored": {"type": "boolean"}, "reason": {"type": "string"}}}}},
}
_PONG: dict[str, Any] = {"description": "Ping answered",
                         "content": {"application/json": {"schema": {"type": "object"}}}}


def _hook(op: str, summary: str, headers: list[str], *, ping: bool) -> dict[str, Any]:
    responses: dict[str, Any] = {"202": _ACCEPTED, **openapi.err(400, 401, 413, 429)}
    if ping:
        responses["200"] = _PONG
    return {"post": {
        "operationId": op, "summary": summary, "security": [],
        "parameters": [{"name": h, "in": "header", "required": False, "schema": {"type": "string"}} for h in headers],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": responses,
    }}


OPENAPI_PATHS: dict[str, Any] = {
    "/hooks/github": _hook(
        "githubWebhook", "GitHub push webhook (X-Hub-Signature-256 HMAC of the raw body)",
        ["X-GitHub-Event", "X-GitHub-Delivery", "X-Hub-Signature-256"], ping=True),
    "/hooks/gitlab": _hook(
        "gitlabWebhook", "GitLab push webhook (X-Gitlab-Token)",
        ["X-Gitlab-Event", "X-Gitlab-Token", "X-Gitlab-Event-UUID", "Idempotency-Key"], ping=False),
    "/hooks/generic": _hook(
        "genericWebhook", "Generic signed webhook (webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>)",
        ["webhook-id", "webhook-timestamp", "webhook-signature"], ping=True),
    "/hooks/commit": {"post": {
        "operationId": "commitHook", "summary": "What the post-commit hook sends: git archive of HEAD plus commit facts",
        "parameters": [{"name": "X-Pressroom-Commit", "in": "header", "required": True, "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {
            "application/gzip": {"schema": {"type": "string", "format": "binary"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
        "responses": {"202": _ACCEPTED, **openapi.err(400, 401, 403, 409, 413, 429)},
    }},
}
