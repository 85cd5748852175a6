"""The status contract: one function turns a job (and its stages) into the JSON clients see.

Used by ``GET /api/builds/{id}/status``, the list endpoint, SSE, the CLI, the dashboard and the
notification router, so every surface shows the same fields with the same meaning.
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from typing import Any

from pipeline import errors, redact
from pipeline.notify import callbacks
from pipeline.store import Job, JobStatus, Store
from stages.translate.states import STATES

RETRY_AFTER_PENDING = 2
RETRY_AFTER_PROCESSING = 1


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _nest(flat: dict[str, str], job_id: str) -> dict[str, Any]:
    """``{"pdf.en": "out/pdf/en.pdf"}`` -> ``{"pdf": {"en": "/api/builds/<id>/artifacts/out/pdf/en.pdf"}}``."""
    tree: dict[str, Any] = {}
    for name, path in sorted(flat.items()):
        node = tree
        parts = name.split(".")
        for part in parts[:-1]:
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                nxt = node[part] = {"_": nxt}
            node = nxt
        node[parts[-1]] = f"/api/builds/{job_id}/artifacts/{path}"
    return tree


def stage_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": row["name"],
        "status": row["status"],
        "started_at": iso(row.get("started_at")),
        "finished_at": iso(row.get("finished_at")),
        "duration_seconds": round(row["finished_at"] - row["started_at"], 3) if row.get("finished_at") and row.get("started_at") else None,
        "progress": row.get("progress"),
        "counts": row.get("counts") or {},
        "findings": row.get("findings") or [],
        "findings_total": row.get("findings_total") or 0,
        "error_code": row.get("error_code"),
        "message": row.get("message"),
    }


def job_view(job: Job, stages: list[dict[str, Any]] | None = None, *, queue_position: int | None = None,
             eta_seconds: float | None = None, translations: dict[str, Any] | None = None) -> dict[str, Any]:
    result = job.result or {}
    error = None
    if job.error_code and job.status in (JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.PENDING):
        error = {"code": job.error_code, "message": job.error_message, "stage": job.error_stage,
                 "runbook": errors.runbook(job.error_code)}
    trigger = dict(job.trigger or {})
    for key in ("repository", "url"):  # rows stored before URLs were redacted on the way in
        if isinstance(trigger.get(key), str):
            trigger[key] = redact.redact_url(trigger[key])
    view: dict[str, Any] = {
        "job_id": job.id,
        "kind": job.kind,
        "status": job.status,
        "stage": job.stage,
        "progress": round(job.progress or 0.0, 1),
        "queue_position": queue_position,
        "eta_seconds": None if eta_seconds is None else round(eta_seconds, 1),
        "attempt": job.attempt,
        "max_attempts": job.max_attempts,
        "priority": job.priority,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "duration_seconds": round(job.finished_at - job.started_at, 3) if job.finished_at and job.started_at else None,
        "trigger": trigger,
        "branch": job.supersede_key,
        "target": job.target,
        "parent_id": job.parent_id,
        "dead": job.dead,
        "cancel_requested": job.cancel_requested,
        "stages": [stage_view(s) for s in (stages or [])],
        "translations": translations or {},
        "artifacts": _nest(result.get("artifacts") or {}, job.id),
        "live_url": result.get("live_url"),
        "live_urls": result.get("live_urls") or {},
        "changed_urls": result.get("changed_urls") or [],
        "pdf_urls": ((result.get("outputs") or {}).get("deploy") or {}).get("pdf") or {},
        "warnings": int(result.get("warnings") or 0),
        "degraded": result.get("degraded") or [],
        "review": result.get("review"),
        "openapi": (result.get("outputs") or {}).get("openapi"),
        "error": error,
        "links": {
            "status": f"/api/builds/{job.id}/status",
            "events": f"/api/builds/{job.id}/events",
            "log": f"/api/builds/{job.id}/log",
        },
    }
    if job.kind == "deliver":
        view["delivery"] = {k: v for k, v in (job.payload or {}).items() if k in ("channel", "event", "target", "thread_key")}
    if job.children_total:
        view["children"] = {"total": job.children_total, "done": job.children_done, "failed": job.children_failed}
    return view


def retry_after(job: Job) -> int | None:
    if job.status == JobStatus.PENDING:
        return RETRY_AFTER_PENDING
    if job.status == JobStatus.PROCESSING:
        return RETRY_AFTER_PROCESSING
    return None


async def eta(store: Store, job: Job, queue_position: int | None, workers: int) -> float | None:
    """Seconds until the job is likely done, from the median of recent durations of its kind."""
    durations = await store.recent_durations(job.kind)
    if not durations:
        return None
    typical = statistics.median(durations)
    if job.status == JobStatus.PENDING:
        ahead = max(0, (queue_position or 1) - 1)
        return typical * (1 + ahead / max(1, workers))
    if job.status == JobStatus.PROCESSING:
        done = (job.progress or 0.0) / 100.0
        return max(0.0, typical * (1 - done))
    return None


async def full_view(store: Store, job: Job, *, workers: int = 1) -> dict[str, Any]:
    stages = await store.stages(job.id)
    position = await store.queue_position(job)
    translations: dict[str, Any] = {}
    if job.children_total:
        kids = [c for c in await store.children(job.id) if c.kind == "translate"]
        # a running language's counts are its translate stage's: one read for all of them
        rows = await store.stage_of([c.id for c in kids if not _ended(c)], "translate")
        for child in kids:
            lang = (child.payload or {}).get("language", child.id)
            translations[lang] = translation_entry(child, [rows[child.id]] if child.id in rows else [])
    view = job_view(job, stages, queue_position=position, eta_seconds=await eta(store, job, position, workers),
                    translations=translations)
    if job.kind == "translate":
        view["language"] = (job.payload or {}).get("language")
        view["translation"] = _translation(job, stages)
        view["links"]["translation"] = f"/api/translations/{job.id}/status"
    callback = (job.payload or {}).get("callback")
    if isinstance(callback, dict):
        view["callback"] = callbacks.status_view(callback, await store.deliveries_keyed(callbacks.key_prefix(job.id)))
    return view


TRANSLATION_COUNTS = ("completion", *STATES)


def translate_outputs(stages: list[dict[str, Any]]) -> dict[str, Any]:
    """What a job's ``translate`` stage reported (a copy; empty before it ran)."""
    for row in stages:
        if row.get("name") == "translate" and isinstance(row.get("outputs"), dict):
            return dict(row["outputs"])
    return {}


