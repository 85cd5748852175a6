"""Signed webhooks against a receiver that verifies with its own implementation (tests/notify/peers.py)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema_rs
import pytest

from pipeline.notify import deliver, errors, router, schemas, testing, webhook
from tests.notify import peers
from tests.notify.helpers import WEBHOOK_SECRET, build_events, make_config


def final_delivery(config: Any, *, fail: bool = True) -> dict[str, Any]:
    [d] = [d for d in router.plan_deliveries(build_events("job-1", fail=fail)[-1], config) if d["channel"] == "webhook"]
    return d


async def test_signed_post_verifies_independently(receiver: peers.WebhookReceiver, http: aiohttp.ClientSession) -> None:
    config = make_config(receiver=receiver)
    delivery = final_delivery(config)
    clock = testing.FakeClock(1_800_000_123.9)
    result = await deliver.send(delivery, config=config, refs=testing.MemoryRefStore(), http=http, clock=clock)

    [got] = receiver.deliveries
    assert got.verified
    assert got.webhook_id == delivery["idempotency_key"] == result["webhook_id"]
    assert got.timestamp == "1800000123"
    assert result == {"webhook_id": got.webhook_id, "status": 204}
    headers = receiver.requests[0]["headers"]
    assert headers["content-type"] == "application/json" and headers["user-agent"] == webhook.USER_AGENT
    body = got.json
    assert body["type"] == "build.failed" and body["data"]["error"]["code"] == "links_broken"
    assert body["data"]["log_tail"] == [f"log line {i}" for i in range(11, 31)]
    jsonschema_rs.validator_for(schemas.WEBHOOK_SCHEMAS["build.failed"]).validate(body)
    assert WEBHOOK_SECRET not in got.body.decode()


async def test_plain_secret_and_rotation(receiver: peers.WebhookReceiver, http: aiohttp.ClientSession,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    receiver.secret = "plain-shared-secret"
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", "old-secret-value plain-shared-secret")
    config = make_config(receiver=receiver)
    await deliver.send(final_delivery(config), config=config, refs=testing.MemoryRefStore(), http=http)
    [got] = receiver.deliveries
    assert got.verified and got.signature.count("v1,") == 2


async def test_wrong_secret_is_retried_not_dead(receiver: peers.WebhookReceiver, http: aiohttp.ClientSession,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", "not-the-receivers-secret")
    config = make_config(receiver=receiver)
    with pytest.raises(errors.TransientDeliveryError) as info:
        await deliver.send(final_delivery(config), config=config, refs=testing.MemoryRefStore(), http=http)
    assert str(info.value) == "webhook receiver answered HTTP 401"
    assert receiver.deliveries[0].verified is False


async def test_rate_limit_passes_retry_after(receiver: peers.WebhookReceiver, http: aiohttp.ClientSession) -> None:
    receiver.faults = ["429"]
    config = make_config(receiver=receiver)
    with pytest.raises(errors.TransientDeliveryError) as info:
        await deliver.send(final_delivery(config), config=config, refs=testing.MemoryRefStore(), http=http)
    assert info.value.retry_after == 7.0 and str(info.value) == "webhook receiver answered HTTP 429"


async def test_gone_receiver_is_permanent(receiver: peers.WebhookReceiver, http: aiohttp.ClientSession) -> None:
    receiver.status = 410
    config = make_config(receiver=receiver)
    with pytest.raises(errors.PermanentDeliveryError) as info:
        await deliver.send(final_delivery(config), config=config, refs=testing.MemoryRefStore(), http=http)
    assert info.value.code == "webhook_gone"


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "file:///etc/passwd", "http:///nohost", "http://[::1"])
async def test_non_http_urls_are_refused(url: str) -> None:
    config = make_config(notify_overrides={"webhooks": [{"url": url, "secret_env": "TEST_WEBHOOK_SECRET"}]})
    [delivery] = router.plan_deliveries(build_events()[-1], config)
    with pytest.raises(errors.PermanentDeliveryError) as info:
        await deliver.send(delivery, config=config, refs=testing.MemoryRefStore())
    assert info.value.code == "bad_url"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "10.1.2.3", "169.254.169.254", "[::ffff:192.168.0.1]"])
async def test_private_addresses_are_refused_when_configured(receiver: peers.WebhookReceiver, host: str) -> None:
    url = f"http://{host}:{receiver.port}/hook"
    config = make_config(notify_overrides={"allow_private_addresses": False,
                                           "webhooks": [{"url": url, "secret_env": "TEST_WEBHOOK_SECRET"}]})
    driver = testing.RetryDriver(config=config, refs=testing.MemoryRefStore())
    driver.add(router.plan_deliveries(build_events()[-1], config))
    await driver.run()
    [item] = driver.dead
    assert item.attempts == 1 and item.error is not None
    assert item.error["code"] == "forbidden_address"
    assert "allow_private_addresses = false" in item.error["message"]
    assert receiver.requests == []


def test_public_addresses_pass_the_check() -> None:
    assert not webhook.forbidden("93.184.215.14") and not webhook.forbidden("2606:4700::1111")
    assert webhook.forbidden("100.64.0.1") and webhook.forbidden("224.0.0.1") and webhook.forbidden("0.0.0.0")


async def test_renumbered_config_never_sends_to_the_wrong_receiver(receiver: peers.WebhookReceiver,
                                                                   http: aiohttp.ClientSession) -> None:
    config = make_config(receiver=receiver)
    delivery = final_delivery(config)
    moved = make_config(notify_overrides={"webhooks": [
        {"url": "http://127.0.0.1:9/other", "secret_env": "TEST_WEBHOOK_SECRET"},
        {"url": receiver.url, "secret_env": "TEST_WEBHOOK_SECRET"}]})
    await deliver.send(delivery, config=moved, refs=testing.MemoryRefStore(), http=http)
    assert len(receiver.deliveries) == 1
    removed = make_config(notify_overrides={"webhooks": []})
    with pytest.raises(errors.PermanentDeliveryError) as info:
        await deliver.send(delivery, config=removed, refs=testing.MemoryRefStore(), http=http)
    assert info.value.code == "webhook_not_configured"


async def test_missing_secret(receiver: peers.WebhookReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_WEBHOOK_SECRET")
    config = make_config(receiver=receiver)
    with pytest.raises(errors.PermanentDeliveryError) as info:
        await deliver.send(final_delivery(config), config=config, refs=testing.MemoryRefStore())
    assert info.value.code == "secret_missing" and "TEST_WEBHOOK_SECRET" in info.value.message
    assert receiver.requests == []


def test_signature_matches_design_formula() -> None:
    body = json.dumps({"a": 1}).encode()
    header = webhook.sign("plain", "msg_1", 1700000000, body)
    assert peers.verify_signature("plain", {"webhook-id": "msg_1", "webhook-timestamp": "1700000000",
                                            "webhook-signature": header}, body)


async def test_docs_verification_example_accepts_real_deliveries(receiver: peers.WebhookReceiver,
                                                                  http: aiohttp.ClientSession) -> None:
    docs = (Path(__file__).parents[2] / "docs" / "notifications.md").read_text()
    [code] = re.findall(r"```python\n(.*?)```", docs, flags=re.S)
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/notifications.md", "exec"), namespace)
    config = make_config(receiver=receiver)
    await deliver.send(final_delivery(config), config=config, refs=testing.MemoryRefStore(), http=http)
    [got] = receiver.deliveries
    headers = receiver.requests[0]["headers"]
    assert namespace["verify"](WEBHOOK_SECRET, headers, got.body)
    assert not namespace["verify"](WEBHOOK_SECRET, headers, got.body + b" ")
    stale = {**headers, "webhook-timestamp": str(int(time.time()) - 3600)}
    assert not namespace["verify"](WEBHOOK_SECRET, stale, got.body)
