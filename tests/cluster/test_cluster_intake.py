"""Two real daemons on one PostgreSQL sharing intake: both watch one drop folder, and one push
webhook delivery reaches both. Each change makes one job; the second copy of a delivery is refused."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from pipeline.testing import DaemonProcess
from tests.cluster.conftest import query
from tests.intake.helpers import GENERIC_SECRET, dumps, generic_headers, make_repos

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

WATCH = """
[intake]
watch = ["{folder}"]
debounce_seconds = 0.3
stable_checks = 1
stable_interval_seconds = 0.1
recheck_seconds = 0.2
"""


async def _folder_jobs(url: str) -> list[Any]:
    return await query(url, "SELECT id, status FROM jobs WHERE kind = 'build' "
                       "AND trigger->>'kind' = 'folder' ORDER BY created_at")


async def test_two_nodes_watching_one_folder_make_one_job_per_change(nodes: Callable[..., DaemonProcess],
                                                                     tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    ds = [nodes(n, workers=2, extra=WATCH.format(folder=folder)) for n in ("a", "b")]
    await asyncio.gather(*(asyncio.to_thread(d.start) for d in ds))
    await asyncio.sleep(1.0)  # both watchers armed
    for n in (1, 2):
        (folder / "index.md").write_text(f"# change {n}\n")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(await _folder_jobs(nodes.url)) < n:  # type: ignore[attr-defined]
            await asyncio.sleep(0.1)
        await asyncio.sleep(3.0)  # time for the other node's watcher to add a job, if it would
        jobs = await _folder_jobs(nodes.url)  # type: ignore[attr-defined]
        assert len(jobs) == n, [dict(r) for r in jobs]
        assert all(r["status"] != "CANCELLED" for r in jobs), [dict(r) for r in jobs]


async def _post(s: aiohttp.ClientSession, base: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    async with s.post(f"{base}/hooks/generic", data=body, headers=headers) as r:
        return r.status, await r.json()


async def test_one_webhook_delivery_to_two_nodes_makes_one_job(nodes: Callable[..., DaemonProcess],
                                                               tmp_path: Path) -> None:
    repos = make_repos(tmp_path)
    env = {"PRESSROOM_WEBHOOK_SECRET": GENERIC_SECRET}
    a, b = (nodes(n, workers=2, env=env) for n in ("a", "b"))
    await asyncio.gather(asyncio.to_thread(a.start), asyncio.to_thread(b.start))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as s:
        # Racing copies, a dozen rounds (the race is narrow), then copies sent one after the other.
        for rnd, together in enumerate((True,) * 12 + (False,)):
            sha, tree = repos.commit({"docs/index.md": f"# round {rnd}\n"}, f"round {rnd}")
            repos.push()
            body = dumps({"repository": repos.url, "name": "acme/docs", "branch": "main", "sha": sha, "tree": tree})
            headers = generic_headers(body, delivery=f"msg_cluster_{rnd}")  # one delivery, sent twice
            if together:  # a redelivery racing the original: several copies to each node at once
                answers = await asyncio.gather(*(_post(s, d.url, body, headers) for d in (a, b) * 4))
            else:
                answers = [await _post(s, a.url, body, headers), await _post(s, b.url, body, headers)]
            codes = sorted(code for code, _ in answers)
            assert codes == [202] + [401] * (len(answers) - 1), answers
            refused = [doc for code, doc in answers if code == 401]
            assert all("already received" in str(doc) for doc in refused), refused
            jobs = await query(nodes.url, "SELECT id FROM jobs WHERE kind = 'build' "  # type: ignore[attr-defined]
                               "AND trigger->>'delivery_id' = $1", f"msg_cluster_{rnd}")
            assert len(jobs) == 1, [dict(r) for r in jobs]
