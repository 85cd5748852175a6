"""Slack against a local server speaking the Web API's shape: the exact requests of one build."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from pipeline.notify import deliver, errors, router, testing
from tests.notify import peers
from tests.notify.helpers import SLACK_TOKEN, build_events, make_config


def plan(events: list[dict[str, Any]], config: Any) -> list[dict[str, Any]]:
    return [d for e in events for d in router.plan_deliveries(e, config)]


def calls(slack: peers.FakeSlack) -> list[tuple[str, str | None]]:
    return [(r["method"], r["body"].get("thread_ts")) for r in slack.requests]


async def test_one_thread_per_build_updated_in_place(fake_slack: peers.FakeSlack, http: aiohttp.ClientSession) -> None:
    config = make_config(slack=fake_slack)
    driver = testing.RetryDriver(config=config, refs=testing.MemoryRefStore(), http=http)
    driver.add(plan(build_events("job-1"), config))
    await driver.run()

    assert [t.state for t in driver.tracked] == ["sent"] * 6
    parent_ts = "1800000000.000001"
    assert calls(fake_slack) == [("chat.postMessage", None)] + [("chat.update", None)] * 5 + [("chat.postMessage", parent_ts)]
    assert all(r["auth"] == f"Bearer {SLACK_TOKEN}" for r in fake_slack.requests)
    assert all(r["body"]["channel"] == "C0DOCS" for r in fake_slack.requests if r["method"] == "chat.update")
    assert {r["body"]["ts"] for r in fake_slack.requests if r["method"] == "chat.update"} == {parent_ts}
    parent, reply = fake_slack.messages
    assert parent.ts == parent_ts and parent.thread_ts is None
    assert reply.thread_ts == parent_ts and reply.text == "Build job-1 completed"
    assert parent.text == ":white_check_mark: Build job-1 completed"
    assert [u["text"] for u in parent.updates[:2]] == [":hourglass_flowing_sand: Build job-1 running"] * 2
    assert "deploy passed" in json.dumps(parent.blocks)
    assert driver.tracked[-1].result == {"channel": "C0DOCS", "ts": reply.ts, "thread_ts": parent_ts}


async def test_failure_is_a_reply_with_error_and_log(fake_slack: peers.FakeSlack, http: aiohttp.ClientSession) -> None:
    config = make_config(slack=fake_slack)
    driver = testing.RetryDriver(config=config, refs=testing.MemoryRefStore(), http=http)
    driver.add(plan(build_events("job-2", fail=True), config))
    await driver.run()

    parent, reply = fake_slack.messages
    assert calls(fake_slack) == [("chat.postMessage", None)] + [("chat.update", None)] * 4 + [("chat.postMessage", parent.ts)]
    assert parent.text == ":x: Build job-2 failed in linkcheck"
    blocks = json.dumps(reply.blocks)
    assert "links_broken" in blocks and "log line 30" in blocks and "log line 10" not in blocks
    assert "errors.md#links_broken|Runbook for links_broken" in blocks


async def test_two_builds_make_two_threads(fake_slack: peers.FakeSlack, http: aiohttp.ClientSession) -> None:
    config = make_config(slack=fake_slack)
    driver = testing.RetryDriver(config=config, refs=testing.MemoryRefStore(), http=http)
    a, b = build_events("job-a"), build_events("job-b")
    driver.add(plan([x for pair in zip(a, b, strict=True) for x in pair], config))
    await driver.run()
    parents = [m for m in fake_slack.messages if m.thread_ts is None]
    replies = [m for m in fake_slack.messages if m.thread_ts]
    assert len(parents) == 2 and len(replies) == 2
    assert {r.thread_ts for r in replies} == {p.ts for p in parents}
    assert all(len(p.updates) == 5 for p in parents)


async def test_late_stage_update_does_not_overwrite_final_state(fake_slack: peers.FakeSlack, http: aiohttp.ClientSession) -> None:
    config = make_config(slack=fake_slack)
    events = build_events("job-3")
    deliveries = plan(events, config)
    refs = testing.MemoryRefStore()
    driver = testing.RetryDriver(config=config, refs=refs, http=http)
    driver.add([deliveries[0], deliveries[-1], deliveries[2]])  # started, completed, then a stale stage update
    await driver.run()
    parent = fake_slack.messages[0]
    assert parent.text == ":white_check_mark: Build job-3 completed"
    assert calls(fake_slack) == [("chat.postMessage", None), ("chat.update", None), ("chat.postMessage", parent.ts)]


async def test_final_result_without_parent_starts_the_thread(fake_slack: peers.FakeSlack, http: aiohttp.ClientSession) -> None:
    config = make_config(slack=fake_slack)
    [final] = router.plan_deliveries(build_events("job-4")[-1], config)
    await deliver.send(final, config=config, refs=testing.MemoryRefStore(), http=http)
    parent, reply = fake_slack.messages
    assert reply.thread_ts == parent.ts and parent.text.endswith("completed")


async def test_deleted_parent_starts_a_new_thread(fake_slack: peers.FakeSlack, http: aiohttp.ClientSession) -> None:
    config = make_config(slack=fake_slack)
    started, stage = plan(build_events("job-5")[:2], config)
    refs = testing.MemoryRefStore()
    await deliver.send(started, config=config, refs=refs, http=http)
    fake_slack.messages.clear()
    result = await deliver.send(stage, config=config, refs=refs, http=http)
    assert [m.thread_ts for m in fake_slack.messages] == [None]
    assert result["ts"] == fake_slack.messages[0].ts


async def test_invalid_token_is_permanent_and_not_retried(fake_slack: peers.FakeSlack, http: aiohttp.ClientSession,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_SLACK_TOKEN", "xoxb-revoked")
    config = make_config(slack=fake_slack)
    driver = testing.RetryDriver(config=config, refs=testing.MemoryRefStore(), http=http)
    driver.add(router.plan_deliveries(build_events()[0], config))
    await driver.run()
    [item] = driver.dead
    assert item.attempts == 1 and len(fake_slack.requests) == 1
    assert item.error == {"code": "invalid_auth", "message": "Slack refused the message: invalid_auth"}
    assert "xoxb-revoked" not in json.dumps(driver.state())


async def test_unknown_channel_is_permanent(fake_slack: peers.FakeSlack, http: aiohttp.ClientSession) -> None:
    config = make_config(slack=fake_slack, notify_overrides={"slack": {"channel": "#nowhere"}})
    [delivery] = router.plan_deliveries(build_events()[-1], config)
    with pytest.raises(errors.PermanentDeliveryError) as info:
        await deliver.send(delivery, config=config, refs=testing.MemoryRefStore(), http=http)
    assert info.value.code == "channel_not_found"


async def test_missing_token_is_a_clear_permanent_error(fake_slack: peers.FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_SLACK_TOKEN")
    config = make_config(slack=fake_slack)
    [delivery] = router.plan_deliveries(build_events()[-1], config)
    with pytest.raises(errors.PermanentDeliveryError) as info:
        await deliver.send(delivery, config=config, refs=testing.MemoryRefStore())
    assert info.value.as_dict() == {"code": "secret_missing",
                                    "message": "environment variable TEST_SLACK_TOKEN is not set ([notify.slack] token_env)"}
    assert fake_slack.requests == []


async def test_rate_limit_honours_retry_after(fake_slack: peers.FakeSlack, http: aiohttp.ClientSession) -> None:
    config = make_config(slack=fake_slack, backoff_base=1.0)
    fake_slack.faults = ["429"]
    driver = testing.RetryDriver(config=config, refs=testing.MemoryRefStore(), http=http)
    driver.add(router.plan_deliveries(build_events()[-1], config))
    await driver.run()
    [item] = driver.sent
    assert item.attempts == 2 and item.delays == [7.0]
    assert item.error is None


async def test_incoming_webhook_alternative(fake_slack: peers.FakeSlack, http: aiohttp.ClientSession,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_SLACK_WEBHOOK_URL", fake_slack.webhook_url)
    config = make_config(slack=fake_slack, slack_webhook=True)
    deliveries = plan(build_events("job-6", fail=True), config)
    assert [d["channel"] for d in deliveries] == ["slack_webhook"]
    result = await deliver.send(deliveries[0], config=config, refs=testing.MemoryRefStore(), http=http)
    assert result == {"status": 200}
    [post] = fake_slack.webhook_posts
    assert post["text"] == "Build job-6 failed in linkcheck" and post["blocks"]
    assert fake_slack.requests[0]["auth"] is None


async def test_concurrent_deliveries_of_one_build_share_one_thread(fake_slack: peers.FakeSlack,
                                                                   http: aiohttp.ClientSession) -> None:
    config = make_config(slack=fake_slack)
    refs = testing.MemoryRefStore()
    deliveries = plan(build_events("job-7"), config)
    await asyncio.gather(*(deliver.send(d, config=config, refs=refs, http=http) for d in reversed(deliveries)))
    parents = [m for m in fake_slack.messages if m.thread_ts is None]
    assert len(parents) == 1 and parents[0].text.endswith("completed")
    assert [m.thread_ts for m in fake_slack.messages if m.thread_ts] == [parents[0].ts]


async def test_thread_parent_shows_unannounced_result(fake_slack: peers.FakeSlack, http: aiohttp.ClientSession) -> None:
    config = make_config(slack=fake_slack, notify_overrides={"slack": {"events": ["build.failed"]}})
    driver = testing.RetryDriver(config=config, refs=testing.MemoryRefStore(), http=http)
    driver.add(plan(build_events("job-8"), config))
    await driver.run()
    [parent] = fake_slack.messages
    assert parent.text == ":white_check_mark: Build job-8 completed"
    assert calls(fake_slack) == [("chat.postMessage", None)] + [("chat.update", None)] * 5
