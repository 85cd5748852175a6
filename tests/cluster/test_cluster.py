"""Three real daemons on one PostgreSQL 15: a burst from many clients with one node killed (-9)
and restarted, idempotency across nodes, and LISTEN/NOTIFY wake-ups between nodes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from pipeline.testing import DaemonProcess
from tests.cluster.conftest import query
from tests.conftest import GZ, tar_gz
from tests.notify import peers
from tests.notify.helpers import WEBHOOK_SECRET

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

TERMINAL = {"COMPLETED", "FAILED", "CANCELLED"}


def _hook_config(url: str) -> str:
    return f"""
[notify]
backoff_base = 0.2
backoff_max = 0.5
max_attempts = 20
[[notify.webhooks]]
url = "{url}"
secret_env = "TEST_WEBHOOK_SECRET"
events = ["build.completed"]
"""


async def _submit(s: aiohttp.ClientSession, base: str, files: dict[str, str] | bytes, key: str | None = None) -> str:
    headers = {**GZ, **({"Idempotency-Key": key} if key else {})}
    body = files if isinstance(files, bytes) else tar_gz(files)
    async with s.post(f"{base}/api/builds", data=body, headers=headers) as r:
        assert r.status == 202, await r.text()
        return (await r.json())["job_id"]  # type: ignore[no-any-return]


async def _status(s: aiohttp.ClientSession, base: str, job_id: str) -> dict[str, Any]:
    async with s.get(f"{base}/api/builds/{job_id}/status") as r:
        return await r.json()  # type: ignore[no-any-return]


async def _wait(s: aiohttp.ClientSession, base: str, job_id: str, statuses: set[str], limit: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while True:
        st = await _status(s, base, job_id)
        if st["status"] in statuses or time.monotonic() > deadline:
            return st
        await asyncio.sleep(0.05)


async def test_three_nodes_burst_kill_restart_exactly_once(nodes: Callable[..., DaemonProcess]) -> None:
    receiver = peers.WebhookReceiver(WEBHOOK_SECRET)
    await receiver.start()
    env = {"TEST_WEBHOOK_SECRET": WEBHOOK_SECRET}
    ds = [nodes(n, workers=4, lease=2, heartbeat=0.5, poll=1.0, extra=_hook_config(receiver.url), env=env)
          for n in ("a", "b", "c")]
    try:
        await asyncio.gather(*(asyncio.to_thread(d.start) for d in ds))
        victim = ds[2]
        down = asyncio.Event()
        gate = asyncio.Semaphore(60)  # 60 concurrent clients
        ids: dict[int, str] = {}
        rerouted = 0
        # The same bytes each time a request is sent again (an archive's gzip header holds a time).
        bodies = [tar_gz({"en/index.md": f"# page {i}\n", ".noop-delay": "0.3"}) for i in range(300)]

        async def client(s: aiohttp.ClientSession, i: int) -> None:
            nonlocal rerouted
            files = bodies[i]
            async with gate:
                node = ds[i % 3]
                if node is victim and down.is_set():
                    node = ds[0]
                try:
                    ids[i] = await _submit(s, node.url, files, key=f"burst-{i}")
                except aiohttp.ClientError:  # the node died under us: the same key to another node
                    rerouted += 1
                    ids[i] = await _submit(s, ds[(i + 1) % 2].url, files, key=f"burst-{i}")

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as s:
            first = [asyncio.create_task(client(s, i)) for i in range(150)]
            await asyncio.gather(*first)
            await asyncio.sleep(0.5)  # the victim is running jobs now
            down.set()
            await asyncio.to_thread(victim.kill)
            await asyncio.gather(*(client(s, i) for i in range(150, 300)))
            await asyncio.to_thread(victim.start)  # restarted later: its lost jobs were taken over meanwhile

            assert len(set(ids.values())) == 300
            # The same keys sent to a different node name the same jobs.
            for i in range(0, 300, 15):
                again = await _submit(s, ds[(i + 1) % 3].url, bodies[i], key=f"burst-{i}")
                assert again == ids[i]
            for i in range(300):
                st = await _wait(s, ds[i % 3].url, ids[i], TERMINAL, limit=90)
                assert st["status"] == "COMPLETED", st

        completed = await query(nodes.url, "SELECT job_id, count(*) AS n FROM events WHERE type = 'status' "  # type: ignore[attr-defined]
                                "AND status = 'COMPLETED' AND job_id = ANY($1::text[]) GROUP BY job_id", list(ids.values()))
        twice = [r["job_id"] for r in completed if r["n"] != 1]
        if twice:  # say how it happened: every event of those jobs, in order
            history = await query(nodes.url, "SELECT job_id, type, status, data, created_at FROM events "  # type: ignore[attr-defined]
                                  "WHERE job_id = ANY($1::text[]) ORDER BY job_id, id", twice[:3])
            raise AssertionError("jobs completed more than once:\n" + "\n".join(str(dict(r)) for r in history))
        assert {r["job_id"]: r["n"] for r in completed} == {j: 1 for j in ids.values()}
        retried = await query(nodes.url, "SELECT count(*) AS n FROM jobs WHERE kind = 'build' AND attempt > 1")  # type: ignore[attr-defined]
        assert retried[0]["n"] >= 1  # the victim died holding leases: those jobs were taken over
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            delivered = {jid for d in receiver.unique().values() for jid in ids.values() if jid in d.body.decode()}
            if len(delivered) == 300:
                break
            await asyncio.sleep(0.2)
        assert len(delivered) == 300, "a completion notification was lost"
        assert len(receiver.unique()) == 300, "a job was notified twice under different webhook ids"
    finally:
        await receiver.stop()


async def test_wakeups_cross_nodes(nodes: Callable[..., DaemonProcess]) -> None:
    """Polling every 30 s: only NOTIFY can make B claim at once, A's SSE follow B's job, and a
    cancel sent to A stop B's stage."""
    a = nodes("a", workers=1, poll=30.0)
    b = nodes("b", workers=2, poll=30.0)
    async with aiohttp.ClientSession() as s:
        await asyncio.to_thread(a.start)
        busy = await _submit(s, a.url, {"en/index.md": "# busy\n", ".noop-delay": "30"})
        assert (await _wait(s, a.url, busy, {"PROCESSING"}, 20))["status"] == "PROCESSING"
        await asyncio.to_thread(b.start)
        await asyncio.sleep(1.0)  # B's first poll is done: from here on it sleeps 30 s

        job = await _submit(s, a.url, {"en/index.md": "# on b\n", ".noop-delay": "2"})
        submitted = time.monotonic()
        st = await _wait(s, a.url, job, {"PROCESSING", "COMPLETED"}, 10)
        assert st["status"] in ("PROCESSING", "COMPLETED") and time.monotonic() - submitted < 5, st

        progress: list[float] = []
        async with s.get(f"{a.url}/api/builds/{job}/events", timeout=aiohttp.ClientTimeout(total=20)) as r:
            async for raw in r.content:
                line = raw.decode().strip()
                if not line.startswith("data: "):
                    continue
                ev = json.loads(line[6:])
                if ev.get("type") == "progress":
                    progress.append(ev.get("progress"))
                if ev.get("status") in TERMINAL:
                    break
        assert len(progress) >= 5, progress  # B's progress steps, seen live through A

        long = await _submit(s, a.url, {"en/index.md": "# cancel me\n", ".noop-delay": "30"})
        assert (await _wait(s, a.url, long, {"PROCESSING"}, 10))["status"] == "PROCESSING"
        async with s.post(f"{a.url}/api/builds/{long}/cancel") as r:
            assert r.status in (200, 202), await r.text()
        cancelled_at = time.monotonic()
        st = await _wait(s, a.url, long, TERMINAL, 10)
        assert st["status"] == "CANCELLED" and time.monotonic() - cancelled_at < 5, st
        async with s.post(f"{a.url}/api/builds/{busy}/cancel"):
            pass
