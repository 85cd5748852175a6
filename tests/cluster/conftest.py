"""Several real daemons on one real PostgreSQL 15: a cluster of this module's own, so a test may
stop the database server without disturbing the store suite's shared one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from pipeline.testing import DaemonProcess
from tests.conftest import PgServer, pg_in_tempdir


@pytest.fixture(scope="module")
def own_pg() -> Iterator[PgServer]:
    yield from pg_in_tempdir("pressroom-cluster-pg-")


@pytest.fixture
def nodes(tmp_path: Path, own_pg: PgServer) -> Iterator[Callable[..., DaemonProcess]]:
    """``nodes(name, **kw)``: a daemon on this test's database, sharing one data dir with the others."""
    url = own_pg.new_database()
    made: list[DaemonProcess] = []

    def make(name: str, **kw: Any) -> DaemonProcess:
        root = tmp_path / name
        root.mkdir()
        d = DaemonProcess(root, store_url=url, data=tmp_path / "shared", **kw)
        made.append(d)
        return d

    make.url = url  # type: ignore[attr-defined]
    yield make
    for d in made:
        d.stop()


async def query(url: str, sql: str, *args: Any) -> list[Any]:
    """Rows of one SELECT, straight from PostgreSQL (what the daemons stored, not what they say)."""
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()
