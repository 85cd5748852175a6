"""Config and event builders shared by the notification tests (and the lead's integration tests)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from pipeline import config as config_mod
from pipeline.notify import testing
from tests.notify import peers

SLACK_TOKEN = "xoxb-valid-token-123"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"pressroom-test-webhook-key-32byte").decode()
SMTP_USER, SMTP_PASSWORD = "mailer", "s3cret-smtp-pass"


def make_config(
    *,
    slack: peers.FakeSlack | None = None,
    slack_webhook: bool = False,
    smtp: peers.SmtpPeer | None = None,
    receiver: peers.WebhookReceiver | None = None,
    ca_file: Path | None = None,
    tmp: Path | None = None,
    notify_overrides: dict[str, Any] | None = None,
    **overrides: Any,
) -> config_mod.Config:
    """A validated config wired to the given peers; overrides are merged into ``[notify]``."""
    overrides = {**(notify_overrides or {}), **overrides}
    notify: dict[str, Any] = {"backoff_base": 30.0}
    if slack is not None:
        notify["slack"] = {"enabled": True, "token_env": "TEST_SLACK_TOKEN", "base_url": slack.base_url,
                           "channel": "#docs", "timeout": 2.0}
        if slack_webhook:
            notify["slack"]["webhook_url_env"] = "TEST_SLACK_WEBHOOK_URL"
    if smtp is not None:
        notify["email"] = {"enabled": True, "host": "127.0.0.1", "port": smtp.port, "tls": smtp.tls,
                           "sender": "pressroom@docs.example", "to": ["writers@docs.example"],
                           "events": ["build.*", "review.requested"], "timeout": 2.0}
        if smtp.auth is not None:
            notify["email"].update(username_env="TEST_SMTP_USER", password_env="TEST_SMTP_PASSWORD")
        if ca_file is not None:
            notify["email"]["ca_file"] = str(ca_file)
    if receiver is not None:
        notify["webhooks"] = [{"url": receiver.url, "secret_env": "TEST_WEBHOOK_SECRET", "timeout": 2.0}]
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(notify.get(key), dict):
            notify[key] = {**notify[key], **value}
        else:
            notify[key] = value
    return config_mod.parse({"notify": notify}, root=tmp or Path.cwd())


def build_events(job_id: str = "job-1", *, fail: bool = False) -> list[dict[str, Any]]:
    """The events of one build's life: started, each stage, then completed or failed."""
    names = ["lint", "render_html", "linkcheck", "deploy"]
    states = dict.fromkeys(names, "pending")
    events: list[dict[str, Any]] = [{"type": "build.started", "job": testing.make_job(job_id, stages=dict(states))}]
    for name in names:
        if fail and name == "linkcheck":
            states[name] = "failed"
            error = {"code": "links_broken", "message": "2 broken links", "stage": "linkcheck",
                     "runbook": "docs/errors.md#links_broken"}
            events.append({"type": "build.stage", "stage": name, "job": testing.make_job(job_id, stages=dict(states))})
            events.append({"type": "build.failed", "previous_status": None,
                           "log_tail": [f"log line {i}" for i in range(1, 31)],
                           "job": testing.make_job(job_id, status="FAILED", stages=dict(states), error=error)})
            return events
        states[name] = "passed"
        events.append({"type": "build.stage", "stage": name, "job": testing.make_job(job_id, stages=dict(states))})
    events.append({"type": "build.completed", "previous_status": None,
                   "job": testing.make_job(job_id, status="COMPLETED", stages=dict(states), live_url="http://docs.example/")})
    return events