def _translation(job: Job, stages: list[dict[str, Any]]) -> dict[str, Any]:
    """A translate job's counts: its result once it ended, else what its translate stage reported
    so far (counts are known once that stage passed, long before the language is deployed)."""
    done = (job.result or {}).get("translation")
    if isinstance(done, dict):
        return dict(done)
    outputs = translate_outputs(stages)
    view: dict[str, Any] = {"language": (job.payload or {}).get("language"), "source_pages": outputs.get("source_pages")}
    view.update({k: outputs.get(k) for k in TRANSLATION_COUNTS})
    view.update({"published": False, "needs_review": False, "reason": None, "live_url": None, "preview_url": None})
    return view


def _ended(child: Job) -> bool:
    """A translate job that ended carries its counts in its result; its stages need not be read."""
    return isinstance((child.result or {}).get("translation"), dict)


def translation_entry(child: Job, stages: list[dict[str, Any]]) -> dict[str, Any]:
    """One language in its build's ``translations``: the child's ID, status and counts (``stages``:
    its translate stage's row while it runs)."""
    counts = _translation(child, stages)
    entry: dict[str, Any] = {"translation_id": child.id, "status": child.status}
    entry.update({k: counts.get(k) for k in TRANSLATION_COUNTS})
    entry.update({"live_url": counts.get("live_url"), "preview_url": counts.get("preview_url"),
                  "published": bool(counts.get("published")), "status_url": f"/api/translations/{child.id}/status"})
    return entry
