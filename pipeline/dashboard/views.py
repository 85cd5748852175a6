"""Page and fragment handlers: builds, build detail, review queue, queue and health.

Every page reads a bounded amount: one page of jobs by keyset pagination, one query for the
queue positions of that page, one for typical durations. Live updates re-render single rows or
the detail's live section through the same templates, so a row looks the same loaded or updated.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from aiohttp import web

from pipeline import errors
from pipeline.api.auth import require
from pipeline.api.http import load_job
from pipeline.api.keys import config_key, store_key
from pipeline.dashboard import charts, diffview, present, translations
from pipeline.dashboard.render import Viewer, env_key, html, page, viewer
from pipeline.jobs import status
from pipeline.jobs.workspace import Workspace
from pipeline.store import Job, JobStatus, Store

PAGE_SIZE = 50
LOG_TAIL_BYTES = 64 * 1024
LOG_CHUNK_BYTES = 256 * 1024
KINDS = ("build", "translate", "audit", "promote", "deliver", "maintenance")


async def rows_for(request: web.Request, jobs: list[Job]) -> list[dict[str, Any]]:
    store = request.app[store_key]
    workers = request.app[config_key].workers.count
    order: dict[str, int] = {}
    if any(j.status == JobStatus.PENDING for j in jobs):
        order = {job_id: i + 1 for i, job_id in enumerate(await store.pending_ids())}
    typical: dict[str, float | None] = {}
    rows = []
    now = time.time()
    for job in jobs:
        position = None
        if job.status == JobStatus.PENDING:
            position = order.get(job.id) or await store.queue_position(job)
        if job.status in (JobStatus.PENDING, JobStatus.PROCESSING) and job.kind not in typical:
            typical[job.kind] = present.typical_duration(await store.recent_durations(job.kind))
        est = present.eta(job, position, typical.get(job.kind), workers)
        rows.append(present.row_view(job, position=position, eta_seconds=est, now=now))
    return rows


def _filters(request: web.Request) -> dict[str, str]:
    return {k: request.query.get(k, "").strip() for k in present.FILTERS}


@page("Builds", "builds")
async def builds_page(request: web.Request, v: Viewer) -> dict[str, Any]:
    store = request.app[store_key]
    filters = _filters(request)
    kind = filters["kind"] or "build"
    after = await store.last_event_id()
    try:
        jobs, nxt = await store.list_jobs(status=filters["status"] or None, kind=None if kind == "all" else kind,
                                          branch=filters["branch"] or None, trigger=filters["trigger"] or None,
                                          limit=PAGE_SIZE, cursor=request.query.get("cursor") or None)
    except ValueError:
        raise errors.BadRequest("the cursor is not valid") from None
    counts = await store.counts()
    summary = {s: sum(n for (k, st), n in counts.items() if st == s and (kind == "all" or k == kind))
               for s in (JobStatus.PENDING, JobStatus.PROCESSING, JobStatus.FAILED)}
    query = {k: val for k, val in filters.items() if val}
    return {"template": "builds.html", "rows": await rows_for(request, jobs), "filters": filters, "query": query,
            "next": nxt, "first_page": not request.query.get("cursor"), "after": after, "summary": summary,
            "kinds": KINDS, "statuses": list(present.STATUS)}


async def rows_fragment(request: web.Request) -> web.Response:
    """``{"rows": {id: "<tr>…" | null}}``: null when the job is gone or no longer matches the filters."""
    await require(request, "read")
    store = request.app[store_key]
    filters = _filters(request)
    ids = [i for i in request.query.get("ids", "").split(",") if i][:PAGE_SIZE * 2]
    jobs: list[Job] = []
    missing: list[str] = []
    for job_id in ids:
        try:
            job = await store.get(job_id)
        except errors.JobNotFound:
            missing.append(job_id)
            continue
        if present.matches(job, filters):
            jobs.append(job)
        else:
            missing.append(job_id)
    template = request.app[env_key].get_template("_row.html")
    out: dict[str, str | None] = dict.fromkeys(missing)
    for row in await rows_for(request, jobs):
        out[row["id"]] = template.render(row=row)
    return web.json_response({"rows": out})


def _artifacts(job: Job, data_dir: Path) -> list[dict[str, str]]:
    """Download links, one per artifact; a directory (the site) links to its index page."""
    flat = (job.result or {}).get("artifacts") or {}
    root = Workspace.for_job(data_dir, job.id).root
    out = []
    for name, rel in sorted(flat.items()):
        rel = str(rel)
        if (root / rel).is_dir():
            index = next((c for c in ("index.html", "en/index.html") if (root / rel / c).is_file()), None)
            if index is None:
                continue
            rel = f"{rel}/{index}"
        label = {"site": "Site (HTML)", "reports.linkcheck": "Link check report (CSV)"}.get(name)
        if label is None and name.startswith("pdf."):
            label = f"PDF ({name.split('.', 1)[1]})"
        out.append({"name": name, "label": label or name, "url": f"/api/builds/{job.id}/artifacts/{rel}",
                    "file": rel.rsplit("/", 1)[-1]})
    return out


def _source_base(job: Job, data_dir: Path) -> str | None:
    """Where the job's source files are served (findings link to the file they name)."""
    if not job.source_path:
        return None
    root = Workspace.for_job(data_dir, job.id).root.resolve()
    try:
        rel = Path(job.source_path).resolve().relative_to(root)
    except ValueError:
        return None
    return f"/api/builds/{job.id}/artifacts/{rel.as_posix()}/"


