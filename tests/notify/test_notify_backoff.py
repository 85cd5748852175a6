from __future__ import annotations

import random

import pytest

from pipeline import config as config_mod
from pipeline.notify import backoff


def test_default_horizon_is_about_an_hour() -> None:
    notify = config_mod.load().notify
    total = backoff.horizon(notify.max_attempts, notify.backoff_base, cap=notify.backoff_max)
    assert notify.max_attempts == 8
    assert 50 * 60 <= total <= 70 * 60


def test_delays_double_within_jitter_bounds() -> None:
    rng = random.Random(1)
    for attempt in range(1, 8):
        nominal = 30 * 2 ** (attempt - 1)
        delay = backoff.next_delay(attempt, 30, None, rng=rng)
        assert nominal * (1 - backoff.JITTER) <= delay <= nominal * (1 + backoff.JITTER)


def test_jitter_spreads_simultaneous_failures() -> None:
    rng = random.Random(2)
    assert len({backoff.next_delay(3, 30, None, rng=rng) for _ in range(20)}) > 10


def test_retry_after_wins_when_longer_and_is_capped() -> None:
    assert backoff.next_delay(1, 30, 120, rng=random.Random(3)) == 120
    assert backoff.next_delay(5, 30, 1, rng=random.Random(3)) > 1
    assert backoff.next_delay(1, 30, 10**9, cap=600) == 600
    assert backoff.next_delay(30, 30, None, cap=600) <= 600


def test_attempt_counts_from_one() -> None:
    with pytest.raises(ValueError):
        backoff.next_delay(0, 30, None)
