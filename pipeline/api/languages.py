"""``GET /api/languages``: every language's latest translation figures and its completion history.

Built from finished ``translate`` jobs (one per language per build) rather than from a table of
its own: a job's result already holds the figures the translate stage counted, so the trend
cannot disagree with the jobs it is drawn from. The dashboard's languages page reads the same
view (:func:`languages_view`), so the page and the API never show different numbers.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from pipeline import errors
from pipeline.api import openapi
from pipeline.api.auth import require
from pipeline.api.keys import store_key
from pipeline.jobs.status import iso
from pipeline.store import Store
from stages.translate.states import STATES

routes = web.RouteTableDef()

DEFAULT_DAYS = 90
MAX_DAYS = 366
MAX_RUNS = 5000
"""Finished translate jobs read per request at most: a year of daily builds in a dozen languages."""
COUNTS: tuple[str, ...] = STATES


def _int(value: Any) -> int:
    """A count from a job result; anything else is 0, so one odd result cannot break the page."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def figures(result: dict[str, Any] | None) -> dict[str, Any] | None:
    """The counts of a translate job's result (``translation``, else the translate stage's own
    outputs), or None when the job counted nothing (it failed before, or was cancelled)."""
    result = result or {}
    found = result.get("translation")
    if not isinstance(found, dict):
        outputs = result.get("outputs")
        found = outputs.get("translate") if isinstance(outputs, dict) else None
    if not isinstance(found, dict) or not any(isinstance(found.get(k), int) for k in COUNTS):
        return None  # the job stopped before its translate stage counted (its counts are null)
    counts = {k: _int(found.get(k)) for k in COUNTS}
    pages = _int(found.get("source_pages")) or sum(counts.values())
    completion = found.get("completion")
    if not isinstance(completion, (int, float)) or isinstance(completion, bool):
        completion = counts["translated"] / pages * 100 if pages else 0.0
    live = found.get("live_url") if found.get("published", True) else None
    return {"completion": round(min(100.0, max(0.0, float(completion))), 1), **counts, "source_pages": pages,
            "live_url": live if isinstance(live, str) else None,
            "preview_url": found.get("preview_url") if isinstance(found.get("preview_url"), str) else None,
            "needs_review": bool(found.get("needs_review"))}


def languages_view(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"de": {"latest": {...}, "history": [...]}}`` from :meth:`Store.translation_runs` rows
    (newest first). ``latest`` is the newest finished job, failed ones included (a failing
    language must show as failing); its figures are null when it counted nothing. ``history``
    holds only jobs that counted, oldest first (a job that failed after counting, in link check
    say, still counted right)."""
    out: dict[str, dict[str, Any]] = {}
    for run in runs:
        lang = run.get("language")
        if not isinstance(lang, str) or not lang:
            continue
        entry = out.setdefault(lang, {"latest": None, "history": []})
        fig = figures(run.get("result"))
        if entry["latest"] is None:
            entry["latest"] = {
                "translation_id": run["id"], "build_id": run.get("build_id"), "status": run["status"],
                **{k: fig[k] if fig else None for k in ("completion", *COUNTS)},
                "live_url": (fig or {}).get("live_url"), "finished_at": iso(run["finished_at"])}
        if fig is not None:
            entry["history"].append({"at": iso(run["finished_at"]), "completion": fig["completion"],
                                     **{k: fig[k] for k in COUNTS}, "job_id": run["id"]})
    for entry in out.values():
        entry["history"].reverse()
    return dict(sorted(out.items()))


def window_days(request: web.Request) -> int:
    raw = request.query.get("days", str(DEFAULT_DAYS))
    try:
        days = int(raw)
    except ValueError:
        raise errors.BadRequest("days must be an integer", field="days") from None
    if not 1 <= days <= MAX_DAYS:
        raise errors.BadRequest(f"days must be between 1 and {MAX_DAYS}", field="days")
    return days


async def runs_since(store: Store, days: int, now: float | None = None) -> list[dict[str, Any]]:
    return await store.translation_runs(since=(now if now is not None else time.time()) - days * 86400, limit=MAX_RUNS)


@routes.get("/api/languages")
async def list_languages(request: web.Request) -> web.Response:
    await require(request, "read")
    days = window_days(request)
    view = languages_view(await runs_since(request.app[store_key], days))
    return web.json_response({"languages": view, "days": days})


_COUNT = {"type": ["integer", "null"], "minimum": 0}
OPENAPI_PATHS: dict[str, Any] = {
    "/api/languages": {"get": {
        "operationId": "listLanguages",
        "summary": "Each language's latest translation figures and completion history, from finished translate jobs",
        "parameters": [{"name": "days", "in": "query", "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DAYS, "default": DEFAULT_DAYS}}],
        "responses": {"200": {"description": "Languages by code", "content": {"application/json": {"schema": {
            "type": "object", "required": ["languages"], "properties": {
                "days": {"type": "integer"},
                "languages": {"type": "object", "additionalProperties": {
                    "type": "object", "required": ["latest", "history"], "properties": {
                        "latest": {"type": "object", "properties": {
                            "translation_id": {"type": "string"}, "build_id": openapi.NULLABLE_STR,
                            "status": {"type": "string"}, "completion": openapi.NULLABLE_NUM,
                            **dict.fromkeys(COUNTS, _COUNT), "live_url": openapi.NULLABLE_STR,
                            "finished_at": openapi.NULLABLE_STR}},
                        "history": {"type": "array", "items": {"type": "object", "properties": {
                            "at": {"type": "string"}, "completion": {"type": "number"},
                            **dict.fromkeys(COUNTS, {"type": "integer", "minimum": 0}),
                            "job_id": {"type": "string"}}}}}}}}}}}},
                      **openapi.err(400, 401, 403, 429)},
    }},
}
