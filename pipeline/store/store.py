"""``Store``: jobs, events, stage results, schedules, refs and sessions, one transaction per method.

Methods are named for what callers want (``submit``, ``claim_next``, ``finish``...) and live in
the part that does that kind of work: :mod:`~pipeline.store.writes` (submissions, what a
transition causes, user actions), :mod:`~pipeline.store.leases` (a worker's fenced writes),
:mod:`~pipeline.store.reads` and :mod:`~pipeline.store.sessions`. This class puts them
together with opening, closing and health checks. The store raises the API's own error types
(:mod:`pipeline.errors`): their codes are the stable ones clients see.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy import text

from pipeline import errors
from pipeline.store import ids
from pipeline.store.audits import AuditMethods
from pipeline.store.base import OffsetClock, Outbox
from pipeline.store.engine import BUSY_TIMEOUT, create_engines, migrate
from pipeline.store.leases import LeaseMethods
from pipeline.store.listen import Listener
from pipeline.store.reads import ReadMethods
from pipeline.store.sessions import SessionMethods

TARGET_LOCK = text("SELECT pg_advisory_lock(hashtext(:key))")
"""Wait for, then hold, a target's deploy lock (PostgreSQL, session-scoped)."""
TARGET_UNLOCK = text("SELECT pg_advisory_unlock(hashtext(:key))")


class Store(LeaseMethods, ReadMethods, SessionMethods, AuditMethods):
    @classmethod
    async def open(cls, url: str, *, clock: Callable[[], float] = time.time, outbox: Outbox | None = None,
                   busy_timeout: float = BUSY_TIMEOUT, server_clock: bool | None = None, listen: bool = True) -> Store:
        """Connect to ``url`` and apply the migrations this store has not seen yet.

        On PostgreSQL, several daemons share the store: ``server_clock`` (default: when ``clock``
        is the wall clock) corrects the clock to the database server's, so leases mean the same
        on every node, and ``listen`` starts the LISTEN/NOTIFY wake-ups between daemons.
        """
        engines = create_engines(url, busy_timeout=busy_timeout)
        if engines.dialect == "postgresql" and (server_clock if server_clock is not None else clock is time.time):
            clock = OffsetClock(clock)
        store = cls(engines, clock=clock, outbox=outbox)
        await migrate(store.engines)
        await store.sync_cluster()
        if engines.dialect == "postgresql" and listen:
            store.listener = Listener(url, node=f"{socket.gethostname()}:{os.getpid()}:{ids.ulid()[-6:]}",
                                      on_wake=store.notify_changed, on_work=store.notify_work)
            store.listener.start()
        return store

    async def close(self) -> None:
        if self.listener is not None:
            await self.listener.close()
        await self.engines.dispose()

    async def ping(self, timeout: float = 1.0, lock_wait: float = 0.02) -> bool:
        """Can the store take a write now? StoreUnavailable when not, within ``timeout`` (a server
        that does not answer) or ``lock_wait`` (a SQLite write lock held by another program): /healthz
        must answer at once. SQLite WAL readers are never blocked by a writer, so only a (no-op)
        write transaction notices a held write lock."""
        async def probe() -> None:
            async with self.engines.begin(wait=lock_wait) as conn:
                await conn.execute(text("SELECT 1"))

        try:
            await asyncio.wait_for(probe(), timeout)
        except TimeoutError as exc:
            raise errors.StoreUnavailable(f"the store did not answer within {timeout:g} s") from exc
        return True

    @asynccontextmanager
    async def target_lock(self, target: str) -> AsyncIterator[None]:
        """One deploy to ``target`` at a time across every daemon on this store.

        PostgreSQL: a session advisory lock on a connection held for the deploy, so a node that
        dies releases it with its connection. SQLite has one daemon, and the deploy stage's file
        lock on the target folder already serialises its deploys.
        """
        if self.dialect != "postgresql":
            yield
            return
        async with self.engines.connect() as conn:
            await conn.execute(TARGET_LOCK, {"key": f"pressroom.target.{target}"})
            try:
                yield
            finally:
                with contextlib.suppress(Exception):  # a broken connection has released it already
                    await conn.execute(TARGET_UNLOCK, {"key": f"pressroom.target.{target}"})

    @property
    def locked_since(self) -> float | None:
        """When writes started being refused (SQLite lock held elsewhere), or None."""
        return self.engines.contention.since
