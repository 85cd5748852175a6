"""A SQLite store locked by another program: store calls wait off the event loop,
fail with ``store_unavailable`` after ``busy_timeout``, and go on once the lock is released."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline import errors
from pipeline.store import JobSpec, Store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(f"sqlite:///{tmp_path / 'p.db'}", busy_timeout=1.0)
    yield s
    await s.close()


@pytest.fixture
def locker(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection (as a ``sqlite3`` shell would be) that can hold the write lock."""
    conn = sqlite3.connect(tmp_path / "p.db", isolation_level=None, check_same_thread=False)
    yield conn
    conn.close()


class LoopLag:
    """The longest time the event loop went without running a 1 ms timer."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.001)
            self.worst = max(self.worst, time.perf_counter() - t)

    def __enter__(self) -> LoopLag:
        self._task = asyncio.get_running_loop().create_task(self._watch())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def test_a_locked_store_never_holds_the_loop_and_fails_clearly(store: Store, locker: sqlite3.Connection) -> None:
    await store.submit(JobSpec(kind="build"))
    locker.execute("BEGIN IMMEDIATE")
    with LoopLag() as lag:
        started = time.monotonic()
        with pytest.raises(errors.StoreUnavailable) as info:
            await store.claim_batch("w1", ["build"], 30, 1)
        waited = time.monotonic() - started
        with pytest.raises(errors.StoreUnavailable):
            await store.ping()
        # WAL readers are not blocked by a writer: reads keep working meanwhile.
        assert (await store.counts())[("build", "PENDING")] == 1
    print(f"claim waited {waited:.2f} s; worst event-loop stall {lag.worst * 1000:.1f} ms")
    assert 0.9 <= waited < 10, waited
    assert lag.worst < 0.5, f"the event loop stalled {lag.worst:.3f} s (SQLite waited on the loop)"
    assert info.value.code == "store_unavailable" and info.value.http_status == 503
    assert "locked" in info.value.message
    assert store.locked_since is not None
    locker.execute("ROLLBACK")
    assert await store.ping()
    jobs = await store.claim_batch("w1", ["build"], 30, 1)
    assert len(jobs) == 1 and store.locked_since is None


async def test_a_write_waits_for_a_short_lock_instead_of_failing(store: Store, locker: sqlite3.Connection) -> None:
    locker.execute("BEGIN IMMEDIATE")
    loop = asyncio.get_running_loop()
    loop.call_later(0.3, locker.execute, "ROLLBACK")
    with LoopLag() as lag:
        result = await store.submit(JobSpec(kind="build"))
    assert result.created
    assert lag.worst < 0.5, lag.worst


async def test_transactions_never_interleave_while_retrying(store: Store, locker: sqlite3.Connection) -> None:
    """Many writers queue up behind the lock; after it goes, each commits whole (no lost update)."""
    locker.execute("BEGIN IMMEDIATE")
    asyncio.get_running_loop().call_later(0.3, locker.execute, "ROLLBACK")
    results = await asyncio.gather(*(store.submit(JobSpec(kind="build", idempotency_key=f"k{i % 5}")) for i in range(20)))
    assert sum(r.created for r in results) == 5
    assert (await store.counts())[("build", "PENDING")] == 5


async def test_the_worker_waits_out_a_locked_store_and_then_runs_the_queue(
        aiohttp_client: Any, make_config: Any, caplog: pytest.LogCaptureFixture) -> None:
    """The issue's path: claim_batch raised ``database is locked`` and ended Worker.run() for good."""
    from pipeline.api.keys import supervisor_key
    from pipeline.app import create_app
    from tests.conftest import tar_gz

    cfg = make_config(store={"busy_timeout": 0.3})
    app = create_app(cfg)
    client = await aiohttp_client(app)
    locker = sqlite3.connect(cfg.data_path / "pressroom.db", isolation_level=None, check_same_thread=False)
    try:
        with caplog.at_level(logging.WARNING, logger="pipeline.jobs.worker"):
            locker.execute("BEGIN IMMEDIATE")
            resp = await client.get("/healthz")
            body = await resp.json()
            assert resp.status == 503 and body["store"] == "locked" and body["failing"] == ["store"]
            resp = await client.post("/api/builds", data=tar_gz({"en/index.md": "# Hi\n"}),
                                     headers={"Content-Type": "application/gzip"})
            assert resp.status == 503 and (await resp.json())["error"]["code"] == "store_unavailable"
            assert resp.headers["Retry-After"] == "5"
            await asyncio.sleep(1.0)  # several claims time out meanwhile
            locker.execute("ROLLBACK")
        assert "cannot claim jobs" in caplog.text
        assert app[supervisor_key].parts["worker"].state == "running"
        job = await (await client.post("/api/builds", data=tar_gz({"en/index.md": "# Hi\n"}),
                                       headers={"Content-Type": "application/gzip"})).json()
        deadline = time.monotonic() + 30
        while (st := await (await client.get(f"/api/builds/{job['job_id']}/status")).json())["status"] != "COMPLETED":
            assert time.monotonic() < deadline, st
            await asyncio.sleep(0.05)
        assert (await client.get("/healthz")).status == 200
    finally:
        locker.close()


async def test_finishes_batched_while_locked_fail_together(store: Store, locker: sqlite3.Connection) -> None:
    """Group commit: a refused batch is not retried one job at a time (each would wait busy_timeout
    again); the worker retries the results itself once the store answers."""
    for _ in range(5):
        await store.submit(JobSpec(kind="build"))
    jobs = await store.claim_batch("w1", ["build"], 30, 5)
    locker.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    results = await asyncio.gather(*(store.finish(j.id, "w1", "COMPLETED") for j in jobs), return_exceptions=True)
    waited = time.monotonic() - started
    assert all(isinstance(r, errors.StoreUnavailable) for r in results), results
    assert waited < 3.5, f"{waited:.1f} s: the batch was retried job by job"
    locker.execute("ROLLBACK")
    assert await asyncio.gather(*(store.finish(j.id, "w1", "COMPLETED") for j in jobs)) == [True] * 5
