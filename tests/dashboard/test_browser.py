"""The dashboard in a real browser: live rows, the build detail, cancel, review, login, screenshots.

Every wait is Playwright's auto-waiting ``expect`` or an event the daemon sets; no test sleeps.
Screenshots land in tests/artifacts/dashboard/ for people to look at.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Page, expect

from pipeline.api.keys import store_key
from pipeline.cli.client import pack_folder
from pipeline.store import Store
from tests.conftest import SAMPLES, tar_gz
from tests.dashboard import seed
from tests.dashboard.helpers import ADMIN_TOKEN, READ_TOKEN, SUBMIT_TOKEN, Daemon, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAIT = 15_000
"""Milliseconds Playwright keeps retrying an expectation (a ceiling on a loaded machine, not a target)."""

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


async def submit(d: Daemon, files: dict[str, str | bytes] | bytes, token: str | None = None, **query: str) -> str:
    headers = {"Content-Type": "application/gzip"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = files if isinstance(files, bytes) else tar_gz(files)
    async with aiohttp.ClientSession() as http, http.post(f"{d.url}/api/builds", data=data,
                                                          headers=headers, params=query) as resp:
        body = await resp.json()
        assert resp.status == 202, body
        return str(body["job_id"])


async def wait_finished(d: Daemon, job_id: str, token: str | None = None) -> None:
    """The job's own SSE stream ends after its terminal status."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.get(f"{d.url}/api/builds/{job_id}/events", headers=headers) as resp:
        assert "event: end" in await resp.text()


async def login(page: Page, d: Daemon, token: str) -> None:
    await page.goto(f"{d.url}/login")
    await page.get_by_label("Token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{d.url}/")


async def test_rows_go_pending_processing_completed_without_reload(daemon_factory: Any, browser: Any) -> None:
    d: Daemon = await daemon_factory(workers=1)
    d.control.hold = True
    page = await browser.new_page(viewport={"width": 1366, "height": 900})
    await page.goto(f"{d.url}/")
    await expect(page.locator("#live-state")).to_contain_text("live", timeout=WAIT)
    await page.evaluate("window.__sameDocument = 'yes'")

    blocker = await submit(d, {"docs/index.md": "# Blocker\n"})
    await d.control.started(blocker)
    watched = await submit(d, {"docs/index.md": "# Watched\n"}, branch="main")
    row = page.locator(f"#job-{watched}")
    await expect(row).to_have_attribute("data-status", "PENDING", timeout=WAIT)
    await expect(row.locator(".c-status")).to_contain_text("Pending")
    await expect(row.locator(".c-queue")).to_contain_text("#1")
    await expect(row.locator(".c-trigger")).to_contain_text("main")
    await expect(page.locator("tbody tr").first).to_have_attribute("id", f"job-{watched}")
    await screenshot(page, "builds-live-pending")
    await page.evaluate("""() => {
        window.__shift = 0;
        new PerformanceObserver((list) => {
            for (const e of list.getEntries()) if (!e.hadRecentInput) window.__shift += e.value;
        }).observe({type: "layout-shift"});
    }""")

    d.control.release(blocker)
    await d.control.started(watched)
    await expect(row).to_have_attribute("data-status", "PROCESSING", timeout=WAIT)
    await expect(row.locator(".c-status")).to_contain_text("Running")
    await expect(page.locator(f"#job-{blocker}")).to_have_attribute("data-status", "COMPLETED", timeout=WAIT)

    d.control.release(watched)
    await expect(row).to_have_attribute("data-status", "COMPLETED", timeout=WAIT)
    await expect(row.locator(".c-status")).to_contain_text("Completed")
    await expect(row.locator(".c-dur")).not_to_have_text("–")
    assert await page.evaluate("window.__sameDocument") == "yes", "the page reloaded"
    assert await page.evaluate("window.__shift") == 0, "rows changing state moved the layout"
    await screenshot(page, "builds-desktop")


