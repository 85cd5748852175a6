"""A stage that does nothing but report progress: used by benchmarks, queue and reliability tests.

A ``.noop-delay`` file in the source (seconds) makes it take that long, in ten steps, checking
for cancellation between steps, so tests can watch, cancel or kill a running job.
"""

from __future__ import annotations

import asyncio

from stages.base import StageContext, StageOptions, StageResult


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
    return StageResult(status="passed", counts={"pages": 0})
