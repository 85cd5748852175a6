"""Removing pull-request previews: a closed or merged pull request's site goes after ``[previews] keep_days``.

The retention job calls :func:`remove_closed`; the record stays (state ``removed``) so the dashboard
can still say what happened to the preview, and a reopened pull request builds it again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import time

from pipeline import config as config_mod
from pipeline.intake.pullrequests import REF_PREFIX
from pipeline.store import Store
from stages.deploy.options import is_preview
from stages.deploy.stage import target_root

logger = logging.getLogger(__name__)


async def remove_closed(store: Store, cfg: config_mod.Config, now: float | None = None) -> list[str]:
    """Delete the sites of previews closed more than ``keep_days`` ago; returns their targets."""
    now = time.time() if now is None else now
    cutoff = now - cfg.previews.keep_days * 86400
    removed: list[str] = []
    for key, value, _at in await store.refs_with_prefix(REF_PREFIX):
        record = json.loads(value)
        closed_at = record.get("closed_at")
        target = f"preview-{record.get('number')}"
        if record.get("state") not in ("closed", "merged") or closed_at is None or closed_at > cutoff or not is_preview(target):
            continue
        target_opts = cfg.stages.deploy.target_named(target)
        assert target_opts is not None
        await asyncio.to_thread(shutil.rmtree, target_root(cfg.data_path / "sites", target, target_opts), True)
        record.update({"state": "removed", "removed_at": now, "previous_state": record.get("state")})
        await store.ref_set(key, json.dumps(record))
        removed.append(target)
        logger.info("removed preview %s (pull request closed)", target, extra={"action": "preview_removed"})
    return removed
