"""Jobs with a past, written through the store's own methods under a movable clock.

The dashboard's history views (durations per day, queue depth over 24 hours, dead letters) need
jobs that started and finished at chosen times; a settable clock gives exactly that without
writing SQL outside the store.
"""

from __future__ import annotations

from typing import Any

from pipeline.store import JobSpec, Store


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def finished_job(store: Store, clock: Clock, *, created: float, wait: float, run: float, status: str = "COMPLETED",
                       kind: str = "build", stages: tuple[str, ...] = ("lint", "render_html"), dead: bool = False,
                       trigger: dict[str, Any] | None = None, payload: dict[str, Any] | None = None,
                       branch: str | None = None, error_code: str | None = None, result: dict[str, Any] | None = None) -> str:
    """One job that waited ``wait`` s and ran ``run`` s, its stages splitting the run evenly."""
    clock.now = created
    job = (await store.submit(JobSpec(kind=kind, trigger=trigger or {"kind": "api", "token": "seed"},
                                      payload=payload or {}, supersede_key=branch, dedupe=False))).job
    clock.now = created + wait
    claimed = await store.claim_next("seed-worker", [kind], 3600)
    assert claimed is not None and claimed.id == job.id, "seed jobs are claimed one at a time, oldest first"
    step = run / max(1, len(stages))
    for i, name in enumerate(stages):
        clock.now = created + wait + i * step
        await store.stage_started(job.id, "seed-worker", name, i, list(stages))
        clock.now = created + wait + (i + 1) * step
        failed = status == "FAILED" and i == len(stages) - 1
        await store.stage_finished(job.id, "seed-worker", name, status="failed" if failed else "passed",
                                   counts={}, findings=[], findings_total=0, artifacts={}, outputs={},
                                   error_code=error_code if failed else None)
    clock.now = created + wait + run
    ok = await store.finish(job.id, "seed-worker", status, result=result or {},
                            error_code=error_code if status != "COMPLETED" else None,
                            error_message=f"{error_code} (seeded)" if error_code else None,
                            error_stage=stages[-1] if status == "FAILED" and stages else None, dead=dead)
    assert ok
    return job.id
