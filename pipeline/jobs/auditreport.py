"""What every surface shows of an audit: the prioritised findings, the JSON report, the trend.

Priority is severity first, then how much the page matters (a page in ``[audit] critical_pages``
or a home page above all, then page views from ``[audit] pageviews``), then age (the longest open
first). The API, the dashboard, the CLI (through the API) and the notifications all use this one
order, so "top five" means the same everywhere.
"""

from __future__ import annotations

import csv
import logging
from typing import Any

from pipeline import config as config_mod
from pipeline.jobs import status
from stages.audit import checks
from stages.audit.model import SEVERITY_RANK

logger = logging.getLogger(__name__)
_CRITICAL = float("inf")


def pageviews(cfg: config_mod.Config) -> dict[str, float]:
    """``page,views`` rows of the configured CSV (a header row is skipped); {} when unset or unreadable."""
    if not cfg.audit.pageviews:
        return {}
    views: dict[str, float] = {}
    try:
        with cfg.resolve(cfg.audit.pageviews).open(encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle):
                if len(row) >= 2:
                    try:
                        views[checks.page_key(row[0])] = float(row[1])
                    except ValueError:
                        continue  # the header, or a bad row
    except OSError as exc:
        logger.warning("cannot read [audit] pageviews %s: %s", cfg.audit.pageviews, exc)
    return views


def prioritise(cfg: config_mod.Config, findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Findings in work order, each with its ``importance`` (views, or ``"critical"``)."""
    views = pageviews(cfg)
    critical = {checks.page_key(p) for p in cfg.audit.critical_pages}
    out = []
    for f in findings:
        page = str(f.get("page") or "")
        weight = _CRITICAL if page in critical or page in checks.home_pages([page]) else views.get(page, 0.0)
        out.append((SEVERITY_RANK.get(str(f.get("severity")), 9), -weight, f.get("first_seen") or 0.0,
                    f.get("fingerprint") or "", {**f, "importance": "critical" if weight == _CRITICAL else weight}))
    out.sort(key=lambda item: item[:4])
    return [item[4] for item in out]


def finding_view(f: dict[str, Any]) -> dict[str, Any]:
    view = {k: f.get(k) for k in ("fingerprint", "check", "severity", "page", "url", "message", "state", "target",
                                  "importance")}
    for key in ("first_seen", "last_seen", "fixed_at", "acked_at", "snoozed_until"):
        view[key] = status.iso(f.get(key))
    view["acked_by"] = f.get("acked_by")
    view["issue_url"] = f.get("exported_url")
    return view


def report_view(cfg: config_mod.Config, run: dict[str, Any]) -> dict[str, Any]:
    """``GET /api/audits/{id}``: the summary and every finding the run reported, in work order."""
    fixed = [f for f in run["findings"] if f["state"] == "fixed"]
    live = prioritise(cfg, [f for f in run["findings"] if f["state"] != "fixed"])
    return {"id": run["id"], "job_id": run["id"], "target": run["target"], "started_at": status.iso(run["started_at"]),
            "finished_at": status.iso(run["finished_at"]), "summary": run["summary"], "notes": run["notes"],
            "findings": [finding_view(f) for f in [*live, *fixed]],
            "report_url": f"/api/audits/{run['id']}/report.html"}


def run_view(run: dict[str, Any]) -> dict[str, Any]:
    return {"id": run["id"], "target": run["target"], "finished_at": status.iso(run["finished_at"]),
            "summary": run["summary"], "url": f"/api/audits/{run['id']}", "report_url": f"/api/audits/{run['id']}/report.html"}


def trend(runs: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """Labels and series (open findings per severity, oldest run first) for the trend chart."""
    ordered = sorted(runs, key=lambda r: r["finished_at"])
    labels = [(status.iso(r["finished_at"]) or "")[5:10] for r in ordered]
    series = [{"name": sev, "values": [int(r["summary"].get("severity", {}).get(sev, 0)) for r in ordered]}
              for sev in SEVERITY_RANK]
    return labels, series
