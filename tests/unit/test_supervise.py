"""Supervised daemon parts: a part that fails is logged with its traceback, restarted
with backoff, and named by /healthz (503) while it is down."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest

from pipeline import supervise
from pipeline.api.keys import metrics_key, store_key, supervisor_key
from pipeline.app import create_app
from tests.conftest import tar_gz


async def _until(check: Any, what: str, limit: float = 20.0) -> Any:
    deadline = time.monotonic() + limit
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_a_part_that_raises_is_logged_and_restarted(caplog: pytest.LogCaptureFixture) -> None:
    restarted: list[str] = []
    sup = supervise.Supervisor(first=0.05, cap=0.2, on_restart=restarted.append)
    calls = 0
    release = asyncio.Event()

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise RuntimeError(f"boom {calls}")
        await release.wait()

    with caplog.at_level(logging.ERROR, logger="pipeline.supervise"):
        sup.start("flaky", flaky)

        async def second_failure() -> bool:
            return calls >= 2 and sup.parts["flaky"].state == "restarting"

        await _until(second_failure, "the second failure")
        assert sup.failing() == ["flaky"]
        view = sup.health()["flaky"]
        assert view["last_error"] == "RuntimeError: boom 2" and view["restarts"] == 2

        async def running() -> bool:
            return sup.parts["flaky"].state == "running" and calls == 3

        await _until(running, "the third start")
    assert sup.failing() == [] and restarted == ["flaky", "flaky"]
    crashes = [r for r in caplog.records if getattr(r, "action", None) == "part_crashed"]
    assert len(crashes) == 2 and crashes[0].exc_info is not None, "the traceback must be logged"
    assert "boom 1" in caplog.text and "Traceback" in caplog.text
    await sup.stop("flaky", grace=1)
    assert sup.parts["flaky"].state == "stopped" and sup.failing() == []


async def test_a_part_that_returns_on_its_own_counts_as_failed() -> None:
    sup = supervise.Supervisor(first=5, cap=5)

    async def quits() -> None:
        return None

    sup.start("quitter", quits)

    async def down() -> bool:
        return sup.parts["quitter"].state == "restarting"

    await _until(down, "the part to be seen down")
    assert sup.parts["quitter"].last_error == "it returned without being asked to stop"
    started = time.monotonic()
    await sup.stop("quitter")  # stopping does not wait out the 5 s backoff
    assert time.monotonic() - started < 4


async def test_stop_asks_first_and_then_cancels() -> None:
    sup = supervise.Supervisor()
    stop_asked = asyncio.Event()

    async def polite() -> None:
        await stop_asked.wait()

    async def stubborn() -> None:
        await asyncio.Event().wait()

    sup.start("polite", polite, stop=stop_asked.set)
    sup.start("stubborn", stubborn, stop=lambda: None)
    await asyncio.sleep(0)
    await sup.stop_all(grace=0.2)
    assert {p.state for p in sup.parts.values()} == {"stopped"}
    assert all(p.task is not None and p.task.done() for p in sup.parts.values())


async def test_healthz_names_a_dead_part_and_the_worker_comes_back(aiohttp_client: Any, make_config: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's defect without the lock: the worker loop raises; it used to end silently while
    /healthz said ok and jobs stayed PENDING."""
    app = create_app(make_config())
    client = await aiohttp_client(app)
    assert (await client.get("/healthz")).status == 200
    store = app[store_key]
    real_claim = store.claim_batch
    broken = True

    async def claim_batch(*args: Any, **kwargs: Any) -> Any:
        if broken:
            raise RuntimeError("claim exploded")
        return await real_claim(*args, **kwargs)

    monkeypatch.setattr(store, "claim_batch", claim_batch)
    sup = app[supervisor_key]

    async def worker_down() -> bool:
        return sup.parts["worker"].state == "restarting"

    await _until(worker_down, "the worker to crash")
    resp = await client.get("/healthz")
    body = await resp.json()
    assert resp.status == 503 and body["status"] == "degraded" and body["store"] == "ok"
    assert "worker" in body["failing"]
    assert body["parts"]["worker"]["last_error"] == "RuntimeError: claim exploded"
    job = await (await client.post("/api/builds", data=tar_gz({"en/index.md": "# Hi\n"}),
                                   headers={"Content-Type": "application/gzip"})).json()
    broken = False

    async def completed() -> bool:
        st = await (await client.get(f"/api/builds/{job['job_id']}/status")).json()
        return bool(st["status"] == "COMPLETED")

    await _until(completed, "the job to complete after the worker restarted", limit=40)
    resp = await client.get("/healthz")
    body = await resp.json()
    assert resp.status == 200 and body["failing"] == [] and body["parts"]["worker"]["restarts"] >= 1
    metrics = (await (await client.get("/metrics")).text())
    assert 'pressroom_part_restarts_total{part="worker"}' in metrics
    assert app[metrics_key].part_restarts.labels("worker")._value.get() >= 1
