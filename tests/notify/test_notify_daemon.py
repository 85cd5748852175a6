"""Notifications through the whole daemon (the peers are this folder's conftest fixtures): a build's transitions become stored deliveries that
the worker sends to real peers (fake Slack Web API, aiosmtpd, a webhook receiver), with faults."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from pipeline.api.keys import store_key
from pipeline.app import create_app
from tests.conftest import tar_gz
from tests.notify import peers
from tests.notify.helpers import SLACK_TOKEN

GZ = {"Content-Type": "application/gzip"}


def _notify(slack: peers.FakeSlack, smtp: peers.SmtpPeer, hook: peers.WebhookReceiver) -> dict[str, Any]:
    return {
        "backoff_base": 0.05, "backoff_max": 0.2, "max_attempts": 4,
        "slack": {"enabled": True, "token_env": "TEST_SLACK_TOKEN", "base_url": slack.base_url, "channel": "#docs", "timeout": 2},
        "email": {"enabled": True, "host": "127.0.0.1", "port": smtp.port, "to": ["writers@docs.example"],
                  "events": ["build.*"], "timeout": 2},
        "webhooks": [{"url": hook.url, "secret_env": "TEST_WEBHOOK_SECRET", "timeout": 2}],
    }


async def _drain(client: Any, timeout: float = 30) -> list[dict[str, Any]]:
    """Wait until no delivery is pending or running; return all deliveries."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = await (await client.get("/api/deliveries")).json()
        if body["deliveries"] and all(d["status"] in ("COMPLETED", "FAILED") for d in body["deliveries"]):
            return body["deliveries"]  # type: ignore[no-any-return]
        await asyncio.sleep(0.1)
    raise AssertionError(f"deliveries never settled: {body}")


async def test_build_notifies_every_channel_once(aiohttp_client: Any, make_config: Any, fake_slack: peers.FakeSlack,
                                                 smtp_factory: Any, receiver: peers.WebhookReceiver) -> None:
    slack, smtp, hook = fake_slack, smtp_factory(), receiver
    hook.faults = ["500", "close"]  # the receiver fails twice; the delivery is retried
    cfg = make_config(notify=_notify(slack, smtp, hook),)
    client = await aiohttp_client(create_app(cfg))
    job = await (await client.post("/api/builds", data=tar_gz({"en/index.md": "# Hi"}), headers=GZ)).json()
    async with client.get(job["events_url"]) as ev:
        await ev.text()
    deliveries = await _drain(client)
    assert all(d["status"] == "COMPLETED" for d in deliveries), deliveries
    # Slack: one thread for the build, its parent updated to the final state.
    parents = [m for m in slack.unique() if m.thread_ts is None]
    assert len(parents) == 1
    # Webhook: build.completed arrived exactly once (deduplicated by webhook-id), signature checked by the peer.
    events = [d.json["type"] for d in hook.unique().values()]
    assert events.count("build.completed") == 1
    # Email: the completion mail arrived once.
    mails = smtp.unique()
    assert len(mails) >= 1
    assert any(job["job_id"] in m.message.get("Subject", "") or job["job_id"] in str(m.message) for m in mails.values())


async def test_invalid_slack_token_dead_letters_at_once(aiohttp_client: Any, make_config: Any, fake_slack: peers.FakeSlack,
                                                       smtp_factory: Any, receiver: peers.WebhookReceiver,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    slack, smtp, hook = fake_slack, smtp_factory(), receiver
    monkeypatch.setenv("TEST_SLACK_TOKEN", "xoxb-wrong")
    cfg = make_config(notify=_notify(slack, smtp, hook))
    app = create_app(cfg)
    client = await aiohttp_client(app)
    job = await (await client.post("/api/builds", data=tar_gz({"en/index.md": "# Hi"}), headers=GZ)).json()
    async with client.get(job["events_url"]) as ev:
        await ev.text()
    deliveries = await _drain(client)
    slack_ones = [d for d in deliveries if d["delivery"]["channel"] == "slack"]
    assert slack_ones and all(d["status"] == "FAILED" and d["dead"] for d in slack_ones)
    assert all(d["attempt"] == 1 for d in slack_ones)  # no retries for invalid_auth
    assert all(d["error"]["code"] == "invalid_auth" for d in slack_ones)
    assert "xoxb-wrong" not in str(deliveries)
    dead = await (await client.get("/api/deliveries?dead=true")).json()
    assert {d["job_id"] for d in dead["deliveries"]} == {d["job_id"] for d in slack_ones}
    # Fix the token and replay the dead letters: they arrive.
    monkeypatch.setenv("TEST_SLACK_TOKEN", SLACK_TOKEN)
    resp = await client.post("/api/deliveries/retry-dead")
    assert resp.status == 202
    deliveries = await _drain(client)
    assert all(d["status"] == "COMPLETED" for d in deliveries if d["delivery"]["channel"] == "slack")
    assert await app[store_key].dead_count("deliver") == 0
