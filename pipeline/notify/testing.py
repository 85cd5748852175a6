"""Test doubles for the notify package: an in-memory RefStore, a job factory and a retry driver.

:class:`RetryDriver` is a stand-in for the worker's ``deliver`` job kind: it runs :func:`send`
attempts, applies :func:`next_delay` on a fake clock (no real waiting) and dead-letters after
``[notify] max_attempts``, with all its state in plain data (:meth:`RetryDriver.state`) so a test can
throw the driver away mid-run and build a new one from that state, as a restarted daemon would
from the store. The real worker must follow the same rules; they are listed in the package docstring.
"""

from __future__ import annotations

import copy
import random
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp

from pipeline import config as config_mod
from pipeline.notify import backoff, deliver, errors


class MemoryRefStore:
    """A RefStore in a dict; ``writes`` lets tests see what was stored and in which order."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self.writes: list[tuple[str, str]] = []

    async def get(self, key: str) -> str | None:
        return self.data.get(key)

    async def set(self, key: str, value: str) -> None:
        self.data[key] = value
        self.writes.append((key, value))


class FakeClock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@dataclass
class Tracked:
    """One delivery as the store would keep it: attempts, next due time, last error, result."""

    delivery: dict[str, Any]
    state: str = "pending"
    attempts: int = 0
    not_before: float = 0.0
    result: dict[str, Any] | None = None
    error: dict[str, str] | None = None
    delays: list[float] = field(default_factory=list)


class RetryDriver:
    def __init__(
        self,
        *,
        config: config_mod.Config,
        refs: deliver.RefStore,
        http: aiohttp.ClientSession | None = None,
        clock: FakeClock | None = None,
        rng: random.Random | None = None,
        tracked: list[Tracked] | None = None,
    ) -> None:
        self.config = config
        self.refs = refs
        self.http = http
        self.clock = clock or FakeClock()
        self.rng = rng or random.Random(7)
        self.tracked: list[Tracked] = tracked or []

    def add(self, deliveries: list[dict[str, Any]]) -> None:
        for d in deliveries:
            self.tracked.append(Tracked(delivery=copy.deepcopy(d), not_before=self.clock.now))

    def state(self) -> list[dict[str, Any]]:
        """What a store would hold: enough to resume after the driver (the daemon) is gone."""
        return [asdict(t) for t in self.tracked]

    @classmethod
    def from_state(cls, state: list[dict[str, Any]], **kwargs: Any) -> RetryDriver:
        return cls(tracked=[Tracked(**copy.deepcopy(t)) for t in state], **kwargs)

    @property
    def sent(self) -> list[Tracked]:
        return [t for t in self.tracked if t.state == "sent"]

    @property
    def dead(self) -> list[Tracked]:
        return [t for t in self.tracked if t.state == "dead"]

    def replay(self, item: Tracked) -> None:
        """Move a dead delivery back to pending with fresh attempts (``pressroom deliveries retry``)."""
        item.state, item.attempts, item.not_before, item.delays = "pending", 0, self.clock.now, []

    async def run(self, *, max_attempts: int | None = None) -> None:
        """Attempt due deliveries in due-time order until none is pending (``max_attempts`` caps the loop)."""
        done = 0
        while max_attempts is None or done < max_attempts:
            pending = [t for t in self.tracked if t.state == "pending"]
            if not pending:
                return
            item = min(pending, key=lambda t: t.not_before)
            self.clock.now = max(self.clock.now, item.not_before)
            await self.attempt(item)
            done += 1

    async def attempt(self, item: Tracked) -> None:
        notify = self.config.notify
        try:
            item.result = await deliver.send(item.delivery, config=self.config, refs=self.refs, http=self.http, clock=self.clock)
        except errors.PermanentDeliveryError as exc:
            item.attempts += 1
            item.state, item.error = "dead", exc.as_dict()
        except errors.TransientDeliveryError as exc:
            item.attempts += 1
            item.error = exc.as_dict()
            if item.attempts >= notify.max_attempts:
                item.state = "dead"
                return
            delay = backoff.next_delay(item.attempts, notify.backoff_base, exc.retry_after, cap=notify.backoff_max, rng=self.rng)
            item.delays.append(delay)
            item.not_before = self.clock.now + delay
        else:
            item.attempts += 1
            item.state, item.error = "sent", None


def make_job(
    job_id: str = "job-1",
    *,
    status: str = "PROCESSING",
    stages: dict[str, str] | None = None,
    branch: str | None = "main",
    error: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A status dict shaped like ``GET /api/builds/{id}/status`` (DESIGN section 3)."""
    stage_states = stages if stages is not None else {"lint": "pending", "render_html": "pending", "linkcheck": "pending", "deploy": "pending"}
    out_stages: list[dict[str, Any]] = []
    for n, (name, state) in enumerate(stage_states.items()):
        started = f"2026-11-23T10:00:{n * 10:02d}+00:00" if state != "pending" else None
        finished = f"2026-11-23T10:00:{n * 10 + 8:02d}+00:00" if state not in ("pending", "running") else None
        out_stages.append({"name": name, "status": state, "started_at": started, "finished_at": finished,
                           "progress": 100 if finished else 0, "counts": {}, "findings": []})
    job: dict[str, Any] = {
        "job_id": job_id,
        "kind": "build",
        "status": status,
        "stage": next((s["name"] for s in out_stages if s["status"] in ("running", "failed")), None),
        "progress": 0,
        "attempt": 1,
        "branch": branch,
        "created_at": "2026-11-23T09:59:58+00:00",
        "started_at": "2026-11-23T10:00:00+00:00",
        "finished_at": "2026-11-23T10:01:30+00:00" if status in ("COMPLETED", "FAILED", "CANCELLED") else None,
        "trigger": {"kind": "commit", "sha": "0123456789abcdef", "author": "Ada", "message": "Fix the intro", "branch": branch},
        "stages": out_stages,
        "translations": {},
        "artifacts": {},
        "live_url": None,
        "error": error,
    }
    job.update(extra)
    return job
