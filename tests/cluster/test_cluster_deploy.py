"""Three real daemons deploying to one ``directory`` target on a data dir they all share, one of
them killed (-9) mid-run: each build is released once, ``current`` names a complete release, and
every node's sites origin serves it."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from pipeline.testing import DaemonProcess
from tests.cluster.conftest import query
from tests.cluster.test_cluster import TERMINAL, _submit, _wait

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

DEPLOY = """
[stages.deploy.targets.staging]
keep_releases = 100
"""
BUILDS = 12


async def test_three_nodes_one_release_per_build_served_everywhere(nodes: Callable[..., DaemonProcess],
                                                                   tmp_path: Path) -> None:
    ds = [nodes(n, workers=2, lease=2, heartbeat=0.5, poll=1.0, extra=DEPLOY, pipeline=("render_html", "deploy"))
          for n in ("a", "b", "c")]
    await asyncio.gather(*(asyncio.to_thread(d.start) for d in ds))
    victim = ds[2]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as s:
        ids: dict[str, int] = {}
        for i in range(BUILDS):  # spread over the nodes, each a different page
            ids[await _submit(s, ds[i % 3].url, {"en/index.md": f"# Page {i}\n\nBuild number {i}.\n"})] = i
        # Kill the victim at the worst moment: a build it runs has named its release but has not
        # completed (its retry elsewhere must not leave that build with two releases).
        releases = tmp_path / "shared" / "sites" / "staging" / "releases"
        assert victim.proc is not None
        owner = f"%:{victim.proc.pid}:%"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            running = await query(nodes.url, "SELECT id FROM jobs WHERE kind = 'build' "  # type: ignore[attr-defined]
                                  "AND status = 'PROCESSING' AND lease_owner LIKE $1", owner)
            if any((releases / r["id"]).is_dir() for r in running):
                break
            await asyncio.sleep(0.005)
        await asyncio.to_thread(victim.kill)
        live = ds[:2]
        for job_id in ids:
            st = await _wait(s, live[0].url, job_id, TERMINAL, limit=60)
            assert st["status"] == "COMPLETED", st

    completed = await query(nodes.url, "SELECT job_id, count(*) AS n FROM events WHERE type = 'status' "  # type: ignore[attr-defined]
                            "AND status = 'COMPLETED' AND job_id = ANY($1::text[]) GROUP BY job_id", list(ids))
    assert {r["job_id"]: r["n"] for r in completed} == {j: 1 for j in ids}
    retried = await query(nodes.url, "SELECT count(*) AS n FROM jobs WHERE attempt > 1")  # type: ignore[attr-defined]
    assert retried[0]["n"] >= 1  # the victim died holding builds: another node took them over
    root = tmp_path / "shared" / "sites" / "staging"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s, \
            s.get(f"{ds[0].url}/api/targets/staging/releases") as r:
        listed = (await r.json())["releases"]
    on_disk = sorted(p.name for p in (root / "releases").iterdir() if not p.name.startswith("."))
    assert sorted(r["name"] for r in listed) == on_disk
    # One release per build: a retried build's release is "<job>-2", and its dead attempt's is gone.
    assert sorted(r["job_id"] for r in listed) == sorted(ids), f"twice or missing: {on_disk}"
    name = Path(os.readlink(root / "current")).name
    job = next(r["job_id"] for r in listed if r["name"] == name)
    assert name == max(listed, key=lambda r: r["seq"])["name"]  # the latest deploy is live
    assert (root / "releases" / name / "en" / "index.html").is_file()
    page = f"Build number {ids[job]}."
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
        for d in live:  # every node serves the shared target's current release
            async with s.get(f"{d.sites_url}/sites/staging/en/") as r:
                assert r.status == 200 and page in await r.text(), (d.url, r.status)
        await asyncio.to_thread(victim.start)  # the restarted node serves it too
        async with s.get(f"{victim.sites_url}/sites/staging/en/") as r:
            assert r.status == 200 and page in await r.text()
