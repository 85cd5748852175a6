"""The ``audit`` job: audit what is live on one deploy target and track its findings over time.

The job reads the target's ``current`` release (what the sites origin serves), runs the pure
audit (:mod:`stages.audit.stage`), stores the run with :meth:`Store.record_audit` (which decides
new, open and fixed) and returns the summary the ``audit.report`` and ``audit.critical``
notifications are made of. The run's ID is the job's ID.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from pipeline import config as config_mod
from pipeline.jobs import auditexport
from pipeline.jobs.context import JobContext, Outcome
from pipeline.store import Job
from stages.audit import stage as audit_stage
from stages.audit.model import CHECKS, SEVERITY_RANK, AuditOptions, Release
from stages.deploy import release, targets

logger = logging.getLogger(__name__)
TOP = 5
CHECK_FAMILY: dict[str, str] = {
    "page-missing": "links", "broken-link": "links", "missing-anchor": "anchors", "external-broken": "external",
    "image-broken": "images", "image-oversize": "images", "image-alt": "images", "unreferenced-asset": "assets",
    "orphan-page": "orphans", "stale-page": "stale", "title-missing": "metadata", "title-duplicate": "metadata",
    "description-missing": "metadata", "lang-missing": "metadata", "canonical-missing": "metadata",
    "heading-order": "headings", "pdf-missing": "pdf",
}
"""Which check family reports each finding's ``check`` (a run fixes only what it covered)."""


def live_release(cfg: config_mod.Config, target: str) -> tuple[Path, list[Release]] | None:
    """The target's live release folder and its release history, or None when nothing is live."""
    root = targets.root_of(cfg.stages.deploy, cfg.data_path / "sites", target)
    current = release.current_path(root)
    if current is None or not current.is_dir():
        return None
    history = []
    for folder in release.releases_dir(root).iterdir():
        if folder.is_dir() and not folder.name.startswith("."):
            history.append(Release(path=folder, deployed_at=folder.stat().st_mtime))
    return current, history


def options_for(cfg: config_mod.Config, target: str, checks: list[str]) -> AuditOptions:
    spec = cfg.stages.deploy.targets.get(target)
    return AuditOptions(
        base_url=(spec.base_url if spec is not None else None) or f"{cfg.sites_url}/sites/{target}/", checks=tuple(checks),
        critical_pages=tuple(cfg.audit.critical_pages), stale_after_days=cfg.audit.stale_after_days,
        max_image_kb=cfg.audit.max_image_kb, check_external=cfg.audit.check_external and "external" in checks,
        external_cache_dir=cfg.data_path / "cache" / "audit-linkcheck", pdf_expected="render_pdf" in cfg.pipeline.build,
    )


def covered(checks: list[str]) -> list[str]:
    return [check for check, family in CHECK_FAMILY.items() if family in checks]


async def handle(job: Job, ctx: JobContext) -> Outcome:
    cfg = ctx.config
    target = job.target or (cfg.audit.targets[0] if cfg.audit.targets else "staging")
    checks = [c for c in (job.payload or {}).get("checks") or cfg.audit.checks if c in CHECKS]
    try:
        live = live_release(cfg, target)
    except targets.TargetNotFound as exc:
        return Outcome.failed("audit_target_missing", str(exc), stage="audit")
    if live is None:
        return Outcome.failed("audit_target_missing", f"nothing is deployed on target {target!r} yet", stage="audit")
    site, history = live
    started = ctx.store.clock()
    result = await audit_stage.run(site, options_for(cfg, target, checks), now=started, releases=history)
    if ctx.should_cancel():
        return Outcome.cancelled()
    if not await ctx.check_lease():
        return Outcome.lease_lost()
    findings = [{**f.to_dict(), "fingerprint": f.fingerprint(target)} for f in result.findings]
    summary = await ctx.store.record_audit(job.id, target, findings, covers=covered(checks), started_at=started,
                                           notes=result.notes, keep_days=cfg.audit.keep_days)
    run = await ctx.store.audit_run(job.id)
    issues = await auditexport.export(ctx.store, cfg, run["findings"], run_id=job.id,
                                      report_url=f"{_public(cfg)}/api/audits/{job.id}/report.html")
    _write_json(cfg.data_path / "audits" / job.id / "report.json", run)
    ranked = sorted((f for f in run["findings"] if f["state"] != "fixed"),
                    key=lambda f: (SEVERITY_RANK.get(f["severity"], 9), f["state"] != "new"))
    new_critical = [_brief(f) for f in ranked if f["state"] == "new" and f["severity"] == "critical"]
    logger.info("audit of %s: %s", target, summary, extra={"action": "audit_done", "job_id": job.id})
    return Outcome.completed({"audit": {
        "id": job.id, "target": target, "release": site.name, "summary": summary, "counts": result.counts,
        "notes": result.notes, "issues": issues, "top": [_brief(f) for f in ranked[:TOP]], "new_critical": new_critical,
        "report_url": f"/api/audits/{job.id}/report.html"}})


def _public(cfg: config_mod.Config) -> str:
    return (cfg.server.public_url or f"http://{cfg.server.host}:{cfg.server.port}").rstrip("/")


def _brief(f: dict[str, Any]) -> dict[str, Any]:
    return {k: f.get(k) for k in ("fingerprint", "check", "severity", "page", "url", "message", "state")}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str), "utf-8")
    os.replace(tmp, path)
