"""Review requests and build notifications carry the API change summary, escaped for each channel."""

from __future__ import annotations

import json

import jsonschema_rs

from pipeline import config as config_mod
from pipeline.notify import render, schemas

SUMMARY = "2 breaking changes: DELETE /pets/{id} removed; `limit` now required"


def _job(summary: str = SUMMARY, changed: bool = True) -> dict[str, object]:
    return {"job_id": "build_1", "status": "COMPLETED", "openapi": {"changed": changed, "summary": summary}}


def test_review_requested_and_completed_carry_the_summary() -> None:
    cfg = config_mod.load(None)
    subject, _, _ = render.render_email({"event": "review.requested", "job": _job()}, config=cfg, secrets=[])
    assert subject.endswith(f"waits for approval: {SUMMARY}")
    slack = render.render_slack({"event": "build.completed", "job": _job()}, part="reply", config=cfg, secrets=[])
    assert f"completed (API: {SUMMARY})" in slack["text"]
    unchanged = render.render_slack({"event": "build.completed", "job": _job(changed=False)}, part="reply",
                                    config=cfg, secrets=[])
    assert "API:" not in unchanged["text"]


def test_summary_from_a_hostile_spec_is_escaped() -> None:
    cfg = config_mod.load(None)
    hostile = "1 breaking change: GET /<script>alert(1)</script> <!channel> removed"
    _, _, html = render.render_email({"event": "review.requested", "job": _job(hostile)}, config=cfg, secrets=[])
    assert "<script>" not in html and "&lt;script&gt;" in html
    slack = render.render_slack({"event": "review.requested", "job": _job(hostile)}, part="reply", config=cfg, secrets=[])
    assert "<!channel>" not in slack["blocks"][0]["text"]["text"]


def test_webhook_bodies_carry_the_api_changes() -> None:
    cfg = config_mod.load(None)
    job = {**_job(), "kind": "build", "trigger": {"kind": "api"}, "stages": []}
    body = json.loads(render.render_webhook({"event": "review.requested", "job": job, "links": {"status": "/s"}},
                                            config=cfg, secrets=[]))
    assert body["data"]["openapi"]["summary"] == SUMMARY
    jsonschema_rs.validator_for(schemas.WEBHOOK_SCHEMAS["review.requested"]).validate(body)
