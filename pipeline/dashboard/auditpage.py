"""The audits page (``/audits``) and the HTML report (``/api/audits/{id}/report.html``).

Both are server-rendered with the dashboard's templates and headers (its CSP: no inline script
or style; the trend chart is SVG attributes). Every value from a crawled page (titles, URLs,
messages) is user content and goes through Jinja's autoescape, never ``|safe``.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from pipeline.api.keys import config_key, store_key
from pipeline.dashboard import charts, render
from pipeline.dashboard.render import Viewer, page
from pipeline.jobs import auditreport

TREND_DAYS = 90


async def _trend(request: web.Request) -> dict[str, Any]:
    since = time.time() - TREND_DAYS * 86400
    runs = await request.app[store_key].audit_runs(limit=500, since=since)
    labels, series = auditreport.trend(runs)
    return charts.line_chart(labels, series)


async def report(request: web.Request, audit_id: str) -> web.Response:
    """The readable report of one run: summary, 90-day trend, the prioritised list."""
    run = await request.app[store_key].audit_run(audit_id)
    view = auditreport.report_view(request.app[config_key], run)
    context = {"viewer": await render.viewer(request), "nav": "audits", "title": f"Audit {audit_id}",
               "report": view, "trend": await _trend(request)}
    return render.html(request, "audit_report.html", context)


@page("Audits", "audits")
async def audits_page(request: web.Request, v: Viewer) -> dict[str, Any]:
    """Trend, latest report, open findings (filters: severity, target, check)."""
    store = request.app[store_key]
    runs = await store.audit_runs(limit=20)
    found = await store.audit_findings(state="open", target=request.query.get("target") or None)
    for key in ("severity", "check"):
        if value := request.query.get(key):
            found = [f for f in found if f[key] == value]
    ordered = auditreport.prioritise(request.app[config_key], found)[:200]
    return {"template": "audits.html", "runs": [auditreport.run_view(r) for r in runs], "trend": await _trend(request),
            "findings": [auditreport.finding_view(f) for f in ordered], "total": len(found),
            "query": {k: v for k, v in request.query.items() if k in ("severity", "target", "check") and v}}
