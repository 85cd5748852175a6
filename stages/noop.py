"""A stage that does nothing but report progress: used by benchmarks, queue and reliability tests.

A ``.noop-delay`` file in the source (seconds) makes it take that long, in ten steps, checking
for cancellation between steps, so tests can watch, cancel or kill a running job. A ``.noop-wait``
file names a path (``{language}`` is the job's language) the stage waits for: a test holds a job
in this stage until it creates that file, instead of guessing how long another job takes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from stages.base import StageContext, StageOptions, StageResult

WAIT_POLL = 0.05


async def run(ctx: StageContext[StageOptions]) -> StageResult:
    delay = 0.0
    marker = ctx.source / ".noop-delay"
    if marker.is_file():
        try:
            delay = float(marker.read_text().strip() or 0)
        except ValueError:
            delay = 0.0
    if delay:
        steps = 10
        for i in range(steps):
            ctx.raise_if_cancelled()
            await asyncio.sleep(delay / steps)
            ctx.progress((i + 1) * 100 / steps, None)
    gate = ctx.source / ".noop-wait"
    if gate.is_file():
        path = Path(gate.read_text().strip().replace("{language}", ctx.language or ""))
        while not path.exists():
            ctx.raise_if_cancelled()
            await asyncio.sleep(WAIT_POLL)
    return StageResult(status="passed", counts={"pages": 0})
