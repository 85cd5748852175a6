"""Reliability against the real daemon process: kill -9 mid-job, and a burst of concurrent clients."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest

from tests.conftest import tar_gz

pytestmark = pytest.mark.slow


async def _status(session: aiohttp.ClientSession, url: str, job_id: str) -> dict[str, Any]:
    async with session.get(f"{url}/api/builds/{job_id}/status") as r:
        return await r.json()  # type: ignore[no-any-return]


async def _wait_for(session: aiohttp.ClientSession, url: str, job_id: str, statuses: set[str], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = await _status(session, url, job_id)
        if st["status"] in statuses:
            return st
        await asyncio.sleep(0.1)
    raise AssertionError(f"{job_id} never reached {statuses}: {st}")


def test_kill_9_while_processing_loses_nothing(daemon: Any) -> None:
    d = daemon(workers=2, lease=2, heartbeat=0.5)
    d.start()

    async def phase1() -> str:
        async with aiohttp.ClientSession() as s:
            data = tar_gz({"en/index.md": "# Hi\n", ".noop-delay": "3"})
            async with s.post(f"{d.url}/api/builds", data=data, headers={"Content-Type": "application/gzip"}) as r:
                job_id = (await r.json())["job_id"]
            await _wait_for(s, d.url, job_id, {"PROCESSING"})
            return job_id  # type: ignore[no-any-return]

    job_id = asyncio.run(phase1())
    d.kill()  # SIGKILL: no cleanup, the lease is left behind
    d.start()

    async def phase2() -> dict[str, Any]:
        async with aiohttp.ClientSession() as s:
            st = await _wait_for(s, d.url, job_id, {"COMPLETED", "FAILED"})
            async with s.get(f"{d.url}/api/builds/{job_id}/events") as r:
                text = await r.text()
            st["_events"] = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]
            return st

    st = asyncio.run(phase2())
    assert st["status"] == "COMPLETED", st
    assert st["attempt"] == 2
    completed = [e for e in st["_events"] if e.get("type") == "status" and e.get("status") == "COMPLETED"]
    passed = [e for e in st["_events"] if e.get("type") == "stage" and e.get("status") == "passed"]
    assert len(completed) == 1 and len(passed) == 1
    pendings = [e for e in st["_events"] if e.get("type") == "status" and e.get("status") == "PENDING"]
    assert any(e.get("error_code") == "lease_expired" for e in pendings)


def test_500_submissions_from_100_clients(daemon: Any) -> None:
    d = daemon(workers=8)
    d.start()
    archives = [tar_gz({"en/index.md": f"# Page {i}\n"}) for i in range(500)]

    async def run() -> tuple[list[str], list[str], int]:
        conn = aiohttp.TCPConnector(limit=100)
        async with aiohttp.ClientSession(connector=conn) as s:
            async def submit(i: int) -> str:
                headers = {"Content-Type": "application/gzip", "Idempotency-Key": f"burst-{i}"}
                async with s.post(f"{d.url}/api/builds", data=archives[i], headers=headers) as r:
                    assert r.status == 202, await r.text()
                    return (await r.json())["job_id"]  # type: ignore[no-any-return]

            sem = asyncio.Semaphore(100)

            async def limited(i: int) -> str:
                async with sem:
                    return await submit(i)

            first = await asyncio.gather(*[limited(i) for i in range(500)])
            again = await asyncio.gather(*[limited(i) for i in range(500)])
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                async with s.get(f"{d.url}/api/builds?status=COMPLETED&limit=1&kind=build") as r:
                    pass
                async with s.get(f"{d.url}/metrics") as r:
                    metrics = await r.text()
                done = _metric(metrics, 'pressroom_jobs{kind="build",status="COMPLETED"}')
                if done >= 500:
                    break
                await asyncio.sleep(0.3)
            total = sum(_metric(metrics, f'pressroom_jobs{{kind="build",status="{st}"}}')
                        for st in ("PENDING", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED"))
            return list(first), list(again), int(total)

    first, again, total = asyncio.run(run())
    assert len(set(first)) == 500
    assert again == first
    assert total == 500


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0
