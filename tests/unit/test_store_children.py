"""A build's translate children in the store: lease-fenced fan-out, once per key, cancel and retry
of a child or of the whole build, and superseding an older build's languages (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from pipeline import errors
from pipeline.store import Job, JobSpec, Store


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    s = await Store.open(store_url)
    yield s
    await s.close()


def specs(build: Job, langs: tuple[str, ...] = ("es", "de")) -> list[JobSpec]:
    return [JobSpec(kind="translate", parent_id=build.id, payload={"language": lang, "build_id": build.id},
                    idempotency_key=f"{build.id}:translate:{lang}", dedupe=False) for lang in langs]


async def running_build(store: Store, branch: str | None = None) -> Job:
    job = (await store.submit(JobSpec(kind="build", supersede_key=branch))).job
    claimed = await store.claim_next("w1", ["build"], 30)
    assert claimed is not None and claimed.id == job.id
    return claimed


async def counts(store: Store, job_id: str) -> tuple[int, int, int]:
    job = await store.get(job_id)
    return job.children_total, job.children_done, job.children_failed


async def finish_child(store: Store, child: Job, status: str) -> None:
    claimed = await store.claim_next("w2", ["translate"], 30)
    assert claimed is not None and claimed.id == child.id
    assert await store.finish(child.id, "w2", status)


async def test_spawn_is_fenced_and_once_per_key(store: Store) -> None:
    build = await running_build(store)
    assert await store.spawn_children(build.id, "someone-else", specs(build)) is None
    assert await store.children(build.id) == []
    made = await store.spawn_children(build.id, "w1", specs(build))
    assert made is not None and [c.payload["language"] for c in made if c.payload] == ["es", "de"]
    assert all(c.kind == "translate" and c.parent_id == build.id and c.status == "PENDING" for c in made)
    again = await store.spawn_children(build.id, "w1", specs(build))
    assert again is not None and [c.id for c in again] == [c.id for c in made]
    assert await counts(store, build.id) == (2, 0, 0)
    with pytest.raises(ValueError):
        await store.spawn_children(build.id, "w1", [JobSpec(kind="translate", parent_id=build.id)])


async def test_cancel_a_build_cancels_its_live_children(store: Store) -> None:
    build = await running_build(store)
    made = await store.spawn_children(build.id, "w1", specs(build))
    assert made is not None
    es, de = made
    await finish_child(store, es, "COMPLETED")
    assert await store.finish(build.id, "w1", "COMPLETED")
    cancelled = await store.cancel(build.id)
    assert cancelled.status == "COMPLETED"  # the build itself had ended; its running language is stopped
    assert (await store.get(de.id)).status == "CANCELLED"
    assert (await store.get(es.id)).status == "COMPLETED"
    assert await counts(store, build.id) == (2, 2, 1)
    with pytest.raises(errors.InvalidTransition):
        await store.cancel(build.id)


async def test_retry_a_child_and_a_retried_build_requeue_only_what_did_not_complete(store: Store) -> None:
    build = await running_build(store)
    made = await store.spawn_children(build.id, "w1", specs(build))
    assert made is not None
    es, de = made
    await finish_child(store, es, "COMPLETED")
    await store.cancel(de.id)
    assert await counts(store, build.id) == (2, 2, 1)
    retried = await store.retry(de.id)  # a cancelled translation may be retried
    assert retried.status == "PENDING" and await counts(store, build.id) == (2, 1, 0)
    await finish_child(store, retried, "FAILED")
    assert await counts(store, build.id) == (2, 2, 1)

    assert await store.finish(build.id, "w1", "FAILED", error_code="broken_links")
    await store.retry(build.id)
    again = await store.claim_next("w1", ["build"], 30)
    assert again is not None and again.id == build.id
    children = await store.spawn_children(build.id, "w1", specs(build))
    assert children is not None and [c.id for c in children] == [es.id, de.id]
    assert [c.status for c in children] == ["COMPLETED", "PENDING"]
    assert await counts(store, build.id) == (2, 1, 0)
    with pytest.raises(errors.InvalidTransition):
        await store.retry(es.id)
    plain = await running_build(store)
    assert await store.finish(plain.id, "w1", "CANCELLED")
    with pytest.raises(errors.InvalidTransition):
        await store.retry(plain.id)  # only a translation may be retried after a cancel


async def test_a_newer_build_supersedes_the_older_builds_languages(store: Store) -> None:
    old = await running_build(store, "main")
    old_children = await store.spawn_children(old.id, "w1", specs(old))
    assert old_children is not None
    assert await store.finish(old.id, "w1", "COMPLETED")
    running = await store.claim_next("w2", ["translate"], 30)  # es runs, de waits
    assert running is not None and running.id == old_children[0].id
    other = await running_build(store, "feature")
    assert await store.spawn_children(other.id, "w1", specs(other)) is not None
    new = await running_build(store, "main")
    made = await store.spawn_children(new.id, "w1", specs(new, ("de",)))
    assert made is not None
    es = await store.get(old_children[0].id)
    assert es.status == "PROCESSING" and not es.cancel_requested  # another language: left alone
    de = await store.get(old_children[1].id)
    assert (de.status, de.error_code, de.error_message) == ("CANCELLED", "superseded", f"superseded by {made[0].id}")
    made = await store.spawn_children(new.id, "w1", specs(new))
    assert made is not None
    assert (await store.get(old_children[0].id)).cancel_requested  # running: asked to stop
    assert [c.status for c in await store.children(other.id)] == ["PENDING", "PENDING"]
    assert [c.status for c in await store.children(new.id)] == ["PENDING", "PENDING"]
