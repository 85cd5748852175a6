"""Debian's chromium for the browser tests, driven by Playwright: never a downloaded browser."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
"""No background fetches: the tests' traffic stays on 127.0.0.1."""


@contextlib.asynccontextmanager
async def chromium(profile: Path) -> AsyncIterator[Any]:
    """A headless browser whose profile and cache live under ``profile`` (the test's tmp_path),
    so runs never share state. A missing chromium fails the test: it is installed by ``make test``."""
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)")
    from playwright.async_api import async_playwright

    env: dict[str, str | float | bool] = {**os.environ, "XDG_CONFIG_HOME": str(profile / "xdg-config"),
                                          "XDG_CACHE_HOME": str(profile / "xdg-cache")}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=env)
        try:
            yield browser
        finally:
            await browser.close()
