"""The default theme in a real browser: search, tabs, dark mode, the language switcher."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium
from tests.stages.conftest import static_server

SAMPLES = Path(__file__).resolve().parents[2] / "content-samples"


@pytest.mark.browser
async def test_theme_in_chromium(runner: Any, tmp_path: Path) -> None:
    result = await runner.render(SAMPLES, site={"languages": ["en", "es", "de"]})
    assert result.status == "passed"
    out = (tmp_path / "out").resolve()

    async with static_server(out) as base, chromium(tmp_path) as browser:
        page = await browser.new_page()
        await page.goto(f"{base}/en/guide/code-and-includes/index.html")
        # consecutive `/// tab` blocks became one tab set; clicking switches the panel
        await page.get_by_role("tab", name="Shell").click()
        assert await page.locator(".tabs > .tab").nth(1).is_visible()
        assert not await page.locator(".tabs > .tab").nth(0).is_visible()
        # search loads en/search_index.json and links the hits
        await page.get_by_role("searchbox").fill("virtual environment")
        hit = page.locator(".search-results a").first
        await hit.wait_for()
        assert (await hit.text_content()) == "Installation"
        await hit.click()
        await page.wait_for_url("**/en/getting-started/install/")
        # dark mode toggle, remembered across pages
        await page.locator(".theme-toggle").click()
        theme = await page.evaluate("document.documentElement.dataset.theme")
        assert theme in ("dark", "light")
        await page.locator(".languages summary").click()
        await page.get_by_role("link", name="Deutsch").click()
        await page.wait_for_url("**/de/getting-started/install/")
        assert await page.evaluate("document.documentElement.dataset.theme") == theme
        assert await page.evaluate("document.documentElement.lang") == "de"
        # the current page is marked in the nav and its section is open
        current = page.locator('#sidebar a[aria-current="page"]')
        assert await current.is_visible()
