"""Peers that are down, fail, hang or drop connections: afterwards every notification has arrived
exactly once from the receiver's point of view (deduplicated by its idempotency key) or is dead-lettered.
Retries run through testing.RetryDriver on a fake clock, so no test waits for a backoff delay.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from pipeline import config as config_mod
from pipeline.notify import backoff, router, testing
from tests.notify import peers
from tests.notify.helpers import (
    SLACK_TOKEN,
    SMTP_PASSWORD,
    SMTP_USER,
    WEBHOOK_SECRET,
    build_events,
    make_config,
)

FAST = {"slack": {"timeout": 0.5}, "email": {"timeout": 0.5}}


def plan(config: config_mod.Config, *job_ids: str, fail: bool = False) -> list[dict[str, Any]]:
    return [d for j in job_ids for e in build_events(j, fail=fail) for d in router.plan_deliveries(e, config)]


def fast(config_kwargs: dict[str, Any]) -> config_mod.Config:
    wanted = {"slack": "slack", "smtp": "email"}
    config = make_config(**config_kwargs, notify_overrides={wanted[k]: FAST[wanted[k]] for k in config_kwargs if k in wanted})
    if "receiver" in config_kwargs:
        hooks = [h.model_copy(update={"timeout": 0.5}) for h in config.notify.webhooks]
        config = config.model_copy(update={"notify": config.notify.model_copy(update={"webhooks": hooks})})
    return config


def assert_slack_once(slack: peers.FakeSlack, refs: testing.MemoryRefStore, job_ids: list[str], replies_per_job: int) -> None:
    unique = slack.unique()
    parents = [m for m in unique if m.thread_ts is None]
    assert len(parents) == len(job_ids)
    for job_id in job_ids:
        ref = refs.data[f"slack.thread:#docs:{job_id}"]
        ts = json.loads(ref)["ts"]
        assert slack.by_ts(ts).text.endswith(("completed", "in linkcheck"))
        assert len([m for m in unique if m.thread_ts == ts]) == replies_per_job
    assert len([m for m in unique if m.thread_ts]) == replies_per_job * len(job_ids)


@pytest.mark.parametrize("faults", [["500", "500"], ["429"], ["hang"], ["close"], ["close_after"],
                                    ["close_after", "500", "close", "close_after"]])
async def test_slack_faults(fake_slack: peers.FakeSlack, http: aiohttp.ClientSession, faults: list[str]) -> None:
    config = fast({"slack": fake_slack})
    refs = testing.MemoryRefStore()
    driver = testing.RetryDriver(config=config, refs=refs, http=http)
    driver.add(plan(config, "job-1", "job-2"))
    fake_slack.faults = list(faults)
    await driver.run()
    assert [t.state for t in driver.tracked] == ["sent"] * 12
    assert fake_slack.faults == []
    assert_slack_once(fake_slack, refs, ["job-1", "job-2"], replies_per_job=1)


async def test_slack_down_for_first_attempts(fake_slack: peers.FakeSlack, http: aiohttp.ClientSession) -> None:
    config = fast({"slack": fake_slack})
    refs = testing.MemoryRefStore()
    driver = testing.RetryDriver(config=config, refs=refs, http=http)
    driver.add(plan(config, "job-1", fail=True))
    await fake_slack.stop()
    await driver.run(max_attempts=2 * len(driver.tracked))
    assert all(t.state == "pending" and t.attempts == 2 for t in driver.tracked)
    assert {t.error["message"] for t in driver.tracked if t.error} == {"Slack API unreachable: ClientConnectorError"}
    await fake_slack.start()
    await driver.run()
    assert len(driver.sent) == len(driver.tracked)
    assert_slack_once(fake_slack, refs, ["job-1"], replies_per_job=1)


@pytest.mark.parametrize("faults", [["451", "451"], ["close"], ["hang"], ["close_after"], ["close_after", "451", "close"]])
async def test_smtp_faults(smtp_factory: Callable[..., peers.SmtpPeer], faults: list[str]) -> None:
    smtp = smtp_factory()
    config = fast({"smtp": smtp})
    driver = testing.RetryDriver(config=config, refs=testing.MemoryRefStore())
    deliveries = plan(config, "job-1", "job-2", fail=True)
    driver.add(deliveries)
    smtp.faults = list(faults)
    await driver.run()
    assert len(driver.sent) == len(deliveries) == 2
    assert sorted(smtp.unique()) == sorted(t.result["message_id"] for t in driver.sent if t.result)


async def test_smtp_down_then_up(smtp_factory: Callable[..., peers.SmtpPeer]) -> None:
    smtp = smtp_factory(start=False)
    config = fast({"smtp": smtp})
    driver = testing.RetryDriver(config=config, refs=testing.MemoryRefStore())
    driver.add(plan(config, "job-1", fail=True))
    await driver.run(max_attempts=2)
    [item] = driver.tracked
    assert item.state == "pending" and item.error is not None and "unreachable" in item.error["message"]
    smtp.start()
    await driver.run()
    assert item.state == "sent" and len(smtp.unique()) == 1


@pytest.mark.parametrize("faults", [["500", "429"], ["hang"], ["close"], ["close_after", "close_after"]])
async def test_webhook_faults(receiver: peers.WebhookReceiver, http: aiohttp.ClientSession, faults: list[str]) -> None:
    config = fast({"receiver": receiver})
    driver = testing.RetryDriver(config=config, refs=testing.MemoryRefStore(), http=http)
    deliveries = plan(config, "job-1", "job-2", "job-3")
    driver.add(deliveries)
    receiver.faults = list(faults)
    await driver.run()
    assert len(driver.sent) == len(deliveries) == 3
    assert sorted(receiver.unique()) == sorted(d["idempotency_key"] for d in deliveries)


async def test_dead_letter_after_last_attempt_then_replay(receiver: peers.WebhookReceiver, http: aiohttp.ClientSession) -> None:
    config = fast({"receiver": receiver})
    notify = config.notify
    driver = testing.RetryDriver(config=config, refs=testing.MemoryRefStore(), http=http)
    driver.add(plan(config, "job-1"))
    await receiver.stop()
    await driver.run()
    [item] = driver.dead
    assert item.attempts == notify.max_attempts == 8 and len(item.delays) == 7
    nominal = backoff.horizon(notify.max_attempts, notify.backoff_base, cap=notify.backoff_max)
    assert nominal * (1 - backoff.JITTER) <= sum(item.delays) <= nominal * (1 + backoff.JITTER)
    assert item.error == {"code": "delivery_transient", "message": "webhook receiver unreachable: ClientConnectorError"}
    await receiver.start()
    driver.replay(item)
    await driver.run()
    assert item.state == "sent" and len(receiver.unique()) == 1


async def test_restart_in_the_middle_of_a_retry_loses_nothing(
    fake_slack: peers.FakeSlack, receiver: peers.WebhookReceiver, smtp_factory: Callable[..., peers.SmtpPeer],
) -> None:
    smtp = smtp_factory()
    config = fast({"slack": fake_slack, "receiver": receiver, "smtp": smtp})
    refs = testing.MemoryRefStore()  # stands for the store: survives the restart
    clock = testing.FakeClock()
    deliveries = plan(config, "job-1", fail=True)
    fake_slack.faults = ["500", "close_after", "hang"]
    receiver.faults = ["close_after"]
    smtp.faults = ["451"]
    async with aiohttp.ClientSession() as http:
        first = testing.RetryDriver(config=config, refs=refs, http=http, clock=clock)
        first.add(deliveries)
        crashing = asyncio.create_task(first.run())
        await fake_slack.hanging.wait()
        crashing.cancel()  # the daemon dies with a Slack request in flight
        with pytest.raises(asyncio.CancelledError):
            await crashing
        state = first.state()
    assert any(t["state"] == "pending" for t in state)

    async with aiohttp.ClientSession() as http:
        second = testing.RetryDriver.from_state(state, config=config, refs=refs, http=http, clock=clock)
        await second.run()
    assert [t.state for t in second.tracked] == ["sent"] * len(deliveries)
    assert_slack_once(fake_slack, refs, ["job-1"], replies_per_job=1)
    assert sorted(receiver.unique()) == sorted(d["idempotency_key"] for d in deliveries if d["channel"] == "webhook")
    assert len(smtp.unique()) == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_no_secret_reaches_logs_results_or_errors(
    fake_slack: peers.FakeSlack, receiver: peers.WebhookReceiver, smtp_factory: Callable[..., peers.SmtpPeer],
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    smtp = smtp_factory(tls="none", auth=True)
    config = fast({"slack": fake_slack, "receiver": receiver, "smtp": smtp})
    secrets = [SLACK_TOKEN, WEBHOOK_SECRET, SMTP_PASSWORD, base64.b64encode(f"\0{SMTP_USER}\0{SMTP_PASSWORD}".encode()).decode()]
    fake_slack.faults, receiver.faults, smtp.faults = ["500", "close_after"], ["close"], ["451"]
    caplog.set_level(logging.DEBUG)
    driver = testing.RetryDriver(config=config, refs=testing.MemoryRefStore(), http=http)
    driver.add(plan(config, "job-1", fail=True))
    await driver.run()
    monkeypatch.setenv("TEST_SLACK_TOKEN", "xoxb-now-revoked-77")
    driver.add(plan(config, "job-2", fail=True))
    await driver.run()
    assert driver.dead and all(t.error and t.error["code"] == "invalid_auth" for t in driver.dead)
    secrets.append("xoxb-now-revoked-77")
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    stored = json.dumps(driver.state())
    for value in secrets:
        assert value not in logged and value not in stored
