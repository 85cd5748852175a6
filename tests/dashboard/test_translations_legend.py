"""The translations panel's colour key comes from the same (state, label) pairs as its bars."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from pipeline.api.keys import store_key
from pipeline.app import create_app
from pipeline.dashboard import translations
from tests.dashboard import translations_seed as ts
from tests.dashboard.seed import Clock


@pytest.fixture
async def open_client(aiohttp_client: Any, make_config: Any) -> Any:
    return await aiohttp_client(create_app(make_config(), run_worker=False))


async def test_the_key_lists_each_segment_in_bar_order(open_client: Any) -> None:
    store = open_client.app[store_key]
    now = time.time()
    clock = Clock(now)
    store.clock = clock
    parent = await ts.build(store, clock, now - 60)
    await ts.translation(store, clock, parent, "de", now - 30, ts.figures(3, stale=1, missing=1, machine=1))
    page = await (await open_client.get(f"/builds/{parent}")).text()
    key = re.search(r'<p class="tr-key[^"]*"[^>]*>(.*?)</p>', page, re.S)
    assert key is not None
    shown = re.findall(r'<rect class="seg seg-(\w+)"[^>]*/></svg>([^<]*)</span>', key[1])
    assert shown == [("translated", "translated"), ("stale", "stale"), ("missing", "missing"),
                     ("machine", "machine translated")]
    assert tuple(shown) == translations.SEGMENTS
    counted = re.findall(r'data-count="(\w+)">.*?</svg><span class="n">\d+</span> ([^<]*)</span>', page, re.S)
    assert tuple(counted) == translations.SEGMENTS
