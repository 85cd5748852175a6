"""Turning jobs, stages and events into what the templates show.

Pure functions of plain data, so the pages stay thin and these are unit-tested without a server.
Status is never colour alone: every status carries a word and an icon name as well.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from typing import Any

from pipeline import redact
from pipeline.store import Job, JobStatus

STATUS: dict[str, tuple[str, str]] = {
    JobStatus.PENDING: ("Pending", "clock"),
    JobStatus.PROCESSING: ("Running", "spin"),
    JobStatus.COMPLETED: ("Completed", "check"),
    JobStatus.FAILED: ("Failed", "cross"),
    JobStatus.CANCELLED: ("Cancelled", "stop"),
}
STAGE_STATUS = {
    "pending": ("waiting", "clock"),
    "running": ("running", "spin"),
    "passed": ("passed", "check"),
    "failed": ("failed", "cross"),
    "skipped": ("skipped", "skip"),
    "degraded": ("degraded", "warn"),
}
TRIGGER_KINDS = {"api": "API", "folder": "Folder", "watch": "Folder", "commit": "Commit", "git": "Commit",
                 "hook": "Commit", "webhook": "Webhook", "github": "Webhook", "gitlab": "Webhook",
                 "generic": "Webhook", "schedule": "Schedule", "cli": "CLI"}
FILTERS = ("status", "branch", "trigger", "kind")


def status_badge(status: str) -> dict[str, str]:
    label, icon = STATUS.get(status, (status.title(), "dot"))
    return {"status": status, "label": label, "icon": icon, "css": status.lower()}


def stage_badge(status: str) -> dict[str, str]:
    label, icon = STAGE_STATUS.get(status, (status, "dot"))
    return {"status": status, "label": label, "icon": icon, "css": status}


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def clock(ts: float | None) -> str:
    """UTC wall time; the page's script rewrites it in the reader's time zone."""
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def seconds(value: float | None) -> str:
    if value is None:
        return ""
    value = max(0.0, value)
    if value < 10:
        return f"{value:.1f} s"
    if value < 60:
        return f"{value:.0f} s"
    minutes, secs = divmod(int(value), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def trigger_view(trigger: dict[str, Any] | None) -> dict[str, Any]:
    """Who or what started the job, in the fields the builds table shows."""
    t = dict(trigger or {})
    kind = str(t.get("kind") or "api")
    if t.get("sha") and kind == "api" and t.get("repository") and t.get("delivery"):
        kind = "webhook"
    view: dict[str, Any] = {"kind": kind, "label": TRIGGER_KINDS.get(kind, kind.title()), "detail": "", "sha": None,
                            "author": t.get("author"), "message": None, "branch": t.get("branch"),
                            "folder": t.get("folder")}
    if t.get("sha"):
        view["sha"] = str(t["sha"])[:10]
    pr = t.get("pull_request")
    if isinstance(pr, dict) and isinstance(pr.get("number"), int):
        view["pr"] = {"number": pr["number"], "url": web_link(pr.get("url"))}
    if t.get("message"):
        view["message"] = str(t["message"]).splitlines()[0][:120]
    if view["folder"]:
        view["detail"] = str(view["folder"])
    elif t.get("repository"):
        view["detail"] = redact.redact_url(str(t["repository"]))  # rows stored before URLs were redacted on submit
    elif t.get("token"):
        view["detail"] = f"token {t['token']}"
    return view


def web_link(value: Any) -> str | None:
    """An http(s) URL from user content, else None: never a ``javascript:`` or ``data:`` link."""
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) else None


def typical_duration(durations: list[float]) -> float | None:
    return statistics.median(durations) if durations else None


def eta(job: Job, position: int | None, typical: float | None, workers: int) -> float | None:
    """The same estimate as :func:`pipeline.jobs.status.eta`, from durations fetched once per page."""
    if typical is None:
        return None
    if job.status == JobStatus.PENDING:
        return typical * (1 + max(0, (position or 1) - 1) / max(1, workers))
    if job.status == JobStatus.PROCESSING:
        return max(0.0, typical * (1 - (job.progress or 0.0) / 100.0))
    return None


def broken_links(job: Job) -> int:
    counts = (job.result or {}).get("counts") or {}
    return int(counts.get("linkcheck.broken") or 0)


def row_view(job: Job, *, position: int | None = None, eta_seconds: float | None = None,
             now: float | None = None) -> dict[str, Any]:
    """One row of the builds table (also the live-update fragment)."""
    now = time.time() if now is None else now
    result = job.result or {}
    if job.started_at and job.finished_at:
        duration = job.finished_at - job.started_at
    elif job.started_at and job.status == JobStatus.PROCESSING:
        duration = now - job.started_at
    else:
        duration = None
    review = result.get("review") if isinstance(result.get("review"), dict) else None
    return {
        "id": job.id, "kind": job.kind, "badge": status_badge(job.status), "status": job.status,
        "stage": job.stage if job.status == JobStatus.PROCESSING else (job.error_stage if job.status == JobStatus.FAILED else None),
        "progress": round(job.progress or 0.0), "position": position, "eta": seconds(eta_seconds) if eta_seconds is not None else "",
        "duration": seconds(duration), "created": iso(job.created_at), "created_text": clock(job.created_at),
        "warnings": int(result.get("warnings") or 0), "broken": broken_links(job),
        "trigger": trigger_view(job.trigger), "branch": job.supersede_key, "dead": job.dead,
        "cancel_requested": job.cancel_requested, "error": job.error_code, "attempt": job.attempt,
        "review": review.get("state") if review else None,
    }


def matches(job: Job, filters: dict[str, str]) -> bool:
    """Whether a job belongs in the builds table under ``filters`` (for rows that arrive live)."""
    if filters.get("status") and job.status not in filters["status"].split(","):
        return False
    kind = filters.get("kind") or "build"
    if kind != "all" and job.kind not in kind.split(","):
        return False
    if filters.get("branch") and job.supersede_key != filters["branch"]:
        return False
    return not (filters.get("trigger") and (job.trigger or {}).get("kind") != filters["trigger"])


def timeline(job: Job, stages: list[dict[str, Any]], now: float | None = None) -> dict[str, Any]:
    """Gantt bars as percentages of the job's whole life (queue wait included)."""
    now = time.time() if now is None else now
    t0 = job.created_at
    end = job.finished_at or now
    for s in stages:
        end = max(end, s.get("finished_at") or (now if s.get("started_at") else 0))
    span = max(end - t0, 1e-3)

    def bar(start: float, stop: float) -> dict[str, float]:
        left = max(0.0, min(100.0, (start - t0) / span * 100))
        width = max(0.4, min(100.0 - left, (stop - start) / span * 100))
        return {"left": round(left, 2), "width": round(width, 2)}

    bars: list[dict[str, Any]] = []
    queue_end = job.started_at or (job.finished_at if job.status == JobStatus.CANCELLED else None) or now
    bars.append({"name": "queue", "label": "queue wait", "badge": {"css": "queue", "label": "queued" if job.started_at or job.finished else "waiting", "icon": "clock"},
                 "duration": seconds(queue_end - t0), "empty": False, **bar(t0, queue_end)})
    for s in stages:
        badge = stage_badge(s["status"])
        start = s.get("started_at")
        if start is None:
            bars.append({"name": s["name"], "label": s["name"], "badge": badge, "duration": "", "left": 0, "width": 0,
                         "empty": True})
            continue
        stop = s.get("finished_at") or now
        bars.append({"name": s["name"], "label": s["name"], "badge": badge, "duration": seconds(stop - start),
                     "counts": s.get("counts") or {}, "empty": False, **bar(start, stop)})
    return {"bars": bars, "total": seconds(end - t0), "start": clock(t0), "start_iso": iso(t0)}


