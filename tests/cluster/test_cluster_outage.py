"""The database server goes away for 10 s under two daemons with jobs in flight: /healthz says
503 meanwhile, and afterwards every job completes exactly once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from pipeline.testing import DaemonProcess
from tests.cluster.conftest import query
from tests.conftest import GZ, PgServer, tar_gz

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


async def _health(s: aiohttp.ClientSession, d: DaemonProcess) -> int:
    async with s.get(f"{d.url}/healthz", timeout=aiohttp.ClientTimeout(total=5)) as r:
        return r.status


async def test_database_down_10s_then_back(nodes: Callable[..., DaemonProcess], own_pg: PgServer) -> None:
    ds = [nodes(n, workers=3, lease=3, heartbeat=0.5, poll=0.5) for n in ("a", "b")]
    await asyncio.gather(*(asyncio.to_thread(d.start) for d in ds))
    ids: list[str] = []
    async with aiohttp.ClientSession() as s:
        for i in range(12):
            async with s.post(f"{ds[i % 2].url}/api/builds", headers=GZ,
                              data=tar_gz({"en/index.md": f"# {i}\n", ".noop-delay": "2"})) as r:
                assert r.status == 202
                ids.append((await r.json())["job_id"])
        await asyncio.sleep(0.5)  # jobs are running on both nodes

        await asyncio.to_thread(own_pg.stop)
        down_at = time.monotonic()
        seen: dict[str, set[int]] = {d.url: set() for d in ds}
        while time.monotonic() - down_at < 10:
            for d in ds:
                seen[d.url].add(await _health(s, d))
            await asyncio.sleep(0.5)
        await asyncio.to_thread(own_pg.start)
        assert all(503 in codes for codes in seen.values()), seen

        deadline = time.monotonic() + 60
        while [await _health(s, d) for d in ds] != [200, 200]:
            assert time.monotonic() < deadline, "a node did not recover"
            await asyncio.sleep(0.3)
        async with s.post(f"{ds[0].url}/api/builds", headers=GZ, data=tar_gz({"en/index.md": "# after\n"})) as r:
            assert r.status == 202
            ids.append((await r.json())["job_id"])
        statuses: dict[str, Any] = {}
        while time.monotonic() < deadline:
            rows = await query(nodes.url, "SELECT id, status FROM jobs WHERE id = ANY($1::text[])", ids)  # type: ignore[attr-defined]
            statuses = {r["id"]: r["status"] for r in rows}
            if all(v in ("COMPLETED", "FAILED") for v in statuses.values()):
                break
            await asyncio.sleep(0.3)
    assert statuses == {j: "COMPLETED" for j in ids}
    completed = await query(nodes.url, "SELECT job_id, count(*) AS n FROM events WHERE type = 'status' "  # type: ignore[attr-defined]
                            "AND status = 'COMPLETED' AND job_id = ANY($1::text[]) GROUP BY job_id", ids)
    assert {r["job_id"]: r["n"] for r in completed} == {j: 1 for j in ids}
