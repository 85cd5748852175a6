"""Supervision for the daemon's long-running tasks (worker, drop-folder watchers, schedules).

A task created once for the daemon's lifetime that ends with an exception used to end silently
(once, ``Worker.run()`` died on ``database is locked``, nothing was logged, ``/healthz`` said
ok and jobs stayed PENDING). Each such task now runs under one :class:`Supervisor`: an error is
logged with its traceback, the task is started again after an exponential backoff (capped), and
its state (``running``, or ``restarting`` since when and why) is what ``/healthz`` reports.
A task that returns without being asked to stop counts as a crash too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

Factory = Callable[[], Awaitable[None]]


@dataclass
class Part:
    """One supervised task and what /healthz says about it."""

    name: str
    factory: Factory
    stop: Callable[[], None] | None
    state: str = "starting"
    """``running``, ``restarting`` (crashed; waiting out the backoff) or ``stopped``."""
    since: float = field(default_factory=time.time)
    restarts: int = 0
    last_error: str | None = None
    task: asyncio.Task[None] | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def view(self) -> dict[str, Any]:
        return {"state": self.state, "since": round(self.since, 3), "restarts": self.restarts,
                "last_error": self.last_error}


class Supervisor:
    """Runs named coroutine factories and restarts them when they fail.

    ``first`` and ``cap`` shape the backoff (``first * 2**n`` seconds, at most ``cap``); a task that
    ran for ``healthy_after`` seconds before failing starts again from ``first``, so a crash once a
    day does not wait as long as a crash loop. ``on_restart(name)`` feeds the restart metric.
    """

    def __init__(self, *, first: float = 0.5, cap: float = 30.0, healthy_after: float = 60.0,
                 on_restart: Callable[[str], None] | None = None) -> None:
        self.first = first
        self.cap = cap
        self.healthy_after = healthy_after
        self.on_restart = on_restart
        self.parts: dict[str, Part] = {}

    def start(self, name: str, factory: Factory, *, stop: Callable[[], None] | None = None) -> Part:
        """Run ``factory()`` under supervision. ``stop`` asks the running task to finish on its own
        (e.g. ``worker.stop``); without it, stopping cancels the task."""
        if name in self.parts and self.parts[name].state != "stopped":
            raise ValueError(f"a part named {name!r} is already supervised")
        part = Part(name, factory, stop)
        part.task = asyncio.create_task(self._supervise(part), name=f"supervised {name}")
        self.parts[name] = part
        return part

    def health(self) -> dict[str, dict[str, Any]]:
        return {name: part.view() for name, part in self.parts.items()}

    def failing(self) -> list[str]:
        """Parts that should be running and are not (stopped parts were asked to stop)."""
        return [name for name, part in self.parts.items() if part.state not in ("running", "stopped")]

    async def stop(self, name: str, grace: float = 10.0) -> None:
        """Ask one part to stop, wait up to ``grace`` seconds, then cancel it."""
        part = self.parts.get(name)
        if part is None or part.task is None:
            return
        part.stopping.set()
        if part.stop is not None and part.state == "running":
            part.stop()
        else:
            part.task.cancel()
        done, _ = await asyncio.wait({part.task}, timeout=grace)
        if not done:
            logger.warning("%s did not stop within %.0f s; cancelling it", name, grace, extra={"action": "part_cancel"})
            part.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await part.task
        part.state, part.since = "stopped", time.time()

    async def stop_all(self, grace: float = 10.0) -> None:
        await asyncio.gather(*(self.stop(name, grace) for name in list(self.parts)))

    async def _supervise(self, part: Part) -> None:
        failures = 0
        while not part.stopping.is_set():
            part.state, part.since = "running", time.time()
            started = time.monotonic()
            try:
                await part.factory()
            except asyncio.CancelledError:
                if part.stopping.is_set():
                    return
                raise
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                crashed: BaseException | None = exc
            else:
                if part.stopping.is_set():
                    return
                error, crashed = "it returned without being asked to stop", None
            if time.monotonic() - started >= self.healthy_after:
                failures = 0
            failures += 1
            delay = min(self.cap, self.first * 2 ** (failures - 1))
            part.state, part.since, part.last_error = "restarting", time.time(), error
            part.restarts += 1
            logger.error("%s stopped: %s; restarting in %.1f s", part.name, error, delay, exc_info=crashed,
                         extra={"action": "part_crashed", "part": part.name, "restarts": part.restarts})
            if self.on_restart is not None:
                self.on_restart(part.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(part.stopping.wait(), delay)
