"""Two stores on one PostgreSQL, as two daemons see it: clocks that disagree, a newer schema,
and wake-ups through LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from pipeline.store import JobSpec, Store, tables
from pipeline.store.engine import known_schema

pytestmark = pytest.mark.postgres

OpenStore = Callable[..., Awaitable[Store]]
SKEW = 600.0  # ten minutes
# A daemon runs on the wall clock, so it follows the server by default; an injected clock must ask (server_clock=True).


@pytest.fixture
def pg_url(pg_server: Any) -> str:
    return pg_server.new_database()  # type: ignore[no-any-return]


@pytest.fixture
async def open_store(pg_url: str) -> AsyncIterator[OpenStore]:
    """``await open_store(**kw)``: a store on this test's database, closed when the test ends."""
    opened: list[Store] = []

    async def open_(**kw: Any) -> Store:
        store = await Store.open(pg_url, **kw)
        opened.append(store)
        return store

    yield open_
    for store in reversed(opened):
        await store.close()


async def test_a_fast_clock_does_not_take_live_jobs(open_store: OpenStore) -> None:
    good = await open_store()
    fast = await open_store(clock=lambda: time.time() + SKEW, server_clock=True)
    job = (await good.submit(JobSpec(kind="build"))).job
    assert [j.id for j in await good.claim_batch("good", ["build"], 30, 1)] == [job.id]
    # Ten minutes ahead, the lease looks long expired; following the server's clock, it is not.
    assert await fast.reap_expired(lambda _a: 0.0) == []
    assert await good.finish(job.id, "good", "COMPLETED")


async def test_a_slow_clock_cannot_finish_a_job_it_lost(open_store: OpenStore) -> None:
    good = await open_store()
    slow = await open_store(clock=lambda: time.time() - SKEW, server_clock=True)
    job = (await good.submit(JobSpec(kind="build"))).job
    assert [j.id for j in await slow.claim_batch("slow", ["build"], 0.3, 1)] == [job.id]
    await asyncio.sleep(0.5)  # the slow node stops renewing (a stall, a partition)
    assert await good.reap_expired(lambda _a: 0.0) == [job.id]
    assert [j.id for j in await good.claim_batch("good", ["build"], 30, 1)] == [job.id]
    # By its own clock the slow node's lease has ten minutes left; it still cannot write.
    assert not await slow.holds_lease(job.id, "slow")
    assert not await slow.finish(job.id, "slow", "COMPLETED")
    assert not await slow.renew_lease(job.id, "slow", 30)
    assert await good.finish(job.id, "good", "COMPLETED")


async def test_an_older_daemon_refuses_to_claim_after_a_newer_one_migrated(open_store: OpenStore) -> None:
    store = await open_store()
    await store.submit(JobSpec(kind="build"))
    async with store.engines.begin() as conn:  # what a newer daemon's migration leaves behind
        await conn.execute(tables.schema_version.insert().values(version=known_schema() + 1, applied_at=time.time()))
    await store.sync_cluster()
    assert store.schema_ahead == known_schema() + 1
    assert await store.claim_batch("old", ["build"], 30, 1) == []
    assert await store.reap_expired(lambda _a: 0.0) == []


async def test_another_stores_write_wakes_this_ones_waiters(open_store: OpenStore) -> None:
    a = await open_store()
    b = await open_store()
    assert b.listener is not None
    await asyncio.wait_for(b.listener.connected.wait(), 10)
    assert a.listener is not None
    await asyncio.wait_for(a.listener.connected.wait(), 10)
    waiter = asyncio.ensure_future(b.wait_changed(30))
    await asyncio.sleep(0.05)
    await a.submit(JobSpec(kind="build"))
    assert await asyncio.wait_for(waiter, 10) is True  # woken, not timed out (30 s)
    assert b.listener.received >= 1


async def test_the_notification_names_the_sender_and_the_kinds_it_created(open_store: OpenStore) -> None:
    import asyncpg

    from pipeline.store.listen import CHANNEL

    a = await open_store()
    assert a.listener is not None
    await asyncio.wait_for(a.listener.connected.wait(), 10)
    seen: asyncio.Queue[str] = asyncio.Queue()
    watcher = await asyncpg.connect(a.listener.dsn)  # an operator's LISTEN, outside any daemon
    try:
        await watcher.add_listener(CHANNEL, lambda _c, _p, _ch, payload: seen.put_nowait(payload))
        await a.submit(JobSpec(kind="audit"))
        assert await asyncio.wait_for(seen.get(), 10) == f"{a.listener.node} audit"
        job = (await a.claim_batch("w", ["audit"], 30, 1))[0]
        assert await asyncio.wait_for(seen.get(), 10) == f"{a.listener.node} *"  # a claim makes no job
        assert job.kind == "audit"
    finally:
        await watcher.close()


