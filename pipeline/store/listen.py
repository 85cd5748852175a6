"""Wake-ups between daemons sharing one PostgreSQL store: ``LISTEN/NOTIFY`` on one channel.

Every daemon keeps one dedicated asyncpg connection (outside the SQLAlchemy pool, which hands
connections out per transaction and so cannot hold a ``LISTEN``). After a write that a waiter
may care about (a submit, a claim, progress, a cancel, a finish, a retry becoming due) the store
calls :meth:`Listener.publish`; publishes made in the same loop turn are sent as one ``NOTIFY``
on that connection, off the writer's path, so a write never waits for it. Another daemon's
notification wakes this daemon's waiters (worker loop, SSE streams, dashboard stream) at once.

A notification is a hint, never the only way to learn of work: the connection reconnects with
backoff (0.1 s doubling to 5 s) and, each time it is back, wakes every waiter so they read what
they missed; waiters also keep polling at ``[workers] poll_interval``. The payload is the sending
daemon's node id, so a daemon ignores its own notifications (it already woke locally), then the
job kinds the writes made claimable (``node build,deliver``: new jobs, requeues, retries falling
due, places freed under a cluster-wide limit) or ``*`` when they made nothing claimable (a claim,
progress, a finish, a cancel). Only the first kind wakes claimers (``on_work``); both wake
readers such as SSE streams (``on_wake``): at hundreds of jobs a second, a claim query on every
node for every progress or finish write was most of a node's store traffic. An operator watching
with ``LISTEN pressroom_jobs`` can tell a new build from a delivery the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

import asyncpg

logger = logging.getLogger(__name__)


def payload(node: str, kinds: Iterable[str]) -> str:
    """``<node> <kind,kind>``; ``*`` stands for writes that made nothing claimable (a finish, a cancel)."""
    named = sorted(k for k in kinds if k != "*")
    return f"{node} {','.join(named) or '*'}"

CHANNEL = "pressroom_jobs"
"""The one channel every daemon listens on and notifies."""
NOTIFY = "SELECT pg_notify($1, $2)"
"""Send one wake-up (payload: the sender's node id, a space, the kinds written or ``*``)."""
_BACKOFF_FIRST, _BACKOFF_CAP = 0.1, 5.0
READERS_EVERY = 0.025
"""Seconds between two ``*`` notifications (writes that made nothing claimable) from one daemon:
they only refresh other daemons' SSE streams and dashboards, so under load many writes share
one; a notification naming kinds (work to claim) is never held back."""
_KEEPALIVE = 5.0
"""Seconds between liveness probes of the listening connection (a silently dropped link)."""


def asyncpg_dsn(url: str) -> str:
    """``postgresql+asyncpg://…`` or ``postgres://…`` -> the ``postgresql://…`` asyncpg takes."""
    return "postgresql://" + url.split("://", 1)[1]


class Listener:
    """One reconnecting ``LISTEN`` connection: ``on_work()`` runs for other daemons' notifications
    that name kinds (work to claim), ``on_wake()`` for the others (something changed)."""

    def __init__(self, url: str, *, node: str, on_wake: Callable[[], None],
                 on_work: Callable[[], None] | None = None) -> None:
        self.dsn = asyncpg_dsn(url)
        self.node = node
        self.on_wake = on_wake
        self.on_work = on_work or on_wake
        self.connected = asyncio.Event()
        self.received = 0
        """Notifications from other daemons seen so far (tests and /metrics read it)."""
        self._conn: Any = None
        self._task: asyncio.Task[None] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._pending = False
        self._kinds: set[str] = set()
        self._work = asyncio.Event()
        """Set when a pending notification names kinds: a held-back ``*`` one goes at once then."""
        self._last_sent = 0.0
        self._closing = False
        self._lock = asyncio.Lock()
        """One operation at a time on the connection (a NOTIFY and a keepalive probe must not overlap)."""

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="store-listener")

    async def close(self) -> None:
        self._closing = True
        for task in (self._sender, self._task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self._drop()

    # -- sending ------------------------------------------------------------------------------

    def publish(self, kinds: Iterable[str] = ()) -> None:
        """Ask for one NOTIFY soon (``kinds``: those made claimable, none for other writes); calls in
        the same loop turn, or while the previous NOTIFY is on its way, share it. Never blocks, never raises."""
        self._pending = True
        self._kinds.update(kinds)
        if self._kinds:
            self._work.set()
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send(), name="store-notify")

    async def _send(self) -> None:
        await asyncio.sleep(0)  # let the other writes of this loop turn join this notification
        loop = asyncio.get_running_loop()
        while self._pending and not self._closing:
            hold = self._last_sent + READERS_EVERY - loop.time()
            if not self._kinds and hold > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._work.wait(), hold)
            self._work.clear()
            self._last_sent = loop.time()
            self._pending = False
            kinds, self._kinds = self._kinds, set()
            conn = self._conn
            if conn is None:
                return  # disconnected: the other daemons read on reconnect or at their next poll
            try:
                async with self._lock:
                    await conn.execute(NOTIFY, CHANNEL, payload(self.node, kinds))
            except Exception as exc:  # a broken link is the receive loop's to repair
                logger.debug("notify failed: %s", exc)
                return

    # -- receiving ----------------------------------------------------------------------------

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        node, _, kinds = payload.partition(" ")
        if node != self.node:
            self.received += 1
            if kinds == "*":
                self.on_wake()
            else:  # named kinds, or a payload from a daemon that sends none: there may be work
                self.on_work()

    async def _run(self) -> None:
        delay = _BACKOFF_FIRST
        while not self._closing:
            try:
                conn = await asyncpg.connect(self.dsn, timeout=5)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._on_notify)
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                logger.warning("cannot listen for other daemons' wake-ups: %s; retrying in %.1f s", exc, delay,
                               extra={"action": "listen_retry"})
                await asyncio.sleep(delay)
                delay = min(delay * 2, _BACKOFF_CAP)
                continue
            self._conn, delay = conn, _BACKOFF_FIRST
            self.connected.set()
            self.on_work()  # read whatever was written while this daemon could not hear it
            await self._watch(conn, lost)
            self.connected.clear()
            await self._drop()

    async def _watch(self, conn: Any, lost: asyncio.Event) -> None:
        """Return when the connection is gone: closed by the server, or not answering a probe."""
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), _KEEPALIVE)
            if lost.is_set() or conn.is_closed():
                return
            try:
                async with self._lock:
                    await asyncio.wait_for(conn.fetchval("SELECT 1"), _KEEPALIVE)
            except Exception:
                return

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)
            if not conn.is_closed():
                conn.terminate()
