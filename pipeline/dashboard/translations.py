"""The build page's translations panel and the languages page (``/languages``).

Both are drawn on the server as SVG attributes (the dashboard's CSP allows no inline style or
script) and carry every number as text too: a bar's segments are never told apart by colour
alone. Language codes and page names come from submitted trees (a folder named like a language
is a language), so they are user content: they reach the page only through Jinja's autoescape,
and links are built from job IDs the store made, or from http(s) URLs only.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from pipeline.api import languages
from pipeline.api.keys import store_key
from pipeline.dashboard import charts, present
from pipeline.dashboard.render import Viewer, page
from pipeline.jobs import status
from pipeline.store import Job, Store
from stages.translate.states import STATES

_LABELS = {"machine": "machine translated"}
SEGMENTS = tuple((state, _LABELS.get(state, state)) for state in STATES)
"""``(state, label)`` of a bar's segments, in the order they are drawn and keyed."""
MAX_LANGUAGES = 60
"""Bars on one build page at most (a site with more languages shows the first ones, by code)."""
MAX_PAGES_LISTED = 25
"""Page names listed per state and language; the rest are counted ("and 12 more")."""


def _pages_by_state(outputs: dict[str, Any]) -> list[dict[str, Any]]:
    """The pages that are not plainly translated, per state: what a translator works on next."""
    pages = outputs.get("pages")
    if not isinstance(pages, dict):
        return []
    by_state: dict[str, list[str]] = {}
    for path, info in sorted(pages.items(), key=lambda kv: str(kv[0])):
        state = info.get("state") if isinstance(info, dict) else None
        if state in STATES and state != "translated":
            by_state.setdefault(state, []).append(str(path))
    return [{"state": key, "label": label, "pages": by_state[key][:MAX_PAGES_LISTED],
             "more": max(0, len(by_state[key]) - MAX_PAGES_LISTED)}
            for key, label in SEGMENTS if key in by_state]


def bar_view(lang: str, child: Job, stages: list[dict[str, Any]]) -> dict[str, Any]:
    """One language's bar: segments as percentages of the source pages, the counts as text, links."""
    outputs = status.translate_outputs(stages)
    fig = languages.figures(child.result) or languages.figures({"translation": outputs} if outputs else None)
    view: dict[str, Any] = {"language": lang, "id": child.id, "badge": present.status_badge(child.status),
                            "running": not child.finished, "figures": fig, "segments": [],
                            "pages": _pages_by_state(outputs), "live_url": None, "preview_url": None,
                            "needs_review": False}
    if fig is None:
        return view
    total = fig["source_pages"] or sum(fig[k] for k, _ in SEGMENTS)
    x = 0.0
    for key, label in SEGMENTS:
        width = fig[key] / total * 100 if total else 0.0
        view["segments"].append({"key": key, "label": label, "count": fig[key], "x": round(x, 3), "width": round(width, 3)})
        x += width
    view["total"] = total
    view["live_url"] = present.web_link(fig.get("live_url"))
    view["preview_url"] = present.web_link(fig.get("preview_url"))
    view["needs_review"] = fig.get("needs_review", False)
    return view


async def panel(store: Store, job: Job) -> dict[str, Any] | None:
    """The translations panel of ``job``'s page: its translate children (a build) or itself (a
    translate job); None when it has no translations. ``watch`` lists the jobs whose events the
    page follows to redraw the panel (all of them: a finished language can be retried), from
    event ``after`` on."""
    if job.kind == "translate":
        children = [job]
    elif job.children_total:
        children = [c for c in await store.children(job.id) if c.kind == "translate"]
    else:
        return None
    if not children:
        return None
    after = await store.last_event_id()
    latest: dict[str, Job] = {}
    for child in children:  # oldest first: a retried language's newer job wins
        lang = (child.payload or {}).get("language")
        latest[lang if isinstance(lang, str) and lang else child.id] = child
    chosen = sorted(latest.items())[:MAX_LANGUAGES]
    rows = await store.stage_of([child.id for _, child in chosen], "translate")  # one read for every language
    bars = [bar_view(lang, child, [rows[child.id]] if child.id in rows else []) for lang, child in chosen]
    return {"bars": bars, "more": max(0, len(latest) - MAX_LANGUAGES), "after": after,
            "watch": " ".join(b["id"] for b in bars), "key": SEGMENTS}


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def completion_trend(view: dict[str, Any], now: float, days: int) -> tuple[list[str], list[dict[str, Any]]]:
    """Day labels and one completion series per language: the last figure of each UTC day,
    carried over days without a translate job (completion holds until a build changes it);
    None before a language's first job. The axis starts at the first day with data."""
    points: dict[str, dict[str, float]] = {}
    for lang, entry in view.items():
        for h in entry["history"]:
            at = datetime.fromisoformat(h["at"].replace("Z", "+00:00")).timestamp()
            points.setdefault(lang, {})[_day(at)] = h["completion"]  # oldest first: the day's last wins
    if not points:
        return [], []
    first = min(min(p) for p in points.values())
    span = [_day(now - i * 86400) for i in range(days - 1, -1, -1)]
    labels = [d for d in span if d >= first][-days:]
    if len(labels) < 2:
        labels = [_day(now - 86400), _day(now)]
    series = []
    for lang, by_day in sorted(points.items()):
        values: list[float | None] = []
        last: float | None = None
        for d in labels:
            last = by_day.get(d, last)
            values.append(last)
        series.append({"name": lang, "values": values})
    return labels, series


@page("Languages", "languages")
async def languages_page(request: web.Request, v: Viewer) -> dict[str, Any]:
    """The completion trend per language and the latest figures, from finished translate jobs."""
    try:
        days = max(1, min(languages.MAX_DAYS, int(request.query.get("days", languages.DEFAULT_DAYS))))
    except ValueError:
        days = languages.DEFAULT_DAYS
    now = time.time()
    view = languages.languages_view(await languages.runs_since(request.app[store_key], days, now))
    labels, series = completion_trend(view, now, days)
    chart = charts.line_chart([d[5:] for d in labels], series, unit="%", top=100.0)
    rows = []
    for lang, entry in view.items():
        latest = entry["latest"]
        rows.append({"language": lang, **latest, "badge": present.status_badge(latest["status"]),
                     "live_link": present.web_link(latest.get("live_url")), "runs": len(entry["history"]),
                     "history": entry["history"][-30:]})
    return {"template": "languages.html", "trend": chart, "rows": rows, "days": days, "labels": labels,
            "series": series}