async def detail_context(request: web.Request, v: Viewer, job: Job) -> dict[str, Any]:
    store: Store = request.app[store_key]
    cfg = request.app[config_key]
    stages = await store.stages(job.id)
    position = await store.queue_position(job)
    est = await status.eta(store, job, position, cfg.workers.count)
    view = status.job_view(job, stages, queue_position=position, eta_seconds=est)
    review = view.get("review") if isinstance(view.get("review"), dict) else None
    actions = {
        "cancel": v.can("submit") and job.status in (JobStatus.PENDING, JobStatus.PROCESSING) and not job.cancel_requested,
        "retry": v.can("submit") and job.status == JobStatus.FAILED and not (job.dead and not v.can("admin")),
        "review": v.can("admin") and bool(review and review.get("state") == "pending"),
    }
    return {
        "job": view, "row": present.row_view(job, position=position, eta_seconds=est),
        "timeline": present.timeline(job, stages), "actions": actions, "review": review,
        "transitions": [present.transition_view(e) for e in await store.transitions(job.id)],
        "findings": present.findings(stages), "artifacts": _artifacts(job, cfg.data_path),
        "source_base": _source_base(job, cfg.data_path), "live_urls": view["live_urls"] or (
            {"": view["live_url"]} if view["live_url"] else {}),
        "finished": job.finished, "translations": await translations.panel(store, job),
    }


@page("Build", "builds")
async def detail_page(request: web.Request, v: Viewer) -> dict[str, Any]:
    store = request.app[store_key]
    after = await store.last_event_id()
    job = await store.get(request.match_info["job_id"])
    return {"template": "detail.html", **await detail_context(request, v, job), "title": f"Build {job.id}",
            "after": after}


async def detail_fragment(request: web.Request) -> web.Response:
    """The detail page's live part (header, timeline, transitions, findings, artifacts, buttons)."""
    job = await load_job(request)
    return html(request, "_detail_live.html", await detail_context(request, await viewer(request), job))


async def log_tail(request: web.Request) -> web.Response:
    """The job log from a byte offset (``X-Log-Offset`` says where to continue): live tail."""
    job = await load_job(request)
    path = Workspace.for_job(request.app[config_key].data_path, job.id).log
    size = path.stat().st_size if path.exists() else 0
    try:
        offset = int(request.query.get("offset", "-1"))
    except ValueError:
        raise errors.BadRequest("offset must be an integer") from None
    if offset < 0:
        offset = max(0, size - LOG_TAIL_BYTES)
    offset = min(offset, size)
    data = b""
    if size > offset:
        with path.open("rb") as fh:
            fh.seek(offset)
            data = fh.read(LOG_CHUNK_BYTES)
    return web.Response(body=data, content_type="text/plain", charset="utf-8",
                        headers={"X-Log-Offset": str(offset + len(data)), "X-Log-Size": str(size),
                                 "Cache-Control": "no-store"})