async def test_detail_shows_timeline_findings_and_artifacts(daemon_factory: Any, browser: Any) -> None:
    d: Daemon = await daemon_factory(pipeline={"build": ["lint", "render_html", "linkcheck"]},
                                     stages={"lint": {"fail_on": "never"}, "linkcheck": {"fail_on_broken": False}})
    job_id = await submit(d, {"docs/index.md": "# Home\n\nSee [the guide](guide.md) and [a missing page](nope.md).\n",
                              "docs/guide.md": "# Guide\n\nText   \n\n\n## Part\nmore\n"})
    await wait_finished(d, job_id)
    page = await browser.new_page(viewport={"width": 1366, "height": 900})
    await page.goto(f"{d.url}/builds/{job_id}")

    await expect(page.locator(".detail-head")).to_have_attribute("data-status", "COMPLETED")
    rows = page.locator("#timeline .tl-row")
    await expect(rows).to_have_count(4)
    assert await rows.evaluate_all("rs => rs.map(r => r.dataset.stage)") == ["queue", "lint", "render_html", "linkcheck"]
    for stage in ("lint", "render_html", "linkcheck"):
        bar = page.locator(f'.tl-row[data-stage="{stage}"] rect.tl-bar')
        await expect(bar).to_have_class("tl-bar st-passed")
        assert float((await bar.get_attribute("width") or "0%").rstrip("%")) > 0
        await expect(page.locator(f'.tl-row[data-stage="{stage}"] .tl-meta')).to_contain_text("passed")
    await expect(page.locator("#transitions")).to_contain_text("→ Completed")

    await expect(page.locator("#findings-lint")).to_contain_text("MD009")
    await expect(page.locator("#findings-links")).to_contain_text("nope/")
    source_link = page.locator("#findings-lint a", has_text="guide.md").first
    resp = await page.request.get(d.url + (await source_link.get_attribute("href") or ""))
    assert resp.status == 200 and "# Guide" in await resp.text()

    site = page.locator('#artifacts [data-artifact="site"] a')
    report = page.locator('#artifacts [data-artifact="reports.linkcheck"] a')
    await expect(site).to_have_text("Site (HTML)")
    await expect(report).to_have_text("Link check report (CSV)")
    csv = await page.request.get(d.url + (await report.get_attribute("href") or ""))
    assert csv.status == 200 and "nope/" in await csv.text()
    html = await page.request.get(d.url + (await site.get_attribute("href") or ""))
    assert html.status == 200 and "<html" in (await html.text()).lower()
    await expect(page.locator("#log")).to_contain_text("build finished")
    await screenshot(page, "detail-desktop")

    phone = await browser.new_page(**PHONE, color_scheme="dark")
    await phone.goto(f"{d.url}/builds/{job_id}")
    await expect(phone.locator("#timeline .tl-row")).to_have_count(4)
    await expect(phone.locator("#log")).to_contain_text("build finished")
    await screenshot(phone, "detail-phone-dark")


async def test_cancel_a_running_build_from_the_page(daemon_factory: Any, browser: Any) -> None:
    d: Daemon = await daemon_factory(auth="token")
    d.control.noop_delay = 60.0
    job_id = await submit(d, {"docs/index.md": "# Slow\n"}, token=SUBMIT_TOKEN)
    page = await browser.new_page(viewport={"width": 1366, "height": 900})
    await login(page, d, SUBMIT_TOKEN)
    await page.goto(f"{d.url}/builds/{job_id}")
    head = page.locator(".detail-head")
    await expect(head).to_have_attribute("data-status", "PROCESSING", timeout=WAIT)
    await expect(page.locator('.tl-row[data-stage="noop"]')).to_have_attribute("data-status", "running", timeout=WAIT)
    await expect(page.locator("#log-state")).to_have_text("live")
    await screenshot(page, "detail-running")

    page.once("dialog", lambda dialog: dialog.accept())
    async with page.expect_response(f"{d.url}/api/builds/{job_id}/cancel") as answer:
        await page.get_by_role("button", name="Cancel build").click()
    assert (await answer.value).status == 202
    await expect(head).to_have_attribute("data-status", "CANCELLED", timeout=WAIT)
    await expect(head).to_contain_text("Cancelled")
    await expect(page.locator(".error-box")).to_contain_text("cancelled")
    await expect(page.get_by_role("button", name="Cancel build")).to_have_count(0)
    job = await d[store_key].get(job_id)
    assert job.status == "CANCELLED"


