"""Mermaid fences become diagrams in a real browser, from the vendored build, with no network."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.stages.conftest import SITES, static_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]


@pytest.mark.browser
async def test_a_mermaid_fence_renders_as_an_svg(runner: Any, tmp_path: Path) -> None:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)")
    from playwright.async_api import async_playwright

    site = Path(shutil.copytree(SITES / "mkdocs-basic", tmp_path / "site"))
    result = await runner.render(site, site={"include_root": str(site)})
    assert result.status == "passed"
    out = (tmp_path / "out").resolve()
    requests: list[str] = []
    env: dict[str, str | float | bool] = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
                                          "XDG_CACHE_HOME": str(tmp_path / "xdg-cache")}
    outside: list[str] = []
    async with static_server(out, requests) as base, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=env)
        try:
            page = await browser.new_page()
            page.on("request", lambda r: None if r.url.startswith(base) else outside.append(r.url))
            await page.goto(f"{base}/en/")
            svg = page.locator("pre.mermaid svg")
            await svg.wait_for(timeout=20_000)
            labels = await page.locator("pre.mermaid svg").text_content()
            assert labels and "Write" in labels and "Build" in labels
            assert await page.locator("pre.mermaid svg g.node").count() == 2
            # a page without a diagram does not load the 5 MB script
            requests.clear()
            await page.goto(f"{base}/en/guide/")
            await page.wait_for_load_state("load")
            assert not any("mermaid" in r for r in requests)
        finally:
            await browser.close()
    assert outside == []  # nothing fetched from anywhere but the local server
