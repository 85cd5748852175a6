"""The store's contract: transitions, leases and fencing, idempotency, supersede, fan-in, schedules."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pipeline import errors
from pipeline.store import JobSpec, Store, Transition


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(store_url: str, clock: Clock) -> AsyncIterator[Store]:
    s = await Store.open(store_url, clock=clock)
    yield s
    await s.close()


async def test_claim_lease_and_fencing(store: Store, clock: Clock) -> None:
    job = (await store.submit(JobSpec(kind="build"))).job
    assert job.status == "PENDING" and job.read_token
    claimed = await store.claim_next("w1", ["build"], 30)
    assert claimed and claimed.id == job.id and claimed.attempt == 1 and claimed.lease_owner == "w1"
    assert await store.claim_next("w2", ["build"], 30) is None
    # Lease expires: the reaper re-queues; the old worker can no longer finish (fencing).
    clock.now += 31
    assert await store.reap_expired(lambda attempt: 0.0) == [job.id]
    assert (await store.get(job.id)).status == "PENDING"
    again = await store.claim_next("w2", ["build"], 30)
    assert again and again.attempt == 2
    assert not await store.finish(job.id, "w1", "COMPLETED")
    assert not await store.holds_lease(job.id, "w1")
    assert await store.holds_lease(job.id, "w2")
    assert await store.finish(job.id, "w2", "COMPLETED", result={"x": 1})
    done = await store.get(job.id)
    assert done.status == "COMPLETED" and done.result == {"x": 1} and done.finished_at == clock.now


async def test_attempts_run_out_into_dead_letters(store: Store, clock: Clock) -> None:
    job = (await store.submit(JobSpec(kind="build", max_attempts=2))).job
    for _ in range(2):
        assert await store.claim_next("w", ["build"], 10)
        clock.now += 11
        await store.reap_expired(lambda attempt: 0.0)
    final = await store.get(job.id)
    assert final.status == "FAILED" and final.dead and final.error_code == "lease_expired"
    dead, _ = await store.list_jobs(status="FAILED", dead=True)
    assert [j.id for j in dead] == [job.id]
    retried = await store.retry(job.id)
    assert retried.status == "PENDING" and not retried.dead and retried.attempt == 0


async def test_retry_later_backs_off(store: Store, clock: Clock) -> None:
    job = (await store.submit(JobSpec(kind="build", max_attempts=3))).job
    await store.claim_next("w", ["build"], 10)
    assert await store.retry_later(job.id, "w", delay=5, error_code="boom", error_message="x") == "PENDING"
    assert await store.claim_next("w", ["build"], 10) is None  # not before run_after
    clock.now += 5
    assert (await store.claim_next("w", ["build"], 10)) is not None


async def test_priority_then_age(store: Store, clock: Clock) -> None:
    audit = (await store.submit(JobSpec(kind="audit", priority=10))).job
    clock.now += 1
    b1 = (await store.submit(JobSpec(kind="build", priority=50))).job
    clock.now += 1
    hot = (await store.submit(JobSpec(kind="build", priority=90))).job
    assert await store.queue_position(hot) == 1
    assert await store.queue_position(b1) == 2
    assert await store.queue_position(audit) == 3
    order = [(await store.claim_next("w", ["build", "audit"], 10)).id for _ in range(3)]  # type: ignore[union-attr]
    assert order == [hot.id, b1.id, audit.id]


async def test_idempotency_key_and_conflict(store: Store) -> None:
    a = await store.submit(JobSpec(kind="build", idempotency_key="k1", request_hash="h1"))
    b = await store.submit(JobSpec(kind="build", idempotency_key="k1", request_hash="h1"))
    assert a.created and not b.created and a.job.id == b.job.id
    with pytest.raises(errors.IdempotencyConflict):
        await store.submit(JobSpec(kind="build", idempotency_key="k1", request_hash="other"))


async def test_same_content_maps_to_one_live_job(store: Store) -> None:
    a = await store.submit(JobSpec(kind="build", source_hash="abc", target="staging"))
    b = await store.submit(JobSpec(kind="build", source_hash="abc", target="staging"))
    assert b.job.id == a.job.id and not b.created
    other_target = await store.submit(JobSpec(kind="build", source_hash="abc", target="production"))
    assert other_target.created
    await store.cancel(a.job.id)
    c = await store.submit(JobSpec(kind="build", source_hash="abc", target="staging"))
    assert c.created  # a cancelled job does not swallow a new submission


async def test_newer_build_supersedes_pending(store: Store) -> None:
    old = (await store.submit(JobSpec(kind="build", supersede_key="main"))).job
    running = (await store.submit(JobSpec(kind="build", supersede_key="docs-v2"))).job
    await store.claim_next("w", ["build"], 10)  # takes `old`? no: oldest first -> old
    # `old` is now PROCESSING; a new job supersedes only PENDING ones.
    newer = await store.submit(JobSpec(kind="build", supersede_key="main"))
    assert newer.superseded == []
    newest = await store.submit(JobSpec(kind="build", supersede_key="main"))
    assert newest.superseded == [newer.job.id]
    gone = await store.get(newer.job.id)
    assert gone.status == "CANCELLED" and gone.error_code == "superseded"
    assert (await store.get(running.id)).status == "PENDING"
    assert (await store.get(old.id)).status == "PROCESSING"


async def test_cancel_pending_and_processing(store: Store) -> None:
    a = (await store.submit(JobSpec(kind="build"))).job
    b = (await store.submit(JobSpec(kind="build"))).job
    await store.claim_next("w", ["build"], 10)
    assert (await store.cancel(b.id)).status == "CANCELLED"
    flagged = await store.cancel(a.id)
    assert flagged.status == "PROCESSING" and flagged.cancel_requested
    assert await store.cancel_requested([a.id, b.id]) == {a.id}
    with pytest.raises(errors.InvalidTransition):
        await store.cancel(b.id)
    with pytest.raises(errors.JobNotFound):
        await store.cancel("bld_nope")


async def test_parent_child_fan_in(store: Store) -> None:
    parent = (await store.submit(JobSpec(kind="build"))).job
    kids = [(await store.submit(JobSpec(kind="translate", parent_id=parent.id, payload={"language": lang}))).job
            for lang in ("es", "de")]
    for _ in kids:
        job = await store.claim_next("w", ["translate"], 10)
        assert job is not None
        await store.finish(job.id, "w", "COMPLETED" if job.id == kids[0].id else "FAILED")
    p = await store.get(parent.id)
    assert (p.children_total, p.children_done, p.children_failed) == (2, 2, 1)


async def test_schedule_fires_once_per_fire_time(store: Store) -> None:
    spec = JobSpec(kind="audit", trigger={"kind": "schedule"})
    results = await asyncio.gather(*[store.fire_schedule("nightly", 1234.0, spec) for _ in range(5)])
    assert sum(1 for r in results if r is not None) == 1
    assert await store.fire_schedule("nightly", 1234.0, spec) is None
    assert await store.fire_schedule("nightly", 5678.0, spec) is not None


async def test_outbox_runs_in_the_transition(store_url: str, clock: Clock) -> None:
    seen: list[Transition] = []

    def outbox(t: Transition) -> list[JobSpec]:
        seen.append(t)
        if t.job.kind != "build":
            return []
        return [JobSpec(kind="deliver", idempotency_key=f"{t.job.id}:{t.event}", payload={"event": t.event})]

    s = await Store.open(store_url, clock=clock, outbox=outbox)
    try:
        j1 = (await s.submit(JobSpec(kind="build", supersede_key="main"))).job
        await s.claim_next("w", ["build"], 10)
        await s.finish(j1.id, "w", "FAILED", error_code="lint_failed", error_message="x")
        clock.now += 1
        j2 = (await s.submit(JobSpec(kind="build", supersede_key="main"))).job
        await s.claim_next("w", ["build"], 10)
        await s.finish(j2.id, "w", "COMPLETED")
        assert [t.event for t in seen] == ["build.failed", "build.completed"]
        assert seen[1].previous_status == "FAILED"
        deliveries, _ = await s.list_jobs(kind="deliver")
        assert sorted(d.payload["event"] for d in deliveries) == ["build.completed", "build.failed"]  # type: ignore[index]
    finally:
        await s.close()


async def test_jobs_a_transition_causes_keep_what_their_spec_says(store_url: str, clock: Clock) -> None:
    """Outbox and scheduled jobs take the same insert path as submissions: parent, source hash,
    their own read token, and the parent counts them for fan-in."""

    def outbox(t: Transition) -> list[JobSpec]:
        if t.job.kind != "build":
            return []
        return [JobSpec(kind="translate", idempotency_key=f"{t.job.id}:es", parent_id=t.job.id,
                        source_hash=t.job.source_hash, trigger={"kind": "event", "job_id": t.job.id})]

    s = await Store.open(store_url, clock=clock, outbox=outbox)
    try:
        build = (await s.submit(JobSpec(kind="build", source_hash="abc"))).job
        await s.claim_next("w", ["build"], 10)
        await s.finish(build.id, "w", "COMPLETED")
        [child] = await s.children(build.id)
        assert child.parent_id == build.id and child.source_hash == "abc" and child.read_token
        assert child.read_token != build.read_token and child.dedupe_key is None
        assert (await s.get(build.id)).children_total == 1
        claimed = await s.claim_next("w", ["translate"], 10)
        assert claimed is not None and await s.finish(claimed.id, "w", "COMPLETED")
        parent = await s.get(build.id)
        assert (parent.children_total, parent.children_done, parent.children_failed) == (1, 1, 0)
        scheduled = await s.fire_schedule("nightly", 1234.0, JobSpec(kind="audit", trigger={"kind": "schedule"}))
        assert scheduled is not None and scheduled.read_token and scheduled.parent_id is None
    finally:
        await s.close()


async def test_events_record_every_transition(store: Store) -> None:
    job = (await store.submit(JobSpec(kind="build"))).job
    await store.claim_next("w", ["build"], 10)
    await store.stage_started(job.id, "w", "lint", 0, ["lint", "render_html"])
    await store.set_progress(job.id, "w", "lint", 25.0, 50.0)
    await store.stage_finished(job.id, "w", "lint", status="passed", counts={"files": 3}, findings=[], findings_total=0,
                               artifacts={}, outputs={})
    await store.finish(job.id, "w", "COMPLETED")
    events = await store.events_after(job.id)
    kinds = [(e["type"], e["status"] or (e["data"] or {}).get("status")) for e in events]
    assert kinds[0] == ("status", "PENDING") and kinds[1] == ("status", "PROCESSING") and kinds[-1] == ("status", "COMPLETED")
    assert ("progress", None) in kinds
    stages = await store.stages(job.id)
    assert [(s["name"], s["status"]) for s in stages] == [("lint", "passed"), ("render_html", "pending")]


async def test_one_stage_of_many_jobs_in_one_read(store: Store) -> None:
    """A build's page shows each translate child's counts from its translate stage: one read."""
    jobs = [(await store.submit(JobSpec(kind="translate", payload={"n": i}))).job for i in range(3)]
    for job in jobs[:2]:
        assert await store.claim_next("w", ["translate"], 10) is not None
        await store.stage_started(job.id, "w", "translate", 0, ["translate", "render_html"])
    await store.stage_finished(jobs[0].id, "w", "translate", status="passed", counts={}, findings=[], findings_total=0,
                               artifacts={}, outputs={"translated": 7})
    rows = await store.stage_of([j.id for j in jobs] + [jobs[0].id, "job_unknown"], "translate")
    assert set(rows) == {jobs[0].id, jobs[1].id}  # the third never started; unknown IDs are simply absent
    assert rows[jobs[0].id]["outputs"] == {"translated": 7} and rows[jobs[1].id]["status"] == "running"
    assert await store.stage_of([], "translate") == {}
    assert set(await store.stage_of([jobs[0].id], "render_html")) == {jobs[0].id}  # pending rows count too


async def test_list_pagination_is_stable(store: Store, clock: Clock) -> None:
    ids = []
    for _ in range(7):
        clock.now += 1
        ids.append((await store.submit(JobSpec(kind="build"))).job.id)
    seen, cursor = [], None
    while True:
        page, cursor = await store.list_jobs(limit=3, cursor=cursor)
        seen.extend(j.id for j in page)
        if cursor is None:
            break
    assert seen == list(reversed(ids))


async def test_migrations_match_the_metadata(store_url: str) -> None:
    """Applying the numbered migrations gives the same schema as create_all (and is idempotent)."""
    import sqlalchemy as sa

    from pipeline.store import tables
    from pipeline.store.engine import create_engines, migrate

    engines = create_engines(store_url)
    assert await migrate(engines) >= 1
    assert await migrate(engines) == 0
    async with engines.connect() as conn:
        names = await conn.run_sync(lambda c: sorted(sa.inspect(c).get_table_names()))
        cols = await conn.run_sync(lambda c: {t: sorted(col["name"] for col in sa.inspect(c).get_columns(t)) for t in names})
    await engines.dispose()
    assert names == sorted(tables.metadata.tables)
    for name, table in tables.metadata.tables.items():
        assert cols[name] == sorted(c.name for c in table.columns)


async def test_two_stores_never_claim_the_same_job(store_url: str) -> None:
    """Two daemons (two Store objects, two pools) racing for the same queue."""
    a = await Store.open(store_url)
    b = await Store.open(store_url)
    try:
        for _ in range(40):
            await a.submit(JobSpec(kind="build"))

        async def drain(s: Store, name: str) -> list[str]:
            got = []
            while True:
                job = await s.claim_next(name, ["build"], 30)
                if job is None:
                    return got
                got.append(job.id)
                assert await s.finish(job.id, name, "COMPLETED")

        results = await asyncio.gather(drain(a, "node-a"), drain(b, "node-b"), drain(a, "node-a2"), drain(b, "node-b2"))
        claimed = [job_id for got in results for job_id in got]
        assert len(claimed) == 40 == len(set(claimed))
    finally:
        await a.close()
        await b.close()


@pytest.mark.postgres
@pytest.mark.slow
async def test_a_slow_reaper_cannot_requeue_a_job_another_daemon_moved_on(pg_server: Any, clock: Clock) -> None:
    """Two daemons read the same expired row; the faster one re-queues it, a third claims it and
    completes it; the slower one's write must find the row moved on. Unfenced, it put the
    COMPLETED job back in the queue and it completed twice (seen in the three-daemon fault test)."""
    url = pg_server.new_database()
    slow, fast = await Store.open(url, clock=clock), await Store.open(url, clock=clock)
    try:
        job = (await fast.submit(JobSpec(kind="build"))).job
        assert await fast.claim_next("w1", ["build"], 30)
        clock.now += 31
        real = slow._retry_or_fail

        async def meanwhile(*args: Any, **kw: Any) -> Any:
            # ``slow`` has read the expired row; before it writes, the others move on.
            assert await fast.reap_expired(lambda attempt: 0.0) == [job.id]
            assert await fast.claim_next("w2", ["build"], 30)
            assert await fast.finish(job.id, "w2", "COMPLETED")
            return await real(*args, **kw)

        slow._retry_or_fail = meanwhile  # type: ignore[method-assign]
        assert await slow.reap_expired(lambda attempt: 0.0) == []
        assert (await fast.get(job.id)).status == "COMPLETED"
        statuses = [e["status"] for e in await fast.events_after(job.id) if e["type"] == "status"]
        assert statuses.count("COMPLETED") == 1 and statuses[-1] == "COMPLETED", statuses
    finally:
        await slow.close()
        await fast.close()