def _review_config(tmp_path: Path) -> tuple[dict[str, Any], Path]:
    """The seed flow: lint → HTML → links → deploy to staging; production needs approval."""
    site = tmp_path / "site"
    shutil.copytree(SAMPLES, site)
    sections = {"pipeline": {"build": ["lint", "render_html", "linkcheck", "deploy"]},
                "site": {"name": "samples", "source": str(site), "title": "Samples", "languages": ["en", "es", "de"],
                         "base_url": "http://127.0.0.1:8080/sites/staging/"}}
    return sections, site


async def _api(d: Daemon, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.request(
            method, d.url + path, json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as resp:
        return resp.status, await resp.json()


async def _reviewed_build(d: Daemon, site: Path, line: str) -> dict[str, Any]:
    index = site / "en" / "index.md"
    index.write_text(index.read_text() + f"\n{line}\n")
    job_id = await submit(d, pack_folder(site), token=ADMIN_TOKEN, branch="main")
    await wait_finished(d, job_id, ADMIN_TOKEN)
    _, st = await _api(d, "GET", f"/api/builds/{job_id}/status")
    assert st["status"] == "COMPLETED" and st["review"]["state"] == "pending", st
    return st


async def _forged_form_server(target: str) -> tuple[web.AppRunner, str]:
    """Another site (``localhost`` is not ``127.0.0.1``) whose page posts a form to the daemon."""
    page = f"""<!doctype html><form id="f" method="post" action="{target}"><input name="x" value="1"></form>
<script>document.getElementById("f").submit()</script>"""

    async def evil(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", evil)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://localhost:{runner.addresses[0][1]}/"


async def test_review_approve_and_reject_as_admin_not_as_reader(daemon_factory: Any, browser: Any, tmp_path: Path) -> None:
    sections, site = _review_config(tmp_path)
    d: Daemon = await daemon_factory(auth="token", **sections)
    # A first release goes live on production through the API, so the next build changes pages.
    first_id = await submit(d, pack_folder(site), token=ADMIN_TOKEN, branch="main")
    await wait_finished(d, first_id, ADMIN_TOKEN)
    code, approved = await _api(d, "POST", f"/api/builds/{first_id}/approve")
    assert code == 202, approved
    await wait_finished(d, approved["promote_job"], ADMIN_TOKEN)
    second = await _reviewed_build(d, site, "One more paragraph for the reviewers.")
    job_id = second["job_id"]
    assert second["review"]["changes"]["changed"] >= 1

    admin = await browser.new_context(viewport={"width": 1366, "height": 900})
    page = await admin.new_page()
    await login(page, d, ADMIN_TOKEN)
    await expect(page.locator(f"#job-{job_id} .c-status")).to_contain_text("awaiting approval")
    await page.get_by_role("link", name="Review queue").click()
    item = page.locator(f"#review-{job_id}")
    await expect(item).to_contain_text("production")
    await expect(item.locator(".changes")).to_contain_text("changed")
    diff = item.locator("table.diff").first
    await expect(diff.locator("td.r", has_text="One more paragraph for the reviewers.")).to_have_count(1)
    await expect(diff.locator("td.r mark").first).to_be_visible()
    preview = await page.request.get(d.url + (await item.get_by_role("link", name="full diff preview").get_attribute("href") or ""))
    assert preview.status == 200
    await screenshot(page, "reviews-desktop")
    csrf = await page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert csrf

    # Same origin, session cookie, no CSRF token: refused; with the token it reaches the handler.
    forged = await page.evaluate("""async (id) => {
        const r = await fetch('/api/builds/' + id + '/retry', {method: 'POST'});
        return [r.status, (await r.json()).error.code];
    }""", job_id)
    assert forged == [403, "csrf_failed"]
    with_token = await page.evaluate("""async ([id, csrf]) => {
        const r = await fetch('/api/builds/' + id + '/retry', {method: 'POST', headers: {'X-CSRF-Token': csrf}});
        return [r.status, (await r.json()).error.code];
    }""", [job_id, csrf])
    assert with_token == [409, "invalid_transition"]
    # A form on another site posting "approve": the SameSite=Strict cookie stays home.
    runner, evil_url = await _forged_form_server(f"{d.url}/api/builds/{job_id}/approve")
    try:
        evil = await admin.new_page()
        async with evil.expect_response(f"{d.url}/api/builds/{job_id}/approve") as cross:
            await evil.goto(evil_url)
        assert (await cross.value).status in (401, 403)
    finally:
        await runner.cleanup()
    assert (await _api(d, "GET", f"/api/builds/{job_id}/status"))[1]["review"]["state"] == "pending"

    # A read token sees the queue and the build, and no button.
    reader = await browser.new_context(viewport={"width": 1366, "height": 900})
    rpage = await reader.new_page()
    await login(rpage, d, READ_TOKEN)
    await rpage.goto(f"{d.url}/reviews")
    await expect(rpage.locator(f"#review-{job_id} table.diff").first).to_be_visible()
    await expect(rpage.get_by_role("button")).to_have_text(["Sign out"])
    await rpage.goto(f"{d.url}/builds/{job_id}")
    await expect(rpage.locator("#review")).to_contain_text("pending")
    await expect(rpage.locator("button[data-action]")).to_have_count(0)
    reader_post = await rpage.evaluate("""async ([id, csrf]) => {
        const r = await fetch('/api/builds/' + id + '/approve', {method: 'POST', headers: {'X-CSRF-Token': csrf}});
        return r.status;
    }""", [job_id, csrf])
    assert reader_post == 403, "another session's CSRF token is refused, and read cannot approve"
    await reader.close()

    # The admin approves from the page: the build is promoted to production.
    async with (page.expect_request(lambda r: r.url.endswith(f"/api/builds/{job_id}/approve")) as sent,
                page.expect_response(lambda r: r.url.endswith(f"/api/builds/{job_id}/approve")) as answer):
        await item.get_by_role("button", name="Approve").click()
    assert (await sent.value).headers.get("x-csrf-token") == csrf
    response = await answer.value
    assert response.status == 202
    await expect(item).to_have_count(0)
    await expect(page.locator("#toast")).to_contain_text("promotion")
    await wait_finished(d, (await response.json())["promote_job"], ADMIN_TOKEN)
    await page.goto(f"{d.url}/builds/{job_id}")
    await expect(page.locator("#review")).to_contain_text("promoted")
    await expect(page.locator("#review")).to_contain_text("lead")

    # Reject needs a reason, and records it.
    third = await _reviewed_build(d, site, "And a paragraph nobody wants.")
    await page.goto(f"{d.url}/reviews")
    item = page.locator(f"#review-{third['job_id']}")
    await item.get_by_role("button", name="Reject").click()
    await expect(page.locator("#toast")).to_contain_text("reason")
    await item.get_by_label("Reason (for reject)").fill("typo on the home page")
    async with page.expect_response(lambda r: r.url.endswith(f"/api/builds/{third['job_id']}/reject")) as rejected:
        await item.get_by_role("button", name="Reject").click()
    assert (await rejected.value).status == 200
    await expect(item).to_have_count(0)
    review = (await _api(d, "GET", f"/api/builds/{third['job_id']}/status"))[1]["review"]
    assert (review["state"], review["reason"], review["decided_by"]) == ("rejected", "typo on the home page", "lead")
    await expect(page.locator("#empty")).to_have_text("Nothing waits for approval.")
    await admin.close()


async def test_login_flow(daemon_factory: Any, browser: Any) -> None:
    d: Daemon = await daemon_factory(auth="token")
    context = await browser.new_context(viewport={"width": 1366, "height": 900})
    page = await context.new_page()
    await page.goto(f"{d.url}/health")
    await expect(page).to_have_url(f"{d.url}/login?next=/health")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await screenshot(page, "login")

    await page.get_by_label("Token").fill("not-a-token")
    await page.get_by_label("Token").press("Enter")
    await expect(page.get_by_role("alert")).to_have_text("That token is not valid.")
    assert not [c for c in await context.cookies() if c["name"] == "pressroom_session"]

    await page.get_by_label("Token").fill(READ_TOKEN)
    await page.get_by_label("Token").press("Enter")
    await expect(page).to_have_url(f"{d.url}/health")
    await expect(page.locator(".who")).to_contain_text("viewer")
    cookie = next(c for c in await context.cookies() if c["name"] == "pressroom_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert await page.evaluate("document.cookie.includes('pressroom_session')") is False
    await expect(page.locator(".banner")).to_have_count(0)

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(f"{d.url}/login")
    await page.goto(f"{d.url}/")
    await expect(page).to_have_url(f"{d.url}/login?next=/")
    await context.close()


async def test_health_page_and_replay_with_screenshots(daemon_factory: Any, browser: Any, make_config: Any) -> None:
    now = time.time()
    clock = seed.Clock(now)
    cfg = make_config()
    store = await Store.open(cfg.store_url, clock=clock)
    try:
        for day in range(6, -1, -1):
            for i in range(4):
                await seed.finished_job(store, clock, created=now - day * 86400 - 3600 * (i + 1), wait=3 + i,
                                        run=20 + 10 * i + day, branch="main",
                                        trigger={"kind": "commit", "sha": f"{day:02d}{i:02d}abcdef1234", "author": "Ada",
                                                 "message": f"Fix typo {day}.{i}", "branch": "main"})
        failed = await seed.finished_job(store, clock, created=now - 1800, wait=2, run=12, status="FAILED",
                                         error_code="broken_links", branch="release",
                                         trigger={"kind": "folder", "folder": "drop/release"},
                                         result={"warnings": 3, "counts": {"linkcheck.broken": 2}})
        delivery = await seed.finished_job(store, clock, created=now - 900, wait=1, run=2, status="FAILED",
                                           kind="deliver", stages=(), dead=True, error_code="delivery_failed",
                                           payload={"channel": "slack", "event": "build.failed"})
        dead = await seed.finished_job(store, clock, created=now - 600, wait=1, run=5, status="FAILED", dead=True,
                                       error_code="stage_timeout", branch="main")
    finally:
        await store.close()
    d: Daemon = await daemon_factory()
    d.control.hold = True
    held = await submit(d, {"docs/index.md": "# Held\n"})
    await d.control.started(held)

    page = await browser.new_page(viewport={"width": 1366, "height": 900})
    await page.goto(f"{d.url}/")
    await expect(page.locator(f"#job-{failed} .c-links")).to_have_text("2")
    await expect(page.locator(f"#job-{held}")).to_have_attribute("data-status", "PROCESSING")
    await screenshot(page, "builds-history-desktop")
    await page.goto(f"{d.url}/health")
    await expect(page.locator("#queue-chart polyline").first).to_be_visible()
    await expect(page.locator("#queue-chart figcaption")).to_contain_text("build processing")
    await expect(page.locator("#durations-chart polyline")).to_have_count(2)
    await expect(page.locator(".worker")).to_contain_text(held[-8:])
    await expect(page.locator(f"#dead-{delivery}")).to_contain_text("build.failed → slack")
    row = page.locator(f"#dead-{dead}")
    await expect(row).to_contain_text("stage_timeout")
    await screenshot(page, "health-desktop")

    async with page.expect_response(f"{d.url}/api/builds/{dead}/retry") as replayed:
        await row.get_by_role("button", name="Replay").click()
    assert (await replayed.value).status == 202
    await expect(row).to_have_count(0)
    job = await d[store_key].get(dead)
    assert (job.status, job.dead) == ("PENDING", False), "the only worker slot is held, so the replay waits"

    phone = await browser.new_page(**PHONE)
    for name, path in (("builds", "/"), ("health", "/health"), ("reviews", "/reviews")):
        await phone.goto(d.url + path)
        await expect(phone.locator("h1")).to_be_visible()
        await screenshot(phone, f"{name}-phone")
    dark = await browser.new_page(viewport={"width": 1366, "height": 900}, color_scheme="dark")
    await dark.goto(f"{d.url}/")
    await expect(dark.locator(".banner")).to_contain_text("Authentication is off")
    await screenshot(dark, "builds-desktop-dark")
    d.control.release_all()
