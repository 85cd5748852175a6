"""The audit schedule: APScheduler's cron trigger computes fire times, the store makes each fire once.

APScheduler 3.x keeps its jobs in memory and forgets a fire missed while the daemon was down, so
it is used only for what it is good at (cron arithmetic in a time zone, DST included). Each fire
is a ``fire_schedule`` row, unique per (schedule, fire time): N daemons sharing a store submit one
audit per target, and a daemon starting within ``[audit] misfire_grace`` of a fire it missed
submits it then; after the grace it is skipped (the next fire comes round soon enough).

Fire times are keyed by their local wall time (read as if UTC): on the autumn DST change a daily
02:00 cron fires at 02:00+02 and again at 02:00+01, and both are the same key, so it runs once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from pipeline import config as config_mod
from pipeline.store import Job, JobSpec, Store

logger = logging.getLogger(__name__)
SCHEDULE = "audit"
_MAX_SLEEP = 300.0
"""Re-read the clock at least this often (a suspended laptop, an NTP step)."""


def trigger(cfg: config_mod.Config) -> CronTrigger:
    return CronTrigger.from_crontab(cfg.audit.cron, timezone=ZoneInfo(cfg.audit.timezone))


def fire_key(fire: datetime) -> float:
    """The fire's local wall time read as UTC: the same for both runs of a repeated DST hour."""
    return fire.replace(tzinfo=None).replace(tzinfo=UTC).timestamp()


def last_fire(trig: CronTrigger, now: datetime, grace: timedelta) -> datetime | None:
    """The latest fire time in ``(now - grace, now]``. APScheduler has no "previous fire time",
    so walk forward from the start of the window."""
    found = None
    nxt = trig.get_next_fire_time(None, now - grace)
    while nxt is not None and nxt <= now:
        found = nxt
        nxt = trig.get_next_fire_time(nxt, nxt + timedelta(seconds=1))
    return found


async def fire(store: Store, cfg: config_mod.Config, when: datetime) -> list[Job]:
    """Submit one audit job per configured target for this fire (none where another daemon did)."""
    made = []
    for target in cfg.audit.targets:
        spec = JobSpec(kind="audit", target=target, priority=cfg.workers.priorities.get("audit", 10), dedupe=False,
                       trigger={"kind": "schedule", "schedule": SCHEDULE, "fire_time": when.isoformat()},
                       payload={"checks": list(cfg.audit.checks)})
        job = await store.fire_schedule(f"{SCHEDULE}:{target}", fire_key(when), spec)
        if job is not None:
            logger.info("audit of %s fired for %s", target, when.isoformat(), extra={"action": "audit_fired", "job_id": job.id})
            made.append(job)
    return made


async def catch_up(store: Store, cfg: config_mod.Config, now: datetime) -> list[Job]:
    """At start: the fire missed within ``misfire_grace`` hours, if any (once across restarts)."""
    missed = last_fire(trigger(cfg), now, timedelta(hours=cfg.audit.misfire_grace))
    return await fire(store, cfg, missed) if missed is not None else []


async def schedule_loop(store: Store, cfg: config_mod.Config, clock: Callable[[], float] = time.time) -> None:
    """Catch up once, then sleep until each next fire and submit it. Restarted by the supervisor."""
    trig = trigger(cfg)
    now = datetime.fromtimestamp(clock(), UTC)
    await catch_up(store, cfg, now)
    while True:
        nxt = trig.get_next_fire_time(None, now + timedelta(microseconds=1))
        if nxt is None:
            return
        wait = nxt.timestamp() - clock()
        if wait > 0:  # sleep in slices and look again: the clock may jump
            await asyncio.sleep(min(wait, _MAX_SLEEP))
            continue
        await fire(store, cfg, nxt)
        now = nxt
