"""The audit API and pages in the app: scopes, the prioritised queue (paging, ack, snooze), the
HTML report and dashboard page with hostile page content escaped under the dashboard's CSP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.api.keys import store_key
from pipeline.app import create_app
from pipeline.dashboard.render import CSP

ADMIN, READ = "audit-admin-token", "audit-read-token"
TOKENS = [{"name": "lead", "token_env": "AUDIT_TEST_ADMIN", "scopes": ["admin"]},
          {"name": "viewer", "token_env": "AUDIT_TEST_READ", "scopes": ["read"]}]
HOSTILE = '<img src=x onerror="alert(1)">'


def _h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def finding(fp: str, severity: str, page: str, message: str = "broken") -> dict[str, Any]:
    return {"fingerprint": fp, "check": "broken-link", "severity": severity, "page": page, "url": "x",
            "subject": fp, "message": message}


@pytest.fixture
async def client(aiohttp_client: Any, make_config: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.setenv("AUDIT_TEST_ADMIN", ADMIN)
    monkeypatch.setenv("AUDIT_TEST_READ", READ)
    views = tmp_path / "views.csv"
    views.write_text("page,views\nen/popular/,900\nen/quiet/,3\n")
    cfg = make_config(server={"auth": "token", "tokens": TOKENS},
                      audit={"critical_pages": ["en/install/"], "pageviews": str(views)})
    c = await aiohttp_client(create_app(cfg, run_worker=False))
    await c.app[store_key].record_audit("aud_1", "staging", [
        finding("a", "medium", "en/quiet/index.html"), finding("b", "medium", "en/popular/index.html"),
        finding("c", "critical", "en/install/index.html"),
        finding("d", "high", f"en/{HOSTILE}.html", f"title {HOSTILE} <script>alert(2)</script>")],
        covers=["broken-link"], started_at=0, notes=[], keep_days=90)
    return c


async def test_queue_is_prioritised_paged_and_triaged(client: Any) -> None:
    first = await (await client.get("/api/audits/findings?state=open&limit=3", headers=_h(READ))).json()
    assert [f["fingerprint"] for f in first["findings"]] == ["c", "d", "b"]  # severity, then page views
    assert first["total"] == 4 and first["next_offset"] == 3
    rest = await (await client.get("/api/audits/findings?state=open&offset=3", headers=_h(READ))).json()
    assert [f["fingerprint"] for f in rest["findings"]] == ["a"] and rest["next_offset"] is None

    assert (await client.post("/api/audits/findings/c/ack", headers=_h(READ))).status == 403
    acked = await (await client.post("/api/audits/findings/c/ack", headers=_h(ADMIN))).json()
    assert acked["acked_by"] == "lead" and acked["acked_at"]
    resp = await client.post("/api/audits/findings/b/snooze", json={"until": "2999-01-01"}, headers=_h(ADMIN))
    assert resp.status == 200 and (await resp.json())["snoozed_until"].startswith("2999-01-01")
    shown = await (await client.get("/api/audits/findings", headers=_h(READ))).json()
    assert [f["fingerprint"] for f in shown["findings"]] == ["c", "d", "a"]
    hidden = await (await client.get("/api/audits/findings?snoozed=true", headers=_h(READ))).json()
    assert "b" in [f["fingerprint"] for f in hidden["findings"]]
    bad = await client.post("/api/audits/findings/b/snooze", json={"until": "soon"}, headers=_h(ADMIN))
    assert bad.status == 400
    missing = await client.post("/api/audits/findings/zzz/ack", headers=_h(ADMIN))
    assert missing.status == 404 and (await missing.json())["error"]["code"] == "finding_not_found"


async def test_runs_report_and_errors(client: Any) -> None:
    assert (await client.post("/api/audits", json={}, headers=_h(READ))).status == 403
    unknown = await client.post("/api/audits", json={"target": "nowhere"}, headers=_h(ADMIN))
    assert unknown.status == 400 and "nowhere" in (await unknown.json())["error"]["message"]
    bad = await client.post("/api/audits", json={"checks": ["everything"]}, headers=_h(ADMIN))
    assert bad.status == 400
    ok = await client.post("/api/audits", json={"target": "staging", "checks": ["links"]}, headers=_h(ADMIN))
    body = await ok.json()
    assert ok.status == 202 and ok.headers["Location"] == f"/api/builds/{body['job_id']}/status"
    status = await (await client.get(body["status_url"], headers=_h(READ))).json()
    assert status["kind"] == "audit" and status["status"] == "PENDING"
    report = await (await client.get("/api/audits/aud_1", headers=_h(READ))).json()
    assert report["summary"]["severity"] == {"critical": 1, "high": 1, "medium": 2, "low": 0}
    assert [f["fingerprint"] for f in report["findings"]] == ["c", "d", "b", "a"]
    assert [r["id"] for r in (await (await client.get("/api/audits", headers=_h(READ))).json())["audits"]] == ["aud_1"]
    gone = await client.get("/api/audits/aud_nope", headers=_h(READ))
    assert gone.status == 404 and (await gone.json())["error"]["code"] == "audit_not_found"


@pytest.mark.parametrize("path", ["/api/audits/aud_1/report.html", "/audits"])
async def test_pages_escape_crawled_content_under_the_dashboard_csp(client: Any, path: str) -> None:
    resp = await client.get(path, headers=_h(READ))
    text = await resp.text()
    assert resp.status == 200, text
    assert resp.headers["Content-Security-Policy"] == CSP
    assert HOSTILE not in text and "<script>alert" not in text
    assert "&lt;img src=x onerror=" in text and "&lt;script&gt;alert(2)" in text
    assert "<polyline" in text or "<circle" in text or "No data" in text  # the trend chart (SVG; one point is a dot)
    builds = await (await client.get("/", headers=_h(READ))).text()
    assert 'href="/audits"' in builds
