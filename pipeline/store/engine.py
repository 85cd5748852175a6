"""Engines per dialect, and the migrations applied on start.

SQLite (embedded, one daemon) runs on the *synchronous* pysqlite driver, called directly from the
event loop: a local WAL-mode statement takes tens of microseconds, far less than a hop to a driver
thread (aiosqlite pays several per statement, which capped the queue near 100 jobs/s). Writes
share one connection whose transactions start with ``BEGIN IMMEDIATE``; reads use a small pool
and never block the writer. A transaction body never awaits anything but these statements, so it
cannot interleave with another. PostgreSQL (several daemons) uses asyncpg through SQLAlchemy's
async engine. Both give the store the same ``await conn.execute(...)`` surface.

Inline calls must never wait long on the loop, or one ``sqlite3`` shell holding a write lock
freezes the whole daemon. So SQLite's own busy handler waits at most
:data:`LOOP_BUSY_TIMEOUT_MS`; past that, taking the write lock (``BEGIN IMMEDIATE``, before the
transaction body runs) is retried with ``asyncio.sleep`` and exponential backoff, with the
connection back in the pool while sleeping, until ``busy_timeout`` seconds have passed; then
:class:`~pipeline.errors.StoreUnavailable` (503). A write body still never awaits anything but
its statements, so retrying at ``begin()`` keeps transactions from interleaving. Reads (WAL
readers are rarely refused) retry the refused statement the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from pipeline import errors
from pipeline.store import tables

LOOP_BUSY_TIMEOUT_MS = 5
"""How long one SQLite call may wait for a lock while holding the event loop."""
BUSY_TIMEOUT = 15.0
"""Default overall wait (seconds, off the loop) for a locked SQLite store: ``[store] busy_timeout``."""
_BACKOFF_FIRST, _BACKOFF_CAP = 0.005, 0.2
IDLE_PING = 1.0
"""PostgreSQL: a pooled connection unused for longer (seconds) is pinged before it is handed out."""


def is_busy(exc: BaseException) -> bool:
    """SQLITE_BUSY / SQLITE_LOCKED (``database is locked``), whether or not SQLAlchemy wrapped it."""
    orig = exc.orig if isinstance(exc, OperationalError) else exc
    if not isinstance(orig, sqlite3.OperationalError):
        return False
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(orig) or "busy" in str(orig)


class Contention:
    """Retries a refused SQLite call with asyncio.sleep until a deadline, and remembers since when
    writes have been refused (``since``, for /healthz)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.since: float | None = None
        """``time.time()`` of the first refused write of the current episode; None once one succeeds."""

    def deadline(self, wait: float | None) -> float:
        return time.monotonic() + (self.timeout if wait is None else wait)

    async def backoff(self, exc: BaseException, started: float, deadline: float, delay: float, what: str) -> float:
        """Sleep before the next try (or raise StoreUnavailable past the deadline); the next delay."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise errors.StoreUnavailable(
                f"the SQLite store stayed locked for {time.monotonic() - started:.1f} s while {what} "
                "(another program holds a lock on it)") from exc
        await asyncio.sleep(min(delay, remaining))
        return min(delay * 2, _BACKOFF_CAP)


class SyncConn:
    """An ``AsyncConnection``-shaped face on a sync connection (statements run inline).

    With ``contention`` (read connections only), a statement refused with SQLITE_BUSY is retried
    after an ``asyncio.sleep``; in a write transaction the lock is already held, so a refusal
    there is an error at once (sleeping inside it would let another transaction interleave).
    """

    def __init__(self, conn: Connection, contention: Contention | None = None, wait: float | None = None) -> None:
        self.conn = conn
        self.contention = contention
        self.wait = wait

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        if self.contention is None:
            return self._execute(statement, parameters)
        started, deadline, delay = time.monotonic(), self.contention.deadline(self.wait), _BACKOFF_FIRST
        while True:
            try:
                result = self._execute(statement, parameters)
            except OperationalError as exc:
                if not is_busy(exc):
                    raise
                delay = await self.contention.backoff(exc, started, deadline, delay, "reading")
                continue
            return result

    def _execute(self, statement: Any, parameters: Any) -> Any:
        return self.conn.execute(statement, parameters) if parameters is not None else self.conn.execute(statement)

    async def exec_driver_sql(self, sql: str) -> Any:
        return self.conn.exec_driver_sql(sql)

    async def run_sync(self, fn: Callable[..., Any], *args: Any) -> Any:
        return fn(self.conn, *args)

    @asynccontextmanager
    async def begin_nested(self) -> AsyncIterator[None]:
        with self.conn.begin_nested():
            yield


@dataclass
class Engines:
    dialect: str
    writer: Engine | AsyncEngine
    reader: Engine | AsyncEngine
    contention: Contention = field(default_factory=lambda: Contention(BUSY_TIMEOUT))

    @property
    def inline(self) -> bool:
        return isinstance(self.writer, Engine)

    @asynccontextmanager
    async def begin(self, wait: float | None = None) -> AsyncIterator[Any]:
        """A write transaction (commits on exit, rolls back on error).

        On SQLite, ``wait`` bounds how long to wait for the write lock (default ``busy_timeout``).
        """
        if isinstance(self.writer, Engine):
            with contextlib.ExitStack() as stack:
                conn = await self._enter(stack, self.writer.begin, wait, "waiting to write", write=True)
                yield SyncConn(conn)
        else:
            async with self.writer.begin() as aconn:
                yield aconn

    @asynccontextmanager
    async def connect(self, wait: float | None = None) -> AsyncIterator[Any]:
        """A read-only connection."""
        if isinstance(self.reader, Engine):
            with contextlib.ExitStack() as stack:
                conn = await self._enter(stack, self.reader.connect, wait, "connecting to read", write=False)
                yield SyncConn(conn, self.contention, wait)
        else:
            async with self.reader.connect() as aconn:
                yield aconn

    async def _enter(self, stack: contextlib.ExitStack, open_: Callable[[], Any], wait: float | None, what: str, *,
                     write: bool) -> Any:
        """Enter ``open_()`` (a connection, or a transaction whose BEGIN IMMEDIATE takes the write
        lock), sleeping between refused tries; a refused try leaves nothing open or checked out."""
        started, deadline, delay = time.monotonic(), self.contention.deadline(wait), _BACKOFF_FIRST
        while True:
            try:
                conn = stack.enter_context(open_())
            except OperationalError as exc:
                if not is_busy(exc):
                    raise
                if write and self.contention.since is None:
                    self.contention.since = time.time()
                delay = await self.contention.backoff(exc, started, deadline, delay, what)
                continue
            if write:
                self.contention.since = None
            return conn

    async def dispose(self) -> None:
        for engine in {id(self.writer): self.writer, id(self.reader): self.reader}.values():
            if isinstance(engine, Engine):
                engine.dispose()
            else:
                await engine.dispose()


def _sqlite_pragmas(engine: Engine, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={LOOP_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it sat idle past :data:`IDLE_PING`.

    ``pool_pre_ping`` costs three round trips (``BEGIN``, an empty query, ``ROLLBACK``) on every
    checkout, about one in three of all round trips a job makes under load; a connection used a
    moment ago is as alive as a ping would show. One that sat idle (a server restart or an idle
    timeout may have closed it) is pinged, and replaced when the ping fails. A connection that
    breaks while in use is caught as before: SQLAlchemy sees the disconnect and invalidates the
    whole pool, so the next checkouts get fresh connections.
    """
    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["pressroom_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("pressroom_idle_since")
        if since is None or time.monotonic() - since <= IDLE_PING:
            return
        try:
            dbapi_conn.ping()
        except Exception as exc:  # the pool discards it and checks out another (a new connection)
            raise DisconnectionError(f"an idle connection did not answer: {exc}") from exc


def create_engines(url: str, *, busy_timeout: float = BUSY_TIMEOUT) -> Engines:
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"check_same_thread": False}
        writer = create_engine(url, pool_size=1, max_overflow=0, pool_timeout=120, connect_args=connect_args)
        _sqlite_pragmas(writer, immediate=True)
        reader = create_engine(url, pool_size=4, max_overflow=8, connect_args=connect_args)
        _sqlite_pragmas(reader, immediate=False)
        return Engines(dialect="sqlite", writer=writer, reader=reader, contention=Contention(busy_timeout))
    if url.startswith(("postgresql://", "postgres://", "postgresql+asyncpg://")):
        aurl = "postgresql+asyncpg://" + url.split("://", 1)[1]
        engine = create_async_engine(aurl, pool_size=10, max_overflow=10)
        _ping_when_idle(engine.sync_engine)
        return Engines(dialect="postgresql", writer=engine, reader=engine)
    raise ValueError(f"unsupported store URL {url!r}: use sqlite:///path.db or postgresql://...")