def transition_view(ev: dict[str, Any]) -> dict[str, Any]:
    data = ev.get("data") or {}
    if ev["type"] == "status":
        what = f"→ {status_badge(ev.get('status') or '')['label']}"
        extra = ", ".join(f"{k} {v}" for k, v in data.items() if v not in (None, "", False))
    elif ev["type"] == "stage":
        what = f"stage {ev.get('stage')}: {data.get('status', '')}"
        extra = data.get("error_code") or ""
    elif ev["type"] == "cancel_requested":
        what, extra = "cancel requested", data.get("reason") or ""
    else:
        what, extra = ev["type"].replace("_", " "), ", ".join(data.get("keys") or []) if isinstance(data, dict) else ""
    return {"id": ev["id"], "at": iso(ev.get("created_at")), "at_text": clock(ev.get("created_at")),
            "what": what, "extra": extra}


FINDING_SOURCES = {"lint": "lint", "render_html": "render", "linkcheck": "links"}


def findings(stages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Lint findings and broken links as tables (the stage keeps the first 50; the total is counted)."""
    lint: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    lint_total = links_total = 0
    for s in stages:
        rows = [f for f in (s.get("findings") or []) if isinstance(f, dict)]
        if s["name"] == "linkcheck":
            links += rows
            links_total += int(s.get("findings_total") or len(rows))
        elif s["name"] in ("lint", "render_html"):
            lint += rows
            lint_total += int(s.get("findings_total") or len(rows))
    return {"lint": {"rows": lint, "total": lint_total}, "links": {"rows": links, "total": links_total}}
