"""Translations in real headless Chromium against a real daemon: one bar per language with the
right counts, redrawn live while a language runs, the languages page's trend, and a hostile
language code and page name shown as text, never run.

Every wait is Playwright's auto-waiting ``expect``; no test sleeps.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.async_api import expect

from pipeline.api.keys import store_key
from pipeline.store import Store
from tests.dashboard import translations_seed as ts
from tests.dashboard.helpers import Daemon, screenshot
from tests.dashboard.seed import Clock

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAIT = 15_000
DAY = 86400.0
HOSTILE_LANG = '<img src=x onerror="window.__pwned=1">'
HOSTILE_PAGE = '<script>window.__pwned=2</script><img src=y onerror="window.__pwned=3">.md'


async def test_translations_panel_bars_live_update_and_hostile_names(daemon_factory: Any, browser: Any,
                                                                     make_config: Any) -> None:
    now = time.time()
    clock = Clock(now)
    store = await Store.open(make_config().store_url, clock=clock)
    try:
        for days_ago, translated in ((12, 20), (6, 26)):
            old = await ts.build(store, clock, now - days_ago * DAY)
            await ts.translation(store, clock, old, "de", now - days_ago * DAY + 20, ts.figures(translated, stale=4, missing=40 - 4 - translated))
            await ts.translation(store, clock, old, "es", now - days_ago * DAY + 30, ts.figures(translated - 10, missing=50 - translated))
        build = await ts.build(store, clock, now - 600)
        await ts.translation(store, clock, build, "de", now - 500, ts.figures(30, stale=2, missing=6, machine=2),
                             pages={"guide/intro.md": "stale", "guide/setup.md": "stale", "faq.md": "machine"},
                             live_url="http://127.0.0.1:9/sites/production/de/")
        await ts.translation(store, clock, build, "es", now - 480, ts.figures(24, stale=0, missing=16))
        await ts.translation(store, clock, build, HOSTILE_LANG, now - 460, ts.figures(3, stale=1, missing=1),
                             pages={HOSTILE_PAGE: "stale"})
        zh = await ts.start(store, clock, build, "zh", now - 100)
    finally:
        await store.close()
    d: Daemon = await daemon_factory()
    page = await browser.new_page(viewport={"width": 1366, "height": 1000})
    dialogs: list[str] = []

    async def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    await page.goto(f"{d.url}/builds/{build}")

    panel = page.locator("#translations")
    rows = panel.locator("li.tr-row")
    await expect(rows).to_have_count(4, timeout=WAIT)
    await expect(panel.locator("svg.tr-track")).to_have_count(3)  # zh has not counted yet
    de = panel.locator('li.tr-row[data-lang="de"]')
    for key, n in (("translated", "30"), ("stale", "2"), ("missing", "6"), ("machine", "2")):
        await expect(de.locator(f'[data-count="{key}"] .n')).to_have_text(n)
    await expect(de.locator(".tr-pct")).to_have_text("75.0% complete")
    await expect(de.locator("svg.tr-track rect.seg")).to_have_count(4)
    await expect(de.locator("svg.tr-track")).to_have_attribute("aria-label", "de: 30 translated, 2 stale, 6 missing, 2 machine translated of 40 pages")
    await expect(de.get_by_role("link", name="status and log")).to_have_attribute("href", f"/builds/{(await _child(d, build, 'de'))}")
    es = panel.locator('li.tr-row[data-lang="es"]')
    await expect(es.locator('[data-count="missing"] .n')).to_have_text("16")
    await expect(es.locator("svg.tr-track rect.seg")).to_have_count(2)  # empty segments draw nothing
    widths = await de.locator("svg.tr-track rect.seg").evaluate_all("rs => rs.map(r => r.getBBox().width)")
    assert widths[0] > 10 * widths[1] > 0, "segments are as wide as their share: 30 translated vs 2 stale"

    hostile = panel.locator(f'li.tr-row[data-lang="{HOSTILE_LANG.replace(chr(34), chr(92) + chr(34))}"]')
    await expect(hostile.locator(".tr-lang")).to_have_text(HOSTILE_LANG)
    await hostile.locator("details.tr-pages summary").click()
    await expect(hostile.locator("details.tr-pages code")).to_have_text(HOSTILE_PAGE)
    await expect(page.locator("img[src='x'], img[src='y']")).to_have_count(0)

    # zh counts and finishes while the page is open: the panel follows without a reload.
    await page.evaluate("window.__sameDocument = 'yes'")
    zh_row = panel.locator('li.tr-row[data-lang="zh"]')
    await expect(zh_row).to_have_attribute("data-status", "PROCESSING")
    await expect(zh_row.locator(".tr-none")).to_have_text("Not counted yet.")
    await expect(panel).to_have_attribute("data-watch", re.compile(rf"(^| ){zh}( |$)"))
    app_store = d[store_key]
    await ts.stage_done(app_store, None, zh, "zh", 0, ts.figures(8, stale=1, missing=31))
    await expect(zh_row.locator('[data-count="translated"] .n')).to_have_text("8", timeout=WAIT)
    await expect(zh_row.locator('[data-count="missing"] .n')).to_have_text("31")
    await ts.complete(app_store, None, zh, "zh", 0, ts.figures(8, stale=1, missing=31))
    await expect(zh_row).to_have_attribute("data-status", "COMPLETED", timeout=WAIT)
    await expect(zh_row.locator(".badge-text")).to_have_text("Completed")
    assert await page.evaluate("window.__sameDocument") == "yes"
    await screenshot(page, "translations-panel")

    await page.get_by_role("link", name="Languages").first.click()
    await expect(page).to_have_url(f"{d.url}/languages")
    chart = page.locator("#languages-chart")
    await expect(chart.locator("polyline")).to_have_count(2)  # de and es have history over days
    await expect(chart.locator("figcaption")).to_contain_text("de")
    await expect(chart.locator("figcaption")).to_contain_text(HOSTILE_LANG)
    table = page.locator("#languages")
    await expect(table.locator("tbody tr")).to_have_count(4)
    de_row = table.locator('tr[data-lang="de"]')
    await expect(de_row.locator(".c-completion")).to_have_text("75.0%")
    await expect(de_row.locator(".c-stale")).to_have_text("2")
    await expect(table.locator('tr[data-lang="zh"] .c-completion')).to_have_text("20.0%")
    await expect(table.locator("tbody th").filter(has_text="onerror")).to_have_text(HOSTILE_LANG)
    await screenshot(page, "languages-page")
    assert await page.evaluate("window.__pwned") is None, "the hostile names never ran"
    assert dialogs == []


async def _child(d: Daemon, build: str, lang: str) -> str:
    for child in await d[store_key].children(build):
        if (child.payload or {}).get("language") == lang:
            return child.id
    raise AssertionError(lang)
