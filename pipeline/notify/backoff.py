"""When to try a failed delivery again.

Exponential backoff with jitter spreads the retries of many deliveries that failed together (a Slack
outage fails every build's thread at once), so they do not all return in the same second. With the
default ``[notify] backoff_base = 30`` and ``max_attempts = 8`` the seven waits are about
30 s, 1, 2, 4, 8, 16 and 32 min: the last attempt happens roughly an hour after the first, then the
delivery goes to the dead-letter list.
"""

from __future__ import annotations

import random

JITTER = 0.25
"""Each wait is the nominal delay times a factor drawn from [1 - JITTER, 1 + JITTER]."""


def next_delay(
    attempt: int,
    base: float,
    retry_after: float | None,
    *,
    cap: float = 3600.0,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1 for the first attempt).

    A peer's ``Retry-After`` wins over the computed delay when it asks for longer, because a
    rate-limited client that comes back early is only rate limited again; it is still capped so a
    hostile or broken peer cannot park a delivery for days.
    """
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    draw = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    delay = min(cap, base * 2 ** (attempt - 1)) * draw
    if retry_after is not None and retry_after > delay:
        delay = retry_after
    return float(max(0.0, min(cap, delay)))


def horizon(max_attempts: int, base: float, *, cap: float = 3600.0) -> float:
    """Nominal seconds from the first to the last attempt (no jitter), for docs and status output."""
    return float(sum(min(cap, base * 2 ** (n - 1)) for n in range(1, max_attempts)))
