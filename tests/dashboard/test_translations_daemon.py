"""The translations panel and the languages page against the real daemon process and real
translate jobs: ``content-samples/`` (en source; es and de partly translated, one de page stale)
fans out, each language is held at a gate until the page is open, and Chromium watches the bars
fill in as each language counts and finishes. The numbers on the page are the ones the translate
stage counted and the ones ``GET /api/languages`` serves.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from pipeline.testing import DaemonProcess, until
from tests.acceptance.translation_daemon import EXTRA
from tests.conftest import SAMPLES, tar_gz
from tests.dashboard.helpers import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAIT = 60_000
"""Milliseconds Playwright keeps retrying (a real render and link check per language on a shared machine)."""
LANGS = ("de", "es")
CONFIG = EXTRA.format(translate='["noop", "translate", "render_html", "linkcheck", "deploy"]', fail_on_broken="false")


def get(d: DaemonProcess, path: str) -> Any:
    with urllib.request.urlopen(d.url + path, timeout=30) as r:
        return json.load(r)


def submit(d: DaemonProcess, gates: Path) -> str:
    files: dict[str, str | bytes] = {p.relative_to(SAMPLES).as_posix(): p.read_bytes()
                                     for p in sorted(SAMPLES.rglob("*")) if p.is_file()}
    files[".noop-wait"] = str(gates / "{language}")
    req = urllib.request.Request(d.url + "/api/builds", data=tar_gz(files), method="POST",
                                 headers={"Content-Type": "application/gzip"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return str(json.load(r)["job_id"])


@pytest.fixture
def daemon(tmp_path: Path) -> Any:
    root = tmp_path / "daemon"
    root.mkdir()
    d = DaemonProcess(root, workers=4, pipeline=["lint", "render_html", "linkcheck", "deploy"], extra=CONFIG)
    d.start()
    yield d
    d.stop()


async def test_real_translate_jobs_fill_the_panel_live_and_the_languages_page(daemon: DaemonProcess, browser: Any,
                                                                              tmp_path: Path) -> None:
    d = daemon
    gates = tmp_path / "gates"
    gates.mkdir()
    build = submit(d, gates)

    def fanned_out() -> dict[str, Any] | None:
        view = get(d, f"/api/builds/{build}/status")
        return view if view["status"] in ("COMPLETED", "FAILED") and sorted(view["translations"]) == list(LANGS) else None

    view = until(fanned_out, "the build to finish and fan out", 120, 0.2)
    assert view["status"] == "COMPLETED"
    ids = {lang: t["translation_id"] for lang, t in view["translations"].items()}

    page = await browser.new_page(viewport={"width": 1366, "height": 1000})
    await page.goto(f"{d.url}/builds/{build}")
    panel = page.locator("#translations")
    await expect(panel.locator("li.tr-row")).to_have_count(2, timeout=WAIT)
    for lang in LANGS:
        row = panel.locator(f'li.tr-row[data-lang="{lang}"]')
        await expect(row.locator(".tr-none")).to_have_text("Not counted yet.")
        await expect(row.get_by_role("link", name="status and log")).to_have_attribute("href", f"/builds/{ids[lang]}")
    await page.evaluate("window.__sameDocument = 'yes'")

    shown: dict[str, dict[str, int]] = {}
    for lang in LANGS:
        (gates / lang).touch()
        row = panel.locator(f'li.tr-row[data-lang="{lang}"]')
        await expect(row).to_have_attribute("data-status", "COMPLETED", timeout=WAIT)
        await expect(row.locator("svg.tr-track")).to_have_count(1)
        shown[lang] = {key: int(await row.locator(f'[data-count="{key}"] .n').inner_text())
                       for key in ("translated", "stale", "missing", "machine")}
        shown[lang]["total"] = int(await row.locator(".tr-total").inner_text())
    assert await page.evaluate("window.__sameDocument") == "yes", "the panel followed the jobs without a reload"
    await screenshot(page, "translations-panel-real-daemon")

    languages = get(d, "/api/languages")["languages"]
    assert sorted(languages) == list(LANGS)
    for lang in LANGS:
        child = get(d, f"/api/translations/{ids[lang]}/status")
        stage = next(s for s in child["stages"] if s["name"] == "translate")
        latest = languages[lang]["latest"]
        counts = {k: latest[k] for k in ("translated", "stale", "missing", "machine")}
        assert counts == {k: shown[lang][k] for k in counts}, "the panel shows what the API serves"
        assert all(stage["counts"].get(k, v) == v for k, v in counts.items()), "and what the translate stage counted"
        assert sum(counts.values()) == shown[lang]["total"] > 0
        assert latest["completion"] == round(counts["translated"] / shown[lang]["total"] * 100, 1)
        assert latest["translation_id"] == ids[lang] and latest["build_id"] == build
        assert [h["job_id"] for h in languages[lang]["history"]] == [ids[lang]]
    assert shown["de"]["stale"] >= 1, "content-samples has a stale German page"

    await page.goto(f"{d.url}/languages")
    for lang in LANGS:
        await expect(page.locator(f'#languages tr[data-lang="{lang}"] .c-completion')).to_have_text(
            f"{languages[lang]['latest']['completion']}%")
    await screenshot(page, "languages-page-real-daemon")
