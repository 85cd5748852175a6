"""Engines per dialect, and the migrations applied on start.

SQLite (embedded, one daemon) runs on the *synchronous* pysqlite driver, called directly from the
event loop: a local WAL-mode statement takes tens of microseconds, far less than a hop to a driver
thread (aiosqlite pays several per statement, which capped the queue near 100 jobs/s). Writes
share one connection whose transactions start with ``BEGIN IMMEDIATE``; reads use a small pool
and never block the writer. A transaction body never awaits anything but these statements, so it
cannot interleave with another. PostgreSQL (several daemons) uses asyncpg through SQLAlchemy's
async engine. Both give the store the same ``await conn.execute(...)`` surface.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from pipeline.store import tables


class SyncConn:
    """An ``AsyncConnection``-shaped face on a sync connection (statements run inline)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
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

    @property
    def inline(self) -> bool:
        return isinstance(self.writer, Engine)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[Any]:
        """A write transaction (commits on exit, rolls back on error)."""
        if isinstance(self.writer, Engine):
            with self.writer.begin() as conn:
                yield SyncConn(conn)
        else:
            async with self.writer.begin() as aconn:
                yield aconn

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[Any]:
        """A read-only connection."""
        if isinstance(self.reader, Engine):
            with self.reader.connect() as conn:
                yield SyncConn(conn)
        else:
            async with self.reader.connect() as aconn:
                yield aconn

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
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_engines(url: str) -> Engines:
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"check_same_thread": False}
        writer = create_engine(url, pool_size=1, max_overflow=0, pool_timeout=120, connect_args=connect_args)
        _sqlite_pragmas(writer, immediate=True)
        reader = create_engine(url, pool_size=4, max_overflow=8, connect_args=connect_args)
        _sqlite_pragmas(reader, immediate=False)
        return Engines(dialect="sqlite", writer=writer, reader=reader)
    if url.startswith(("postgresql://", "postgres://", "postgresql+asyncpg://")):
        aurl = "postgresql+asyncpg://" + url.split("://", 1)[1]
        engine = create_async_engine(aurl, pool_size=10, max_overflow=10, pool_pre_ping=True)
        return Engines(dialect="postgresql", writer=engine, reader=engine)
    raise ValueError(f"unsupported store URL {url!r}: use sqlite:///path.db or postgresql://...")


def _v1(conn: Connection) -> None:
    tables.metadata.create_all(conn)


def _v2(conn: Connection) -> None:
    """Dashboard indexes (kind + newest first; durations per kind) for stores made by v1."""
    for index in tables.jobs.indexes:
        if index.name in ("ix_jobs_kind_created", "ix_jobs_kind_finished"):
            index.create(conn, checkfirst=True)


MIGRATIONS: list[tuple[int, Callable[[Connection], None]]] = [(1, _v1), (2, _v2)]
"""Numbered migrations (sync functions on a connection); append, never edit. v1 is the initial schema."""


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
