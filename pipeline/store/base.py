"""What every part of the :class:`~pipeline.store.Store` shares: engines, clock, transactions.

The store is one class assembled from parts that each read as one concern (``writes``,
``leases``, ``reads``, ``sessions``); they all build on :class:`StoreBase`, so each part can
open a transaction, record an event and load a job the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import func, select, text

from pipeline.store import tables
from pipeline.store.engine import Engines, known_schema
from pipeline.store.listen import Listener
from pipeline.store.model import Job, JobSpec, Transition
from pipeline.store.queries import EVENT_INSERT, GET_JOB

DB_NOW = text("SELECT extract(epoch from clock_timestamp())")
"""The database server's clock (PostgreSQL), which every daemon's lease arithmetic follows."""
NEWEST_SCHEMA = select(func.max(tables.schema_version.c.version))
"""The newest migration applied to the store, by whichever daemon."""

Outbox = Callable[[Transition], list[JobSpec]]
"""Plans the jobs (notifications, promotions) a transition causes; runs inside its transaction."""


class OffsetClock:
    """The local clock corrected to the database server's, so daemons whose clocks disagree by
    minutes still agree on when a lease expires: a node with a fast clock cannot take jobs
    from live workers, one with a slow clock cannot keep a lease it lost."""

    def __init__(self, base: Callable[[], float]) -> None:
        self.base = base
        self.offset = 0.0

    def __call__(self) -> float:
        return self.base() + self.offset


class StoreBase:
    def __init__(self, engines: Engines, *, clock: Callable[[], float] = time.time, outbox: Outbox | None = None) -> None:
        self.engines = engines
        self.clock = clock
        self.outbox = outbox
        self._changed: asyncio.Event | None = None
        self.schema_ahead: int | None = None
        """The store's schema version when a newer daemon migrated past what this one knows (it
        then claims nothing: it could write rows it does not understand)."""
        self.listener: Listener | None = None
        """PostgreSQL only: tells other daemons about this one's writes and wakes on theirs."""
        self.new_kinds: set[str] = set()
        """Kinds of the jobs inserted since the last wake-up: the NOTIFY payload names them."""

    @property
    def dialect(self) -> str:
        return self.engines.dialect

    # -- change notification --------------------------------------------------------------------
    # Waiters wake when this process writes and, on PostgreSQL, when another daemon sharing the
    # store writes (its NOTIFY reaches :attr:`listener`). A waiter's timeout is the fallback poll.

    def notify_changed(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def wake_later(self, delay: float) -> None:
        """Wake waiters here and on the other daemons when a retry falls due in ``delay`` seconds."""
        with contextlib.suppress(RuntimeError):  # no running loop: nobody is waiting
            asyncio.get_running_loop().call_later(max(0.0, delay), self._wake_all)

    def _wake_all(self) -> None:
        self.notify_changed()
        kinds, self.new_kinds = self.new_kinds, set()
        if self.listener is not None:
            self.listener.publish(kinds)

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

    async def sync_cluster(self) -> None:
        """Re-read what other daemons may have changed: the server's clock (when the store follows
        it) and the schema version (a newer daemon may have migrated)."""
        async with self._read() as conn:
            if isinstance(self.clock, OffsetClock):
                t0 = self.clock.base()
                db_now = float((await conn.execute(DB_NOW)).scalar_one())
                self.clock.offset = db_now - (t0 + self.clock.base()) / 2
            newest = (await conn.execute(NEWEST_SCHEMA)).scalar()
        known = known_schema()
        self.schema_ahead = int(newest) if newest is not None and newest > known else None

    # -- transactions -----------------------------------------------------------------------------

    @asynccontextmanager
    async def _write(self, notify: bool = True) -> AsyncIterator[Any]:
        """One write transaction; waiters are woken after it commits unless ``notify`` is False
        (writes no reader waits for: lease renewals, worker heartbeats, sessions)."""
        async with self.engines.begin() as conn:
            yield conn
        if notify:
            self._wake_all()

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
