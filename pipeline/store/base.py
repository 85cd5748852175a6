"""What every part of the :class:`~pipeline.store.Store` shares: engines, clock, transactions.

The store is one class assembled from parts that each read as one concern (``writes``,
``leases``, ``reads``, ``sessions``); they all build on :class:`StoreBase`, so each part can
open a transaction, record an event and load a job the same way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from pipeline.store.engine import Engines
from pipeline.store.model import Job, JobSpec, Transition
from pipeline.store.queries import EVENT_INSERT, GET_JOB

Outbox = Callable[[Transition], list[JobSpec]]
"""Plans the jobs (notifications, promotions) a transition causes; runs inside its transaction."""


class StoreBase:
    def __init__(self, engines: Engines, *, clock: Callable[[], float] = time.time, outbox: Outbox | None = None) -> None:
        self.engines = engines
        self.clock = clock
        self.outbox = outbox
        self._changed: asyncio.Event | None = None

    @property
    def dialect(self) -> str:
        return self.engines.dialect

    # -- change notification --------------------------------------------------------------------
    # In-process only: waiters wake when this process writes. Writes by another daemon sharing
    # the store are seen when a waiter's timeout ends and it reads again (its poll interval).

    def notify_changed(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def wait_changed(self, timeout: float) -> bool:
        """Wait until something was written (by this process) or ``timeout`` passes."""
        if self._changed is None:
            self._changed = asyncio.Event()
        ev = self._changed
        try:
            await asyncio.wait_for(ev.wait(), timeout)
            return True
        except TimeoutError:
            return False

    # -- transactions -----------------------------------------------------------------------------

    @asynccontextmanager
    async def _write(self, notify: bool = True) -> AsyncIterator[Any]:
        """One write transaction; waiters are woken after it commits unless ``notify`` is False
        (writes no reader waits for: lease renewals, worker heartbeats, sessions)."""
        async with self.engines.begin() as conn:
            yield conn
        if notify:
            self.notify_changed()

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[Any]:
        async with self.engines.connect() as conn:
            yield conn

    async def _event(self, conn: Any, job_id: str, type_: str, *, status: str | None = None,
                     stage: str | None = None, progress: float | None = None, data: dict[str, Any] | None = None) -> None:
        await conn.execute(EVENT_INSERT, {"job_id": job_id, "type": type_, "status": status, "stage": stage,
                                          "progress": progress, "data": data, "created_at": self.clock()})

    async def _get(self, conn: Any, job_id: str) -> Job | None:
        row = (await conn.execute(GET_JOB, {"job_id": job_id})).first()
        return Job.from_row(row) if row else None
