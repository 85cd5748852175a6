"""The dashboard in a real browser: live rows, the build detail, cancel, review, login, screenshots.

Every wait is Playwright's auto-waiting ``expect`` or an event the daemon sets; no test sleeps.
Screenshots land in tests/artifacts/dashboard/ for people to look at.
"""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Page, expect

from pipeline.api.keys import store_key
from pipeline.store import Store
from tests.conftest import tar_gz
from tests.dashboard import seed
from tests.dashboard.helpers import ADMIN_TOKEN, READ_TOKEN, SUBMIT_TOKEN, Daemon, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAIT = 15_000
"""Milliseconds Playwright keeps retrying an expectation (a ceiling on a loaded machine, not a target)."""

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


async def submit(d: Daemon, files: dict[str, str], token: str | None = None, **query: str) -> str:
    headers = {"Content-Type": "application/gzip"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with aiohttp.ClientSession() as http, http.post(f"{d.url}/api/builds", data=tar_gz(files),
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


REVIEW = {"state": "pending", "target": "production", "diff": {
    "added": ["en/new-page.html"], "removed": ["en/old-page.html"],
    "changed": [{"path": "en/index.html", "before": "# Home\n\nWelcome to the docs.\nOld line\nSame\n",
                 "after": "# Home\n\nWelcome to the new docs.\nSame\nAdded line\n"}]}}


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


async def test_review_approve_as_admin_not_as_reader_and_forged_posts_refused(daemon_factory: Any, browser: Any) -> None:
    d: Daemon = await daemon_factory(auth="token")
    job_id = await submit(d, {"docs/index.md": "# Reviewed\n"}, token=ADMIN_TOKEN)
    await wait_finished(d, job_id, ADMIN_TOKEN)
    await d[store_key].update_result(job_id, {"review": REVIEW})

    admin = await browser.new_context(viewport={"width": 1366, "height": 900})
    page = await admin.new_page()
    await login(page, d, ADMIN_TOKEN)
    await expect(page.locator(f"#job-{job_id} .c-status")).to_contain_text("awaiting approval")
    await page.get_by_role("link", name="Review queue").click()
    item = page.locator(f"#review-{job_id}")
    await expect(item.locator("ul.added")).to_contain_text("en/new-page.html")
    await expect(item.locator("ul.removed")).to_contain_text("en/old-page.html")
    await expect(item.locator("table.diff tr.d-replace").first).to_contain_text("Welcome to the new docs.")
    await expect(item.locator("table.diff")).to_contain_text("Added line")
    await screenshot(page, "reviews-desktop")
    csrf = await page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert csrf

    async with page.expect_request(lambda r: r.url.endswith(f"/api/builds/{job_id}/approve")) as sent:
        await item.get_by_role("button", name="Approve").click()
    request = await sent.value
    assert request.method == "POST"
    assert request.headers.get("x-csrf-token") == csrf

    # Reject needs a reason, and sends it.
    await item.get_by_role("button", name="Reject").click()
    await expect(page.locator("#toast")).to_contain_text("reason")
    await item.get_by_label("Reason (for reject)").fill("typo on the home page")
    async with page.expect_request(lambda r: r.url.endswith(f"/api/builds/{job_id}/reject")) as sent_reject:
        await item.get_by_role("button", name="Reject").click()
    assert (await sent_reject.value).post_data_json == {"reason": "typo on the home page"}

    # Same-origin request with the session cookie but without the CSRF token: refused.
    forged = await page.evaluate("""async (id) => {
        const r = await fetch('/api/builds/' + id + '/retry', {method: 'POST'});
        return [r.status, (await r.json()).error.code];
    }""", job_id)
    assert forged == [403, "csrf_failed"]
    with_token = await page.evaluate("""async ([id, csrf]) => {
        const r = await fetch('/api/builds/' + id + '/retry', {method: 'POST', headers: {'X-CSRF-Token': csrf}});
        return [r.status, (await r.json()).error.code];
    }""", [job_id, csrf])
    assert with_token == [409, "invalid_transition"], "with the token the request reaches the handler"

    # A form on another site posting to the daemon: the SameSite=Strict cookie stays home.
    runner, evil_url = await _forged_form_server(f"{d.url}/api/builds/{job_id}/cancel")
    try:
        evil = await admin.new_page()
        async with evil.expect_response(f"{d.url}/api/builds/{job_id}/cancel") as cross:
            await evil.goto(evil_url)
        assert (await cross.value).status in (401, 403)
    finally:
        await runner.cleanup()
    assert (await d[store_key].get(job_id)).status == "COMPLETED"

    reader = await browser.new_context(viewport={"width": 1366, "height": 900})
    rpage = await reader.new_page()
    await login(rpage, d, READ_TOKEN)
    await rpage.goto(f"{d.url}/reviews")
    await expect(rpage.locator(f"#review-{job_id}")).to_be_visible()
    await expect(rpage.get_by_role("button", name="Approve")).to_have_count(0)
    await expect(rpage.get_by_role("button", name="Reject")).to_have_count(0)
    await rpage.goto(f"{d.url}/builds/{job_id}")
    await expect(rpage.locator("#review")).to_contain_text("pending")
    await expect(rpage.locator("button[data-action]")).to_have_count(0)
    reader_post = await rpage.evaluate("""async ([id, csrf]) => {
        const r = await fetch('/api/builds/' + id + '/cancel', {method: 'POST', headers: {'X-CSRF-Token': csrf}});
        return r.status;
    }""", [job_id, csrf])
    assert reader_post == 403, "the admin's CSRF token is worthless with another session, and read cannot cancel"
    await admin.close()
    await reader.close()


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
    assert not [c for c in await context.cookies() if c["name"] == "pressroom_token"]

    await page.get_by_label("Token").fill(READ_TOKEN)
    await page.get_by_label("Token").press("Enter")
    await expect(page).to_have_url(f"{d.url}/health")
    await expect(page.locator(".who")).to_contain_text("viewer")
    cookie = next(c for c in await context.cookies() if c["name"] == "pressroom_token")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert await page.evaluate("document.cookie.includes('pressroom_token')") is False
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
