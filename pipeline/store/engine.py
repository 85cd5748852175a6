"""Engines per dialect, and the migrations applied on start.

SQLite gets two engines: a one-connection writer whose transactions start with ``BEGIN IMMEDIATE``
(so writers in this process queue on the pool instead of spinning on ``database is locked``), and a
small reader pool in WAL mode that never blocks the writer. PostgreSQL gets one pool.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from pipeline.store import tables


@dataclass
class Engines:
    writer: AsyncEngine
    reader: AsyncEngine
    dialect: str

    async def dispose(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


def _sqlite_pragmas(immediate: bool) -> Callable[[AsyncEngine], None]:
    def install(engine: AsyncEngine) -> None:
        sync = engine.sync_engine

        @event.listens_for(sync, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(sync, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return install


def to_async_url(url: str) -> str:
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///"):]
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url


def create_engines(url: str) -> Engines:
    aurl = to_async_url(url)
    if aurl.startswith("sqlite"):
        path = aurl.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        writer = create_async_engine(aurl, pool_size=1, max_overflow=0, pool_timeout=120)
        _sqlite_pragmas(immediate=True)(writer)
        reader = create_async_engine(aurl, pool_size=4, max_overflow=4)
        _sqlite_pragmas(immediate=False)(reader)
        return Engines(writer=writer, reader=reader, dialect="sqlite")
    if aurl.startswith("postgresql"):
        engine = create_async_engine(aurl, pool_size=10, max_overflow=10, pool_pre_ping=True)
        return Engines(writer=engine, reader=engine, dialect="postgresql")
    raise ValueError(f"unsupported store URL {url!r}: use sqlite:///path.db or postgresql://...")


def listen_engine(url: str) -> AsyncEngine:
    """A pool-less engine for LISTEN connections (PostgreSQL only)."""
    return create_async_engine(to_async_url(url), poolclass=NullPool)


Migration = Callable[[AsyncConnection], Awaitable[None]]


async def _v1(conn: AsyncConnection) -> None:
    await conn.run_sync(tables.metadata.create_all)


MIGRATIONS: list[tuple[int, Migration]] = [(1, _v1)]
"""Numbered migrations; append, never edit. v1 is the initial schema."""


async def migrate(engines: Engines) -> int:
    """Apply the migrations not yet applied; safe to run from several daemons at once."""
    async with engines.writer.begin() as conn:
        if engines.dialect == "postgresql":
            # Serialise concurrent daemons starting together.
            await conn.exec_driver_sql("SELECT pg_advisory_xact_lock(424242)")
        await conn.run_sync(lambda c: tables.schema_version.create(c, checkfirst=True))
        done = {r[0] for r in await conn.execute(select(tables.schema_version.c.version))}
        applied = 0
        for version, step in MIGRATIONS:
            if version in done:
                continue
            await step(conn)
            await conn.execute(insert(tables.schema_version).values(version=version, applied_at=time.time()))
            applied += 1
        return applied
