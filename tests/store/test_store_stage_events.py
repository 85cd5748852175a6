"""A stage write that carries an outbox event (``build.started``, ``build.stage``) runs the
outbox in the stage's own transaction, with the job and its stage rows as that transaction
wrote them (some handed over as written rather than read back)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from pipeline.store import JobSpec, Store, Transition


@pytest.fixture
async def seen_store(store_url: str) -> AsyncIterator[tuple[Store, list[Transition]]]:
    seen: list[Transition] = []

    def outbox(t: Transition) -> list[JobSpec]:
        seen.append(t)
        if t.event == "build.started":
            return [JobSpec(kind="deliver", idempotency_key=f"started:{t.job.id}", trigger={"job_id": t.job.id})]
        return []

    s = await Store.open(store_url, outbox=outbox, listen=False)
    yield s, seen
    await s.close()


async def test_the_outbox_sees_the_stage_rows_and_job_as_stored(seen_store: tuple[Store, list[Transition]]) -> None:
    store, seen = seen_store
    job = (await store.submit(JobSpec(kind="build"))).job
    assert await store.claim_batch("w", ["build"], 30, 1)
    assert await store.stage_started(job.id, "w", "check", 0, ["check", "render"], emit="build.started")
    [started] = seen
    assert started.event == "build.started" and started.job.stage == "check" and started.job.status == "PROCESSING"
    assert started.stages == await store.stages(job.id)
    assert [(s["name"], s["status"]) for s in started.stages] == [("check", "running"), ("render", "pending")]
    assert len((await store.list_jobs(kind="deliver"))[0]) == 1  # caused in the same transaction
    assert await store.stage_finished(job.id, "w", "check", status="passed", counts={"pages": 1}, findings=[],
                                      findings_total=0, artifacts={}, outputs={}, emit="build.stage",
                                      emit_extra={"stage": "check"})
    assert seen[1].event == "build.stage" and seen[1].extra == {"stage": "check"}
    assert seen[1].stages == await store.stages(job.id)
    assert await store.stage_started(job.id, "w", "render", 1, ["check", "render"], emit="build.started")
    assert seen[2].stages == await store.stages(job.id)  # rows already there: read back, as stored


async def test_a_lost_lease_writes_no_stage_and_runs_no_outbox(seen_store: tuple[Store, list[Transition]]) -> None:
    store, seen = seen_store
    job = (await store.submit(JobSpec(kind="build"))).job
    assert await store.claim_batch("w", ["build"], 30, 1)
    assert not await store.stage_started(job.id, "someone-else", "check", 0, ["check"], emit="build.started")
    assert seen == [] and await store.stages(job.id) == []
