"""Stored XSS must not reach admin actions. Real daemon process, real Chromium.

A ``submit`` token holder publishes a page whose script, when an admin opens it through the
normal review path, fetches a dashboard page for its CSRF token and POSTs an admin-only
``{"source": {"path": ...}}`` build of a server folder. Before the fix the page was served on the
dashboard's own origin, so the script read the token and the server folder's ``secret.txt`` was
published under ``/sites/staging/``. Now the script runs on the sites origin, where the browser
lets it read nothing of the dashboard's; on the API origin user content is sandboxed and runs no
script at all.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from pipeline.testing import DaemonProcess, until
from tests.conftest import make_tree, tar_gz
from tests.dashboard.helpers import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAIT = 20_000
ADMIN = "xss-test-admin-token-0123456789"
WRITER = "xss-test-submit-token-0123456789"


def _http(method: str, url: str, token: str | None = None, body: bytes | None = None,
          ctype: str | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=body, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _attack(api: str, secret_dir: Path) -> str:
    """The attacker's page: Markdown with a raw script (raw HTML is allowed by default)."""
    script = f"""
(async () => {{
  const API = {json.dumps(api)};
  const out = {{ran: true, origin: location.origin, csrf: null}};
  try {{
    const page = await fetch(API + "/reviews", {{credentials: "include"}});
    const text = await page.text();
    const m = text.match(/name="csrf-token" content="([^"]+)"/);
    out.csrf = m ? m[1] : null;
  }} catch (e) {{ out.readError = String(e); }}
  try {{
    const r = await fetch(API + "/api/builds", {{method: "POST", credentials: "include",
      headers: {{"Content-Type": "application/json", "X-CSRF-Token": out.csrf || ""}},
      body: JSON.stringify({{source: {{path: {json.dumps(str(secret_dir))}}}}})}});
    out.post = r.status;
  }} catch (e) {{ out.postError = String(e); }}
  try {{
    await fetch(API + "/api/builds", {{method: "POST", mode: "no-cors", credentials: "include",
      headers: {{"Content-Type": "text/plain"}}, body: JSON.stringify({{source: {{path: {json.dumps(str(secret_dir))}}}}})}});
    out.blind = "sent";
  }} catch (e) {{ out.blindError = String(e); }}
  document.documentElement.dataset.xss = "ran";
  window.__xss = out;
}})();
"""
    lines = [ln for ln in script.strip().splitlines() if ln.strip()]
    return "# Release notes\n\nNothing to see here.\n\n<script>\n" + "\n".join(lines) + "\n</script>\n"


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[DaemonProcess]:
    (tmp_path / "daemon").mkdir()
    d = DaemonProcess(tmp_path / "daemon", auth="token", pipeline=["render_html", "deploy"],
                      env={"PRESSROOM_TOKENS": f"writer:{WRITER}:submit,lead:{ADMIN}:admin"},
                      extra='\n[site]\ntitle = "XSS test"\nsource = "unused"\n')
    d.start()
    yield d
    d.stop()


def _jobs(d: DaemonProcess) -> list[dict[str, Any]]:
    status, _, body = _http("GET", f"{d.url}/api/builds?kind=all&limit=200", ADMIN)
    assert status == 200, body
    return list(json.loads(body)["jobs"])


