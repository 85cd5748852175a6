"""Which writes wake claimers (the worker loop) and which only readers (SSE, dashboard).

Claimers wake only for writes that make a job claimable: a new job, a requeue, a retry falling
due, a place freed under a cluster-wide limit. Progress, stage and finish writes wake readers
only; at hundreds of jobs a second, a claim query per such write was wasted work.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from pipeline.store import JobSpec, Store


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    s = await Store.open(store_url, listen=False)
    yield s
    await s.close()


async def test_a_new_job_wakes_claimers_and_readers(store: Store) -> None:
    seen = store.work_seq
    claimer = asyncio.ensure_future(store.wait_work(30))
    reader = asyncio.ensure_future(store.wait_changed(30))
    await asyncio.sleep(0)
    await store.submit(JobSpec(kind="build"))
    assert await asyncio.wait_for(claimer, 10) is True  # woken, not timed out (30 s)
    assert await asyncio.wait_for(reader, 10) is True
    assert store.work_seq == seen + 1


async def test_a_jobs_run_and_finish_wake_readers_only(store: Store) -> None:
    job = (await store.submit(JobSpec(kind="build"))).job
    seen = store.work_seq
    reader = asyncio.ensure_future(store.wait_changed(30))
    await asyncio.sleep(0)
    [claimed] = await store.claim_batch("w", ["build"], 30, 4)
    assert await asyncio.wait_for(reader, 10) is True  # a status stream sees PROCESSING
    assert await store.stage_started(job.id, "w", "noop", 0, ["noop"], emit="build.started")
    assert await store.set_progress(job.id, "w", "noop", 50.0, 50.0)
    assert await store.stage_finished(job.id, "w", "noop", status="passed", counts={}, findings=[], findings_total=0,
                                      artifacts={}, outputs={}, emit="build.stage", emit_extra={"stage": "noop"})
    reader = asyncio.ensure_future(store.wait_changed(30))
    await asyncio.sleep(0)
    assert await store.finish(claimed.id, "w", "COMPLETED", result={"ok": True})
    assert await asyncio.wait_for(reader, 10) is True
    assert store.work_seq == seen  # nothing became claimable
    done = await store.get(job.id)
    assert done.status == "COMPLETED" and done.result == {"ok": True}
    assert [s["status"] for s in await store.stages(job.id)] == ["passed"]


async def test_work_announced_while_a_claim_runs_is_not_slept_through(store: Store) -> None:
    seen = store.work_seq  # what the worker reads before it claims
    assert await store.claim_batch("w", ["build"], 30, 4) == []
    await store.submit(JobSpec(kind="build"))  # lands after that claim looked
    assert await asyncio.wait_for(store.wait_work(30, seen), 10) is True
    assert len(await store.claim_batch("w", ["build"], 30, 4)) == 1


async def test_a_retry_wakes_claimers_when_it_falls_due(store: Store) -> None:
    job = (await store.submit(JobSpec(kind="build", max_attempts=3))).job
    assert await store.claim_batch("w", ["build"], 30, 1)
    seen = store.work_seq
    assert await store.retry_later(job.id, "w", delay=600, error_code="x", error_message="later") == "PENDING"
    assert store.work_seq == seen  # not claimable for ten minutes: nobody is woken now
    other = (await store.submit(JobSpec(kind="build", max_attempts=3))).job
    assert await store.claim_batch("w", ["build"], 30, 1)
    seen = store.work_seq
    assert await store.retry_later(other.id, "w", delay=0, error_code="x", error_message="now") == "PENDING"
    assert await asyncio.wait_for(store.wait_work(30, seen), 10) is True
    assert [j.id for j in await store.claim_batch("w", ["build"], 30, 4)] == [other.id]


async def test_a_user_retry_wakes_claimers(store: Store) -> None:
    job = (await store.submit(JobSpec(kind="build"))).job
    assert await store.claim_batch("w", ["build"], 30, 1)
    assert await store.finish(job.id, "w", "FAILED", error_code="x", error_message="broken")
    seen = store.work_seq
    await store.retry(job.id)
    assert store.work_seq == seen + 1


async def test_a_place_freed_under_a_global_limit_wakes_claimers(store: Store) -> None:
    limited = (await store.submit(JobSpec(kind="deploy"))).job
    free = (await store.submit(JobSpec(kind="build"))).job
    claimed = await store.claim_batch("w", ["deploy", "build"], 30, 4, global_limits={"deploy": 1})
    assert {j.id for j in claimed} == {limited.id, free.id}
    seen = store.work_seq
    assert await store.finish(free.id, "w", "COMPLETED")
    assert store.work_seq == seen  # no limit on builds: nothing waits for that place
    assert await store.finish(limited.id, "w", "COMPLETED")
    assert store.work_seq == seen + 1  # another deploy may start now