def _v1(conn: Connection) -> None:
    tables.metadata.create_all(conn)


def _v2(conn: Connection) -> None:
    """Dashboard indexes (kind + newest first; durations per kind) for stores made by v1."""
    for index in tables.jobs.indexes:
        if index.name in ("ix_jobs_kind_created", "ix_jobs_kind_finished"):
            index.create(conn, checkfirst=True)


def _v3(conn: Connection) -> None:
    """Dashboard sessions for stores made before them (v1 creates it on a new store)."""
    tables.sessions.create(conn, checkfirst=True)


def _v4(conn: Connection) -> None:
    """Audit runs and their tracked findings, for stores made before them."""
    for table in (tables.audit_runs, tables.audit_findings, tables.audit_run_findings):
        table.create(conn, checkfirst=True)


MIGRATIONS: list[tuple[int, Callable[[Connection], None]]] = [(1, _v1), (2, _v2), (3, _v3), (4, _v4)]
"""Numbered migrations (sync functions on a connection); append, never edit. v1 is the initial schema."""


def known_schema() -> int:
    """The newest schema version this daemon knows; a store past it was migrated by a newer one."""
    return max(version for version, _ in MIGRATIONS)


def _migrate(conn: Connection, dialect: str) -> int:
    if dialect == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(424242)")  # daemons starting together
    tables.schema_version.create(conn, checkfirst=True)
    done = {r[0] for r in conn.execute(select(tables.schema_version.c.version))}
    applied = 0
    for version, step in MIGRATIONS:
        if version in done:
            continue
        step(conn)
        conn.execute(insert(tables.schema_version).values(version=version, applied_at=time.time()))
        applied += 1
    return applied


async def migrate(engines: Engines) -> int:
    """Apply the migrations not yet applied; safe to run from several daemons at once."""
    async with engines.begin() as conn:
        return int(await conn.run_sync(_migrate, engines.dialect))
