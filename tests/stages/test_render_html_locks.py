"""render_html's cache locks: one run per language cache, different languages at the same time
(a fanned-out build and its translate jobs render in parallel)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from stages.render_html.stage import _lock_caches, _unlock


async def test_languages_lock_separately(tmp_path: Path) -> None:
    en = await _lock_caches(tmp_path, ["en"])
    de = await _lock_caches(tmp_path, ["de"])  # another language: not held up by en
    again = asyncio.ensure_future(_lock_caches(tmp_path, ["de", "es"]))
    done, _ = await asyncio.wait({again}, timeout=0.3)
    assert not done  # de is held
    for lock in de:
        _unlock(lock)
    every = await again
    assert len(every) == 2
    for lock in [*every, *en]:
        _unlock(lock)
    whole = await _lock_caches(tmp_path, ["en", "es", "de"])  # a run of every language takes each one
    assert len(whole) == 3
    for lock in whole:
        _unlock(lock)


async def test_a_cancelled_wait_keeps_nothing(tmp_path: Path) -> None:
    held = await _lock_caches(tmp_path, ["es"])
    waiting = asyncio.ensure_future(_lock_caches(tmp_path, ["de", "es"]))
    await asyncio.sleep(0.1)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    de = await _lock_caches(tmp_path, ["de"])  # the cancelled run let go of de
    for lock in [*de, *held]:
        _unlock(lock)
