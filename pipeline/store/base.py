"""What every part of the :class:`~pipeline.store.Store` shares: engines, clock, transactions.

The store is one class assembled from parts that each read as one concern (``writes``,
``leases``, ``reads``, ``sessions``); they all build on :class:`StoreBase`, so each part can
open a transaction, record an event and load a job the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Iterable
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


@dataclasses.dataclass
class _Work:
    """What one write transaction made claimable, announced only once it has committed: a wake-up
    sent before the commit would send claimers to a queue that does not show the job yet."""

    kinds: list[str] = dataclasses.field(default_factory=list)
    """One entry per job made claimable."""
    later: list[tuple[float, str]] = dataclasses.field(default_factory=list)
    """(delay, kind): a retry that falls due later wakes claimers then."""


_WORK: contextvars.ContextVar[_Work | None] = contextvars.ContextVar("pressroom_store_work", default=None)


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
        self._work: asyncio.Event | None = None
        self.work_seq = 0
        """Counts wake-ups for claimers; a claimer reads it before it claims and passes it to
        :meth:`wait_work`, so work announced while its claim ran is not slept through."""
        self._idle_kinds: frozenset[str] = frozenset()
        self._idle_room = 0
        """This daemon's claimer is waiting with this many free slots for these kinds (:meth:`claimer_idle`)."""
        self.schema_ahead: int | None = None
        """The store's schema version when a newer daemon migrated past what this one knows (it
        then claims nothing: it could write rows it does not understand)."""
        self.listener: Listener | None = None
        """PostgreSQL only: tells other daemons about this one's writes and wakes on theirs."""

    @property
    def dialect(self) -> str:
        return self.engines.dialect

    # -- change notification --------------------------------------------------------------------
    # Two kinds of waiters: claimers (the worker loop) care only about writes that make a job
    # claimable (a new job, a requeue, a retry falling due, a place freed under a cluster-wide
    # limit); readers (SSE streams, the dashboard) care about every write. At hundreds of jobs a
    # second, waking claimers on every progress, stage, event and finish write made each daemon
    # run a claim query per write for nothing. Both wake for this process's writes and, on
    # PostgreSQL, for other daemons' (their NOTIFY reaches :attr:`listener`; the payload names
    # the kinds made claimable, ``*`` for none). A waiter's timeout is the fallback poll.

    def notify_changed(self) -> None:
        """Wake readers: something was written."""
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def notify_work(self) -> None:
        """Wake claimers (and readers): a job may be claimable now."""
        self.work_seq += 1
        if self._work is not None:
            self._work.set()
            self._work = None
        self.notify_changed()

    def _mark_work(self, kind: str) -> None:
        """The running write transaction makes a job of ``kind`` claimable (announced at commit)."""
        work = _WORK.get()
        if work is not None:
            work.kinds.append(kind)
        else:  # outside :meth:`_write` (never in the store itself): announce at once
            self._wake((kind,))

    def _mark_work_later(self, delay: float, kind: str) -> None:
        """The running write transaction makes a job of ``kind`` claimable in ``delay`` seconds."""
        work = _WORK.get()
        if work is not None:
            work.later.append((delay, kind))
        else:
            self.wake_later(delay, kind)

    def wake_later(self, delay: float, kind: str) -> None:
        """Wake claimers here and on the other daemons when a retry falls due in ``delay`` seconds."""
        with contextlib.suppress(RuntimeError):  # no running loop: nobody is waiting
            asyncio.get_running_loop().call_later(max(0.0, delay), self._wake, (kind,))

    def claimer_idle(self, kinds: Iterable[str], room: int) -> None:
        """This daemon's claimer waits for work with ``room`` free slots for ``kinds`` (0: it does not)."""
        self._idle_kinds, self._idle_room = frozenset(kinds), room

    def _wake(self, kinds: Iterable[str] = ()) -> None:
        """After a commit: wake local waiters and tell the other daemons. ``kinds`` (one per job
        made claimable) wake claimers; without them only readers wake.

        Work this daemon's idle claimer has room for is announced to the other daemons as ``*``
        (their readers only): this daemon claims it at once, and waking every other daemon's
        claimers for it only had them run a claim that found nothing (two nodes: one empty claim
        per job). Work beyond that room, or while the claimer is busy, wakes them all.
        """
        kinds = list(kinds)
        if kinds:
            self.notify_work()
            if len(kinds) <= self._idle_room and self._idle_kinds.issuperset(kinds):
                self._idle_room -= len(kinds)
                kinds = []
        else:
            self.notify_changed()
        if self.listener is not None:
            self.listener.publish(kinds)

    async def wait_changed(self, timeout: float) -> bool:
        """Wait until something was written (here or, on PostgreSQL, by another daemon) or ``timeout`` passes."""
        if self._changed is None:
            self._changed = asyncio.Event()
        return await _wait(self._changed, timeout)

    async def wait_work(self, timeout: float, seen: int | None = None) -> bool:
        """Wait until a job may have become claimable or ``timeout`` passes. With ``seen`` (the
        :attr:`work_seq` read before the last claim), return at once if work was announced since."""
        if seen is not None and seen != self.work_seq:
            return True
        if self._work is None:
            self._work = asyncio.Event()
        return await _wait(self._work, timeout)

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
        """One write transaction; readers are woken after it commits unless ``notify`` is False
        (writes no reader waits for: lease renewals, worker heartbeats, sessions), and claimers
        when it made a job claimable (:meth:`_mark_work`), whatever ``notify`` says."""
        work = _Work()
        token = _WORK.set(work)
        try:
            async with self.engines.begin() as conn:
                yield conn
        finally:
            _WORK.reset(token)
        for delay, kind in work.later:
            self.wake_later(delay, kind)
        if notify or work.kinds:
            self._wake(work.kinds)

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


async def _wait(event: asyncio.Event, timeout: float) -> bool:
    try:
        await asyncio.wait_for(event.wait(), timeout)
        return True
    except TimeoutError:
        return False