@page("Review queue", "reviews")
async def reviews_page(request: web.Request, v: Viewer) -> dict[str, Any]:
    store = request.app[store_key]
    jobs, nxt = await store.list_jobs(review="pending", limit=PAGE_SIZE, cursor=request.query.get("cursor") or None)
    data_dir = request.app[config_key].data_path
    items = []
    for job, row in zip(jobs, await rows_for(request, jobs), strict=True):
        review = (job.result or {}).get("review") or {}
        diff = await asyncio.to_thread(_preview_of, data_dir, job, review)
        live = (job.result or {}).get("live_url")
        items.append({"row": row, "review": review, "target": review.get("target") or job.target,
                      "diff": _on_site(diffview.preview(diff), live), "changes": review.get("changes") or {},
                      "preview_url": review.get("preview_url"), "live_url": (job.result or {}).get("live_url")})
    return {"template": "reviews.html", "items": items, "next": nxt, "can_review": v.can("admin")}


def _on_site(preview: dict[str, Any], live_url: str | None) -> dict[str, Any]:
    """Page links in a diff are relative to the staged site: point them at it (the sites origin),
    never at the dashboard, which would both 404 and put user content on the dashboard's origin."""
    for entry in preview.get("changed", []) + preview.get("added", []):
        url = entry.get("url")
        if isinstance(url, str) and "://" not in url and not url.startswith("/"):
            entry["url"] = urljoin(live_url, url) if live_url else None
    return preview


def _preview_of(data_dir: Path, job: Job, review: dict[str, Any]) -> Any:
    """The deploy stage's diff preview JSON for a review (inside the job's workspace only)."""
    rel = review.get("preview_json")
    if not isinstance(rel, str):
        return review.get("diff")
    root = Workspace.for_job(data_dir, job.id).root.resolve()
    path = (root / rel).resolve()
    if root not in path.parents or not path.is_file():
        return None
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


@page("Queue and health", "health")
async def health_page(request: web.Request, v: Viewer) -> dict[str, Any]:
    store = request.app[store_key]
    now = time.time()
    depth = charts.queue_depth(await store.job_spans(now - 24 * 3600), now)
    labels = [time.strftime("%H:%M", time.gmtime(t)) for t in depth["times"]]
    days = charts.durations_per_day(await store.completed_durations("build", now - 14 * 86400), now)
    dur_series = [{"name": "p50", "values": [d["p50"] for d in days]}, {"name": "p95", "values": [d["p95"] for d in days]}]
    # What each worker does comes from the jobs' leases (always current), not from the heartbeat's
    # copy of its running list, which lags by up to one heartbeat.
    processing, _ = await store.list_jobs(status=JobStatus.PROCESSING, limit=200)
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for job in processing:
        by_owner.setdefault(job.lease_owner or "?", []).append(
            {"id": job.id, "kind": job.kind, "stage": job.stage, "progress": round(job.progress or 0),
             "since": present.seconds(now - (job.started_at or now))})
    workers = []
    for w in await store.workers():
        workers.append({"id": w["id"], "host": w.get("host"), "heartbeat": present.seconds(now - w["heartbeat_at"]),
                        "running": by_owner.pop(w["id"], [])})
    for owner, running in sorted(by_owner.items()):
        workers.append({"id": owner, "host": None, "heartbeat": None, "running": running})
    dead, dead_next = await store.list_jobs(status=JobStatus.FAILED, dead=True, limit=PAGE_SIZE,
                                            cursor=request.query.get("cursor") or None)
    counts = await store.counts()
    kinds = sorted({k for k, _ in counts}, key=lambda k: (k != "build", k))
    return {
        "template": "health.html", "now": present.clock(now),
        "queue_chart": charts.line_chart(labels, depth["series"]), "queue_series": depth["series"],
        "queue_labels": labels,
        "durations_chart": charts.line_chart([d["day"][5:] for d in days], dur_series, unit="s"), "durations": days,
        "workers": workers, "slots": request.app[config_key].workers.count,
        "dead": [{**present.row_view(j), "error_message": j.error_message,
                  "delivery": {k: val for k, val in (j.payload or {}).items() if k in ("channel", "event", "target")}
                  if j.kind == "deliver" else None} for j in dead],
        "dead_next": dead_next, "counts": counts, "kinds": kinds, "statuses": list(present.STATUS),
        "can_replay": v.can("admin"),
    }
