"""Retention prunes old workspaces and logs; job rows and events stay."""

from __future__ import annotations

from pathlib import Path

from pipeline.jobs import retention, workspace
from pipeline.jobs.workspace import Workspace
from pipeline.store import JobSpec, Store


async def test_prune_old_workspaces_keeps_rows(tmp_path: Path) -> None:
    now = [1_000_000.0]
    store = await Store.open(f"sqlite:///{tmp_path / 's.db'}", clock=lambda: now[0])
    data = tmp_path / "data"
    try:
        old = (await store.submit(JobSpec(kind="build"))).job
        await store.claim_next("w", ["build"], 30)
        await store.finish(old.id, "w", "COMPLETED")
        now[0] += 30 * 86400
        fresh = (await store.submit(JobSpec(kind="build"))).job
        await store.claim_next("w", ["build"], 30)
        await store.finish(fresh.id, "w", "COMPLETED")
        running = (await store.submit(JobSpec(kind="build"))).job
        for job in (old, fresh, running):
            ws = Workspace.for_job(data, job.id)
            ws.source.mkdir(parents=True)
            ws.log.write_text("log\n")
        pruned = await retention.prune(store, data, finished_before=now[0] - 14 * 86400)
        assert pruned == [old.id]
        assert not Workspace.for_job(data, old.id).root.exists()
        assert Workspace.for_job(data, fresh.id).log.exists() and Workspace.for_job(data, running.id).root.exists()
        kept = await store.get(old.id)
        assert kept.status == "COMPLETED" and kept.pruned
        assert await store.events_after(old.id)
        assert await retention.prune(store, data, finished_before=now[0] - 14 * 86400) == []
        assert workspace.disk_usage(data) > 0
    finally:
        await store.close()