async def test_a_submitted_page_cannot_act_as_the_reviewing_admin(daemon: DaemonProcess, browser: Any,
                                                                  tmp_path: Path) -> None:
    d = daemon
    secret = make_tree(tmp_path / "server-folder", {"en/index.md": "# Server folder\n", "en/secret.txt": "TOP SECRET\n"})
    status, _, body = _http("POST", f"{d.url}/api/builds", WRITER, tar_gz({"en/index.md": _attack(d.url, secret)}),
                            "application/gzip")
    assert status == 202, body
    job_id = json.loads(body)["job_id"]

    def finished() -> dict[str, Any] | None:
        st = json.loads(_http("GET", f"{d.url}/api/builds/{job_id}/status", WRITER)[2])
        return st if st["status"] in ("COMPLETED", "FAILED", "CANCELLED") else None

    st = until(finished, "the attacker's build to finish", 120, 0.2)
    assert st["status"] == "COMPLETED", st["error"]
    assert st["review"]["state"] == "pending"
    assert st["live_url"] == f"{d.sites_url}/sites/staging/"  # status live_url: the sites origin
    assert f"Sites:     {d.sites_url}/sites/" in d.log.read_text()  # `pressroom serve` prints it

    context = await browser.new_context(viewport={"width": 1366, "height": 900})
    page = await context.new_page()
    await page.goto(f"{d.url}/login?next=/reviews")
    await page.get_by_label("Token").fill(ADMIN)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{d.url}/reviews", timeout=WAIT)
    cookie = next(c for c in await context.cookies() if c["name"] == "pressroom_session")
    assert cookie["value"] not in (ADMIN, WRITER) and ADMIN not in cookie["value"]  # a session ID, not the token
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    # The normal review path: the review queue's "staging site" link, opened by the admin.
    item = page.locator(f"#review-{job_id}")
    await expect(item).to_be_visible(timeout=WAIT)
    link = item.get_by_role("link", name="staging site")
    assert await link.get_attribute("href") == f"{d.sites_url}/sites/staging/"
    await link.click()  # the site's root redirects (meta refresh) to its default language
    await page.wait_for_url(f"{d.sites_url}/sites/staging/en/", timeout=WAIT)
    await page.wait_for_function("window.__xss !== undefined", timeout=WAIT)
    got = await page.evaluate("window.__xss")
    await screenshot(page, "xss-sites-origin")
    assert got["ran"] and got["origin"] == d.sites_url, got  # the script did run: on the sites origin
    assert got["csrf"] is None and "readError" in got, got  # ...and could read nothing of the dashboard's
    assert got.get("post") in (None, 401, 403), got

    # A page linked from the dashboard on the API origin (the old /sites/ URL) lands on the sites origin too.
    await page.goto(f"{d.url}/sites/staging/en/")
    assert page.url.startswith(d.sites_url)

    # The built page as an artifact on the API origin: sandboxed, so its script never runs.
    artifact = f"{d.url}/api/builds/{job_id}/artifacts/out/en/index.html"
    resp = await page.goto(artifact)
    assert resp is not None and resp.status == 200
    headers = await resp.all_headers()
    assert headers["content-security-policy"] == "sandbox" and headers["x-content-type-options"] == "nosniff"
    await expect(page.get_by_role("heading", name="Release notes")).to_be_visible()
    await expect(page.locator("html")).not_to_have_attribute("data-xss", "ran")

    # The review's diff preview page (API origin) carries the same headers.
    preview = st["review"]["preview_url"]
    assert preview and preview.startswith("/api/builds/")
    resp = await page.goto(d.url + preview)
    assert resp is not None and resp.status == 200
    headers = await resp.all_headers()
    assert headers["content-security-policy"] == "sandbox" and headers["x-content-type-options"] == "nosniff"
    # The dashboard's own pages: a strict CSP, no framing, nosniff.
    resp = await page.goto(f"{d.url}/reviews")
    assert resp is not None
    headers = await resp.all_headers()
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    await context.close()

    # Nothing was submitted but the attacker's own build, and no server file was published.
    jobs = _jobs(d)
    submitted = [j for j in jobs if j["kind"] != "maintenance"]  # the daemon's own retention run is not a submission
    assert [(j["job_id"], j["kind"], j["trigger"].get("token")) for j in submitted] == [(job_id, "build", "writer")], jobs
    for base in (d.sites_url, d.url):
        status, _, _ = _http("GET", f"{base}/sites/staging/en/secret.txt")
        assert status == 404, base
    status, headers_, _ = _http("GET", f"{d.sites_url}/sites/staging/en/")
    assert status == 200 and headers_["X-Content-Type-Options"] == "nosniff"
