"""A built Hugo site in Chromium, opened from disk: RTL pages fit the window; search works from file://."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import chromium
from tests.stages.conftest import pressroom_build
from tests.stages.test_hugo_site import sample


@pytest.mark.browser
async def test_rtl_width_and_search_from_disk(tmp_path: Path) -> None:
    site = sample(tmp_path)
    out = (tmp_path / "out").resolve()
    done = pressroom_build(str(site), "--out", str(out), "--stages", "render_html", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    async with chromium(tmp_path) as browser:
        for width, height in ((390, 844), (1280, 800)):  # phone and desktop
            page = await browser.new_page(viewport={"width": width, "height": height})
            for rel in ("ar/index.html", "ar/distributed-systems/consensus/index.html"):
                await page.goto((out / rel).as_uri())
                assert await page.evaluate("document.documentElement.dir") == "rtl"
                scroll = await page.evaluate("document.documentElement.scrollWidth")
                assert scroll <= width, (rel, width, scroll)
                # the skip link is still there for keyboard users, and shows when focused
                await page.keyboard.press("Tab")
                box = await page.locator(".skip").bounding_box()
                assert box is not None and box["width"] > 1 and 0 <= box["x"] <= width
            await page.close()
        # search from file://: the index is a script, not a fetch (which file:// refuses)
        page = await browser.new_page()
        await page.goto((out / "en/getting-started/index.html").as_uri())
        await page.get_by_role("searchbox").fill("heavy load")
        hit = page.locator(".search-results a").first
        await hit.wait_for()
        assert await hit.inner_text() == "Replication"
        await hit.click()
        await page.wait_for_url("**/en/distributed-systems/replication/index.html")
        assert await page.title() == "Replication - Field Handbook"
        await page.get_by_role("searchbox").fill("zzqqxx")
        await page.locator(".search-results li", has_text="No results").wait_for()
