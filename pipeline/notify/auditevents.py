"""What an audit job's end announces: ``audit.report`` after every run, ``audit.critical`` at once
for new critical findings (one event per language of the pages, so that language's owners hear
about it too). A failed or cancelled audit announces nothing (the job list shows it).

The events carry text (``summary``, which every template shows) and the data (``audit``: the
counts, the top five findings and the report link) for webhooks and custom templates.
"""

from __future__ import annotations

from typing import Any

from pipeline import config as config_mod

TOP = 5


def events(cfg: config_mod.Config, event: dict[str, Any], result: dict[str, Any]) -> list[dict[str, Any]]:
    """The events of one finished audit job (``event`` is its ``audit.completed`` transition)."""
    audit = result.get("audit")
    if event.get("type") != "audit.completed" or not isinstance(audit, dict):
        return []
    public = (cfg.server.public_url or f"http://{cfg.server.host}:{cfg.server.port}").rstrip("/")
    audit = {**audit, "report_url": f"{public}{audit.get('report_url') or ''}"}  # read in a mail: absolute
    s = audit.get("summary") or {}
    per = ", ".join(f"{n} {sev}" for sev, n in (s.get("severity") or {}).items())
    top = "; ".join(f"[{f['severity']}] {f['page']}: {f['message']}" for f in (audit.get("top") or [])[:TOP])
    base = {k: v for k, v in event.items() if k not in ("type", "log_tail")}
    report = {**base, "type": "audit.report", "audit": audit, "report_url": audit.get("report_url"),
              "summary": f"Audit of {audit.get('target')}: {s.get('open', 0)} open ({per}), {s.get('new', 0)} new, "
                         f"{s.get('fixed', 0)} fixed. Report: {audit.get('report_url')}" + (f" Top: {top}" if top else "")}
    out = [report]
    by_language: dict[str | None, list[dict[str, Any]]] = {}
    for f in audit.get("new_critical") or []:
        first = str(f.get("page") or "").split("/", 1)[0]
        by_language.setdefault(first if first in cfg.languages else None, []).append(f)
    for lang, found in by_language.items():
        lines = "; ".join(f"{f['page']}: {f['message']}" for f in found[:TOP])
        out.append({**base, "type": "audit.critical", "language": lang, "audit": {**audit, "new_critical": found},
                    "report_url": audit.get("report_url"),
                    "summary": f"{len(found)} new critical finding(s) on {audit.get('target')}: {lines}"})
    return out