async def test_global_limit_holds_across_stores_claiming_at_once(open_store: OpenStore) -> None:
    a = await open_store(listen=False)
    b = await open_store(listen=False)
    for _ in range(6):
        await a.submit(JobSpec(kind="build", dedupe=False))
    await a.submit(JobSpec(kind="deliver"))
    limits = {"build": 2}
    got = await asyncio.gather(*(s.claim_batch(f"w{i}", ["build", "deliver"], 30, 3, global_limits=limits)
                                 for i, s in enumerate([a, b, a, b])))
    claimed = [j for batch in got for j in batch]
    assert sorted(j.kind for j in claimed) == ["build", "build", "deliver"]
    first = next(j for j in claimed if j.kind == "build")
    assert await a.finish(first.id, first.lease_owner or "", "COMPLETED")
    again = await b.claim_batch("w9", ["build"], 30, 3, global_limits=limits)
    assert len(again) == 1  # one place came free


async def test_target_lock_serialises_deploys_across_stores(open_store: OpenStore) -> None:
    a = await open_store(listen=False)
    b = await open_store(listen=False)
    order: list[str] = []

    async def deploy(store: Store, name: str, target: str, hold: float) -> None:
        async with store.target_lock(target):
            order.append(f"{name}+")
            await asyncio.sleep(hold)
            order.append(f"{name}-")

    first = asyncio.create_task(deploy(a, "a", "production", 0.5))
    await asyncio.sleep(0.1)
    await asyncio.gather(first, deploy(b, "b", "production", 0.0), deploy(b, "s", "staging", 0.0))
    assert order.index("a-") < order.index("b+")  # b waited for a's deploy to the same target
    assert order.index("s+") < order.index("a-")  # another target did not wait


async def test_idle_stores_do_not_wake_each_other_without_end(open_store: OpenStore) -> None:
    """A claim that finds nothing must not notify: two idle workers would wake each other forever."""
    a = await open_store()
    b = await open_store()

    async def idle_worker(store: Store) -> None:
        while True:
            await store.claim_batch("w", ["build"], 30, 4)
            await store.wait_changed(30)

    assert a.listener is not None and b.listener is not None
    await asyncio.wait_for(asyncio.gather(a.listener.connected.wait(), b.listener.connected.wait()), 10)
    loops = [asyncio.create_task(idle_worker(s)) for s in (a, b)]
    await a.submit(JobSpec(kind="deliver"))  # one write nobody here claims
    await asyncio.sleep(1.5)
    for t in loops:
        t.cancel()
    await asyncio.gather(*loops, return_exceptions=True)
    assert a.listener.received + b.listener.received <= 3


async def test_another_stores_finish_wakes_readers_but_not_claimers(open_store: OpenStore) -> None:
    """Only writes that make work (here: new jobs) wake the other daemon's claimers; its claim,
    stage and finish writes reach that daemon's readers (SSE streams) without a claim query."""
    a = await open_store()
    b = await open_store()
    assert a.listener is not None and b.listener is not None
    await asyncio.wait_for(asyncio.gather(a.listener.connected.wait(), b.listener.connected.wait()), 10)
    seen = b.work_seq
    await a.submit(JobSpec(kind="build"))
    assert await asyncio.wait_for(b.wait_work(30, seen), 10) is True  # woken, not timed out (30 s)
    seen, received = b.work_seq, b.listener.received
    reader = asyncio.ensure_future(b.wait_changed(30))
    [job] = await a.claim_batch("w", ["build"], 30, 1)
    assert await asyncio.wait_for(reader, 10) is True
    assert await a.stage_started(job.id, "w", "noop", 0, ["noop"])
    assert await a.finish(job.id, "w", "COMPLETED")
    await a.submit(JobSpec(kind="deliver"))  # notifications arrive in order: this one comes last
    assert await asyncio.wait_for(b.wait_work(30, seen), 10) is True
    assert b.work_seq == seen + 1  # the delivery; the claim, stage and finish woke no claimer
    assert b.listener.received > received


async def test_work_this_daemons_idle_claimer_has_room_for_wakes_no_other_daemon(open_store: OpenStore) -> None:
    """A job submitted to a daemon whose claimer waits with a free slot is claimed there: waking
    the other daemons' claimers for it would only have them run a claim that finds nothing."""
    import asyncpg

    from pipeline.store.listen import CHANNEL

    a = await open_store()
    assert a.listener is not None
    await asyncio.wait_for(a.listener.connected.wait(), 10)
    seen: asyncio.Queue[str] = asyncio.Queue()
    watcher = await asyncpg.connect(a.listener.dsn)
    try:
        await watcher.add_listener(CHANNEL, lambda _c, _p, _ch, payload: seen.put_nowait(payload))
        a.claimer_idle(["build"], 1)
        before = a.work_seq
        await a.submit(JobSpec(kind="build"))  # a's claimer takes it: other daemons' readers hear of it
        assert await asyncio.wait_for(seen.get(), 10) == f"{a.listener.node} *"
        await a.submit(JobSpec(kind="build"))  # no room left here: every daemon's claimers wake
        await a.submit(JobSpec(kind="deliver"))  # a kind a's claimer is not waiting for
        named: set[str] = set()
        while named != {"build", "deliver"}:
            named |= set((await asyncio.wait_for(seen.get(), 10)).split(" ", 1)[1].split(",")) - {"*"}
        assert a.work_seq == before + 3  # a's own claimer woke for all three
    finally:
        await watcher.close()
