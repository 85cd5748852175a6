"""Builds with translate children, written through the store's own methods (as ``seed.py`` does).

A translate child carries what the translate job writes: the ``translate`` stage's outputs
(counts and per-page states) and, once finished, ``result["translation"]``. A settable clock
places each job on the day the trend needs.
"""

from __future__ import annotations

from typing import Any

from pipeline.store import JobSpec, Store
from tests.dashboard.seed import Clock

OWNER = "seed-worker"


def figures(translated: int, stale: int = 0, missing: int = 0, machine: int = 0) -> dict[str, int]:
    return {"translated": translated, "stale": stale, "missing": missing, "machine": machine}


async def build(store: Store, clock: Clock, at: float) -> str:
    """A finished build, the parent of translate children."""
    clock.now = at
    job = (await store.submit(JobSpec(kind="build", trigger={"kind": "api", "token": "seed"}, dedupe=False))).job
    claimed = await store.claim_next(OWNER, ["build"], 3600)
    assert claimed is not None and claimed.id == job.id
    clock.now = at + 5
    assert await store.finish(job.id, OWNER, "COMPLETED", result={})
    return job.id


async def translation(store: Store, clock: Clock, parent: str, lang: str, at: float, counts: dict[str, int] | None,
                      *, pages: dict[str, str] | None = None, status: str = "COMPLETED", finish: bool = True,
                      live_url: str | None = None) -> str:
    """One language's translate job of ``parent``: started at ``at``, its translate stage passed
    with ``counts`` (None: it failed before counting), finished 10 s later unless ``finish`` is
    False (then it stays PROCESSING under a one-hour lease, for live updates)."""
    job_id = await start(store, clock, parent, lang, at)
    if counts is None:
        clock.now = at + 2
        await store.stage_finished(job_id, OWNER, "translate", status="failed", counts={}, findings=[], findings_total=0,
                                   artifacts={}, outputs={}, error_code="po_invalid")
    else:
        await stage_done(store, clock, job_id, lang, at + 2, counts, pages)
    if finish:
        await complete(store, clock, job_id, lang, at + 10, counts, status=status, live_url=live_url)
    return job_id


async def start(store: Store, clock: Clock, parent: str, lang: str, at: float) -> str:
    """A translate child of ``parent`` claimed by the seed worker (one-hour lease), its translate stage running."""
    clock.now = at
    job = (await store.submit(JobSpec(kind="translate", parent_id=parent, payload={"language": lang, "build_id": parent},
                                      trigger={"kind": "api", "token": "seed", "build_id": parent}, dedupe=False))).job
    claimed = await store.claim_next(OWNER, ["translate"], 3600)
    assert claimed is not None and claimed.id == job.id, "seed translate jobs are claimed one at a time"
    await store.stage_started(job.id, OWNER, "translate", 0, ["translate", "render_html", "deploy"])
    return job.id


def outputs(lang: str, counts: dict[str, int], pages: dict[str, str] | None) -> dict[str, Any]:
    total = sum(counts.values())
    return {"language": lang, "source_language": "en", "overlay_dir": f"translate/{lang}", "source_pages": total,
            **counts, "completion": round(counts["translated"] / total * 100, 1) if total else 0.0,
            "pages": {path: {"state": state, "origin": "none", "path": path} for path, state in (pages or {}).items()}}


async def stage_done(store: Store, clock: Clock | None, job_id: str, lang: str, at: float, counts: dict[str, int],
                     pages: dict[str, str] | None = None) -> None:
    """The translate stage passed with ``counts`` (``clock`` None: the store's own clock)."""
    if clock is not None:
        clock.now = at
    assert await store.stage_finished(job_id, OWNER, "translate", status="passed", counts=dict(counts), findings=[],
                                      findings_total=0, artifacts={}, outputs=outputs(lang, counts, pages))


async def complete(store: Store, clock: Clock | None, job_id: str, lang: str, at: float, counts: dict[str, int] | None,
                   *, status: str = "COMPLETED", live_url: str | None = None) -> None:
    """Finish a seeded translate job with the result the translate job writes."""
    if clock is not None:
        clock.now = at
    result: dict[str, Any] = {}
    if counts is not None:
        out = outputs(lang, counts, None)
        result["translation"] = {k: out[k] for k in ("language", "completion", "translated", "stale", "missing",
                                                     "machine", "source_pages")} | {
            "published": status == "COMPLETED", "needs_review": counts["machine"] > 0, "reason": "seeded",
            "live_url": live_url if status == "COMPLETED" else None, "preview_url": None}
    else:  # as the translate job writes it when it stopped before counting
        result["translation"] = {"language": lang, "completion": None, "translated": None, "stale": None, "missing": None,
                                 "machine": None, "published": False, "needs_review": False, "reason": None,
                                 "live_url": None, "preview_url": None}
    assert await store.finish(job_id, OWNER, status, result=result,
                              error_code=None if status == "COMPLETED" else "po_invalid",
                              error_message=None if status == "COMPLETED" else "seeded failure",
                              error_stage=None if status == "COMPLETED" else "translate")
