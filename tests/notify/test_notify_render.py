"""Templates: the built-in ones carry the facts the issue lists; a folder overrides them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from pipeline import config as config_mod
from pipeline.notify import errors, render, router, schemas, testing
from tests.notify.helpers import build_events


def failed_payload(config: config_mod.Config) -> dict[str, Any]:
    job = testing.make_job(
        "job-7", status="FAILED", stages={"lint": "passed", "render_html": "passed", "render_pdf": "passed", "linkcheck": "failed"},
        error={"code": "links_broken", "message": "2 broken links", "stage": "linkcheck", "runbook": "docs/errors.md#links_broken"},
        artifacts={"pdf": {"en": "/api/builds/job-7/artifacts/out/pdf/en.pdf"}}, live_url="https://docs.example/",
    )
    job["stages"][0]["findings"] = [{"file": f"p{i}.md", "line": i, "rule": "MD013", "message": "line <too> long"} for i in range(8)]
    job["stages"][0]["findings_total"] = 8
    job["stages"][3]["findings"] = [{"file": "a.md", "line": 3, "rule": "broken-link", "message": "404 https://x.example/gone"}]
    event = {"type": "build.failed", "job": job, "log_tail": [f"log line {i}" for i in range(1, 41)]}
    return dict(router.plan_deliveries(event, config)[0]["payload"])


@pytest.fixture
def config() -> config_mod.Config:
    return config_mod.parse({"notify": {"email": {"enabled": True, "to": ["a@x.org"]}},
                             "server": {"public_url": "https://press.example"}})


def test_failure_email_has_every_fact(config: config_mod.Config) -> None:
    subject, text, html = render.render_email(failed_payload(config), config=config, secrets=[])
    assert subject == "[Documentation] Build job-7 failed in linkcheck (main)"
    for fact in ("job-7", "commit 01234567 by Ada on main: Fix the intro", "Duration:   1m 30s", "links_broken",
                 "2 broken links", "https://press.example/docs/errors.md#links_broken", "p4.md:4 MD013",
                 "first 5 of 8", "404 https://x.example/gone", "https://docs.example/",
                 "https://press.example/api/builds/job-7/artifacts/out/pdf/en.pdf", "linkcheck: failed"):
        assert fact in text, fact
    assert "p5.md" not in text
    tail = [line.strip() for line in text.splitlines() if line.strip().startswith("log line")]
    assert tail == [f"log line {i}" for i in range(21, 41)]
    assert "line &lt;too&gt; long" in html and "<too>" not in html


def test_slack_reply_escapes_user_text_and_clips_log(config: config_mod.Config) -> None:
    message = render.render_slack(failed_payload(config), part="reply", config=config, secrets=[])
    text = json.dumps(message["blocks"])
    assert "line &lt;too&gt; long" in text and "<too>" not in text
    assert "<https://press.example/docs/errors.md#links_broken|Runbook for links_broken>" in text
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in message["blocks"])


def test_secrets_are_redacted_from_rendered_text(config: config_mod.Config) -> None:
    payload = failed_payload(config)
    payload["log_tail"] = ["curl -H 'Authorization: Bearer xoxb-leaked-123'"]
    _, text, html = render.render_email(payload, config=config, secrets=["xoxb-leaked-123"])
    assert "xoxb-leaked-123" not in text + html and "[redacted]" in text


def test_template_folder_overrides_builtin(tmp_path: Path) -> None:
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "subject.txt.j2").write_text("Custom: {{ job_id }} {{ event }}")
    config = config_mod.parse({"notify": {"templates": "tpl", "email": {"enabled": True, "to": ["a@x.org"]}}}, root=tmp_path)
    (tmp_path / "tpl").mkdir()
    (tmp_path / "email").rename(tmp_path / "tpl" / "email")
    subject, text, _ = render.render_email(failed_payload(config), config=config, secrets=[])
    assert subject == "Custom: job-7 build.failed"
    assert "links_broken" in text  # the body still comes from the built-in template


def test_broken_template_is_a_permanent_error(tmp_path: Path) -> None:
    (tmp_path / "slack").mkdir()
    (tmp_path / "slack" / "parent.json.j2").write_text("{{ not json")
    config = config_mod.parse({"notify": {"templates": str(tmp_path), "email": {"enabled": True, "to": ["a@x.org"]}}})
    with pytest.raises(errors.PermanentDeliveryError) as info:
        render.render_slack(failed_payload(config), part="parent", config=config, secrets=[])
    assert info.value.code == "template_error"


@pytest.mark.parametrize("etype", router.PUBLIC_EVENTS)
def test_webhook_bodies_match_their_schema(etype: str) -> None:
    config = config_mod.parse({"notify": {"webhooks": [{"url": "https://h.example/x", "secret_env": "S"}]},
                               "languages": {"es": {}}})
    events = build_events("job-3", fail=etype in ("build.failed", "promote.failed"))
    base = events[-1]
    if etype.startswith("promote."):
        event = {**base, "type": etype, "job": {**base["job"], "kind": "promote", "trigger": {"kind": "promotion", "build_id": "job-2"}}}
    elif etype == "build.fixed":
        event = {**base, "previous_status": "FAILED"}
    elif etype in ("build.completed", "build.failed"):
        event = base
    elif etype == "build.cancelled":
        event = {**base, "type": etype, "job": {**base["job"], "status": "CANCELLED"}}
    elif etype == "translation.ready":
        event = {**base, "type": etype, "language": "es", "build_id": "job-3"}
    else:
        event = {**base, "type": etype, "summary": "3 pages stale"}
    [delivery] = router.plan_deliveries(event, config)
    body = json.loads(render.render_webhook(delivery["payload"], config=config, secrets=[]))
    assert body["type"] == etype
    jsonschema_rs.validator_for(schemas.WEBHOOK_SCHEMAS[etype]).validate(body)


def test_openapi_webhooks_cover_every_public_event() -> None:
    hooks = schemas.openapi_webhooks()
    assert set(hooks) == set(router.PUBLIC_EVENTS)
    names = {p["name"] for p in hooks["build.failed"]["post"]["parameters"]}
    assert names == {"webhook-id", "webhook-timestamp", "webhook-signature"}
