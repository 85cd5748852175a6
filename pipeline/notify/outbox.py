"""The notification outbox: which ``deliver`` jobs a job's transition causes.

A job's terminal transition runs :func:`plan` inside the store's transaction, so every planned
delivery is stored together with the event that caused it (a crash can lose neither alone). Each
delivery is a ``deliver`` job (:mod:`pipeline.jobs.deliver`): retried with backoff by the worker,
dead-lettered after the last attempt or at once on a permanent error, and replayable from the
API, the CLI and the dashboard.
"""

from __future__ import annotations

import logging
from typing import Any

from pipeline import config as config_mod
from pipeline.jobs import status
from pipeline.jobs.workspace import Workspace
from pipeline.notify import auditevents, errors, router, translations
from pipeline.store import JobSpec, Transition

logger = logging.getLogger(__name__)
NOTIFYING_KINDS = frozenset({"build", "translate", "audit", "promote"})
LOG_TAIL = 20


def channels_enabled(cfg: config_mod.Config) -> bool:
    n = cfg.notify
    return bool(n.slack.enabled or n.email.enabled or n.webhooks)


def log_tail(cfg: config_mod.Config, job_id: str, lines: int = LOG_TAIL) -> list[str]:
    path = Workspace.for_job(cfg.data_path, job_id).log
    try:
        with path.open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - 16384))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]


def plan(cfg: config_mod.Config, t: Transition) -> list[JobSpec]:
    """Plan deliveries for a transition (pure apart from reading the job's log tail)."""
    if t.job.kind not in NOTIFYING_KINDS or not channels_enabled(cfg):
        return []
    event: dict[str, Any] = {"type": t.event, "job": status.job_view(t.job, t.stages),
                             "previous_status": t.previous_status, **(t.extra or {})}
    if t.event.endswith((".failed", ".completed", ".cancelled")):
        event["log_tail"] = log_tail(cfg, t.job.id)
    if t.job.kind == "audit":
        announced = auditevents.events(cfg, event, t.job.result or {})
    elif t.job.kind == "translate" and t.event.startswith("translate."):
        announced = translations.events(cfg, t)
    else:
        announced = [event]
    try:
        planned = [d for e in announced for d in router.plan_deliveries(e, cfg)]
    except errors.RouteError:
        logger.exception("notification routing failed for %s %s", t.job.id, t.event)
        return []
    priority = cfg.workers.priorities.get("deliver", 60)
    return [JobSpec(kind="deliver", idempotency_key=d["idempotency_key"], payload=d, priority=priority,
                    max_attempts=cfg.notify.max_attempts,
                    trigger={"kind": "event", "job_id": t.job.id, "event": d.get("event", t.event)})
            for d in planned]
