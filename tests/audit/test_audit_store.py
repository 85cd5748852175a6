"""Findings tracked across runs in the real store (SQLite and PostgreSQL), and the schedule's
once-per-fire guarantee with two stores (two daemons) on one database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline import config as config_mod
from pipeline.jobs import schedule
from pipeline.store import Store


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    s = await Store.open(store_url, clock=Clock())
    yield s
    await s.close()


def finding(check: str, page: str, severity: str = "high") -> dict[str, Any]:
    return {"fingerprint": f"{check}:{page}", "check": check, "severity": severity, "page": page,
            "url": "", "subject": page, "message": f"{check} on {page}"}


async def test_new_open_fixed_across_runs(store: Store) -> None:
    clock = store.clock
    assert isinstance(clock, Clock)
    covers = ["broken-link", "orphan-page", "title-missing"]
    first = await store.record_audit("aud_1", "staging", [finding("broken-link", "a"), finding("orphan-page", "b", "medium")],
                                     covers=covers, started_at=clock.now, notes=[], keep_days=90)
    assert first == {"severity": {"critical": 0, "high": 1, "medium": 1, "low": 0}, "open": 2, "new": 2, "fixed": 0}
    clock.now += 86400
    second = await store.record_audit("aud_2", "staging", [finding("broken-link", "a")],
                                      covers=covers, started_at=clock.now, notes=[], keep_days=90)
    assert second["new"] == 0 and second["fixed"] == 1 and second["open"] == 1
    run = await store.audit_run("aud_2")
    states = {f["fingerprint"]: (f["state"], f["first_seen"], f["last_seen"]) for f in run["findings"]}
    assert states["broken-link:a"] == ("open", clock.now - 86400, clock.now)
    assert states["orphan-page:b"][0] == "fixed"
    tracked = await store.audit_finding("orphan-page:b")
    assert tracked["state"] == "fixed" and tracked["fixed_at"] == clock.now
    # an old report reads the same later
    assert {f["state"] for f in (await store.audit_run("aud_1"))["findings"]} == {"new"}


async def test_a_run_fixes_only_what_it_checked(store: Store) -> None:
    await store.record_audit("aud_1", "staging", [finding("title-missing", "a", "medium")], covers=["title-missing"],
                             started_at=0, notes=[], keep_days=90)
    summary = await store.record_audit("aud_2", "staging", [], covers=["broken-link"], started_at=0, notes=[], keep_days=90)
    assert summary["fixed"] == 0
    assert (await store.audit_finding("title-missing:a"))["state"] == "open"


async def test_retention_drops_old_runs_and_fixed_findings(store: Store) -> None:
    clock = store.clock
    assert isinstance(clock, Clock)
    await store.record_audit("aud_1", "staging", [finding("broken-link", "a")], covers=["broken-link"],
                             started_at=0, notes=[], keep_days=90)
    clock.now += 86400
    await store.record_audit("aud_2", "staging", [], covers=["broken-link"], started_at=0, notes=[], keep_days=90)
    clock.now += 91 * 86400
    await store.record_audit("aud_3", "staging", [], covers=["broken-link"], started_at=0, notes=[], keep_days=90)
    assert [r["id"] for r in await store.audit_runs()] == ["aud_3"]
    assert await store.audit_findings(state="fixed") == []


async def test_two_daemons_on_one_store_fire_one_audit(store_url: str, tmp_path: Path) -> None:
    cfg = config_mod.Config.model_validate({"audit": {"cron": "0 2 * * *", "targets": ["staging", "production"]}})
    one, two = await Store.open(store_url), await Store.open(store_url)
    try:
        now = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
        made = [*await schedule.catch_up(one, cfg, now), *await schedule.catch_up(two, cfg, now)]
        assert sorted(j.target or "" for j in made) == ["production", "staging"]
        assert all(j.kind == "audit" and j.priority < cfg.workers.priorities["build"] for j in made)
        # restarting later within grace: the same fire, not a second audit
        assert await schedule.catch_up(one, cfg, now + timedelta(hours=2)) == []
    finally:
        await one.close()
        await two.close()


async def test_missed_fire_runs_within_grace_and_not_after(store: Store) -> None:
    cfg = config_mod.Config.model_validate({"audit": {"cron": "0 2 * * *", "misfire_grace": 6, "targets": ["staging"]}})
    late = await schedule.catch_up(store, cfg, datetime(2026, 12, 5, 9, 0, tzinfo=UTC))
    assert late == []  # 7 h after 02:00: past the grace
    made = await schedule.catch_up(store, cfg, datetime(2026, 12, 6, 7, 30, tzinfo=UTC))
    assert [j.trigger["fire_time"] for j in made] == ["2026-12-06T02:00:00+00:00"]


def test_dst_fall_back_runs_a_daily_audit_once() -> None:
    cfg = config_mod.Config.model_validate({"audit": {"cron": "30 2 * * *", "timezone": "Europe/Berlin"}})
    trig = schedule.trigger(cfg)
    start = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
    fires, prev = [], None
    for _ in range(4):
        prev = trig.get_next_fire_time(prev, prev + timedelta(seconds=1) if prev else start)
        assert prev is not None
        fires.append(prev)
    assert len({f.date() for f in fires}) < len(fires)  # APScheduler does fire twice that night
    keys = [schedule.fire_key(f) for f in fires]
    assert len(set(keys)) == len({f.date() for f in fires})  # one key per local day, repeats share it
