"""A stage that does nothing but report progress: used by benchmarks and queue tests."""

from __future__ import annotations

import asyncio

from stages.base import StageContext, StageResult


async def run(ctx: StageContext) -> StageResult:
    delay = float(ctx.extra.get("noop_delay", 0.0))
    if delay:
        steps = 10
        for i in range(steps):
            ctx.raise_if_cancelled()
            await asyncio.sleep(delay / steps)
            ctx.progress((i + 1) * 100 / steps, None)
    return StageResult(status="passed", counts={"pages": 0})
