"""Test controls for the dashboard suites (fixtures are in conftest.py).

``BuildControl`` replaces the build handler with the real one behind two test controls: jobs can
be held at their start until the test opens their gate (so PENDING and PROCESSING are states the
test chooses, not races it hopes to win), and the ``noop`` stage can be made slow (a ``.noop-delay`` file in the job's source, to cancel it).
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

from aiohttp import web

from pipeline.jobs import build
from pipeline.jobs.context import JobContext, Outcome
from pipeline.store import Job

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "dashboard"
ADMIN_TOKEN = "admin-token-for-dashboard-tests"
READ_TOKEN = "read-token-for-dashboard-tests"
SUBMIT_TOKEN = "submit-token-for-dashboard-tests"
TOKENS = [{"name": "lead", "token_env": "DASH_TEST_ADMIN", "scopes": ["admin"]},
          {"name": "writer", "token_env": "DASH_TEST_SUBMIT", "scopes": ["submit"]},
          {"name": "viewer", "token_env": "DASH_TEST_READ", "scopes": ["read"]}]


@dataclasses.dataclass
class BuildControl:
    hold: bool = False
    noop_delay: float = 0.0
    entered: dict[str, asyncio.Event] = dataclasses.field(default_factory=dict)
    gates: dict[str, asyncio.Event] = dataclasses.field(default_factory=dict)

    def gate(self, job_id: str) -> asyncio.Event:
        return self.gates.setdefault(job_id, asyncio.Event())

    async def started(self, job_id: str) -> None:
        """Until the worker has the job (bounded: a hang fails the test instead of the suite)."""
        async with asyncio.timeout(20):
            await self.entered.setdefault(job_id, asyncio.Event()).wait()

    def release(self, job_id: str) -> None:
        self.gate(job_id).set()

    def release_all(self) -> None:
        self.hold = False
        for ev in self.gates.values():
            ev.set()

    async def handle(self, job: Job, ctx: JobContext) -> Outcome:
        self.entered.setdefault(job.id, asyncio.Event()).set()
        if self.hold:
            await self.gate(job.id).wait()
        if self.noop_delay and job.source_path:
            (Path(job.source_path) / ".noop-delay").write_text(str(self.noop_delay))
        return await build.handle(job, ctx)


@dataclasses.dataclass
class Daemon:
    app: web.Application
    url: str
    control: BuildControl

    def __getitem__(self, key: Any) -> Any:
        return self.app[key]


async def screenshot(page: Any, name: str) -> Path:
    """Saved under tests/artifacts/dashboard/ (git-ignored) for people to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
