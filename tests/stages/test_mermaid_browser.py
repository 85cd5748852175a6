"""Mermaid fences become diagrams in a real browser, from the vendored build, with no network;
``=== "Tab"`` content tabs switch."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium
from tests.stages.conftest import SITES, static_server


@pytest.mark.browser
async def test_a_mermaid_fence_renders_as_an_svg(runner: Any, tmp_path: Path) -> None:
    site = Path(shutil.copytree(SITES / "mkdocs-basic", tmp_path / "site"))
    result = await runner.render(site, site={"include_root": str(site)})
    assert result.status == "passed"
    out = (tmp_path / "out").resolve()
    requests: list[str] = []
    outside: list[str] = []
    async with static_server(out, requests) as base, chromium(tmp_path) as browser:
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
        # `=== "Tab"` content tabs (pymdownx.tabbed) are one tab set: the first shown, a click switches
        await page.get_by_role("tab", name="uv").click()
        assert await page.get_by_text("Install with uv").is_visible()
        assert not await page.get_by_text("Install with pip").is_visible()
    assert outside == []  # nothing fetched from anywhere but the local server
