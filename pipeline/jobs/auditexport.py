"""New critical/high audit findings as issues in a GitHub-compatible tracker (``[audit.export]``).

Plain aiohttp against ``POST {url}/repos/{repo}/issues`` (the forges' client libraries are sync
and heavy; LIBRARIES.md §20). Each finding is claimed in the store before the request, so two
daemons, a retried job or a finding that comes back after a fix never open a second issue.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import aiohttp

from pipeline import config as config_mod
from pipeline.store import Store

logger = logging.getLogger(__name__)


def _issue(f: dict[str, Any], report_url: str) -> dict[str, Any]:
    return {"title": f"[{f['severity']}] {f['check']}: {f['page']}"[:200],
            "body": f"{f['message']}\n\nPage: `{f['page']}`\nURL: {f.get('url') or '-'}\n"
                    f"Fingerprint: `{f['fingerprint']}`\nReport: {report_url}\n",
            "labels": ["pressroom-audit", f"severity:{f['severity']}"]}


async def export(store: Store, cfg: config_mod.Config, findings: list[dict[str, Any]], *, run_id: str,
                 report_url: str, session: aiohttp.ClientSession | None = None) -> list[str]:
    """Open one issue per new finding of the configured severities; returns the issue URLs."""
    ex = cfg.audit.export
    wanted = [f for f in findings if f["state"] == "new" and f["severity"] in ex.severities]
    if not ex.url or not ex.repo or not wanted:
        return []
    token = os.environ.get(ex.token_env, "")
    headers = {"Accept": "application/vnd.github+json", **({"Authorization": f"Bearer {token}"} if token else {})}
    endpoint = f"{ex.url.rstrip('/')}/repos/{ex.repo}/issues"
    own = session is None
    http = session or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    made: list[str] = []
    claim = f"pending:{run_id}"
    try:
        for f in wanted:
            if not await store.audit_export_claim(f["fingerprint"], claim):
                continue
            url = None
            try:
                async with http.post(endpoint, json=_issue(f, report_url), headers=headers) as resp:
                    body = await resp.json(content_type=None) if resp.status < 300 else None
                    if isinstance(body, dict):
                        url = str(body.get("html_url") or body.get("url") or "") or None
                    else:
                        logger.warning("issue export of %s refused: HTTP %s", f["fingerprint"], resp.status,
                                       extra={"action": "audit_export_failed"})
            except (aiohttp.ClientError, TimeoutError) as exc:
                logger.warning("issue export of %s failed: %s", f["fingerprint"], exc, extra={"action": "audit_export_failed"})
            await store.audit_export_done(f["fingerprint"], claim, url)
            if url:
                made.append(url)
    finally:
        if own:
            await http.close()
    return made
