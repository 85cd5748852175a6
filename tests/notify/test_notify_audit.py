"""An audit's end through the notification outbox: ``audit.report`` by Slack and email after the
run, ``audit.critical`` for a new critical finding to the channel and to the owners of the page's
language; a second run with nothing new sends no second critical alert."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pipeline.app import create_app
from tests.audit.test_audit_daemon import FAULTY
from tests.conftest import tar_gz
from tests.notify import peers

GZ = {"Content-Type": "application/gzip"}


async def _finished(client: Any, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        st = await (await client.get(f"/api/builds/{job_id}/status")).json()
        if st["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            return st  # type: ignore[no-any-return]
        await asyncio.sleep(0.1)
    raise AssertionError(f"{job_id} never finished")


async def _settled(client: Any, expect: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = (await (await client.get("/api/deliveries")).json())["deliveries"]
        audit = [d for d in found if str(d["delivery"]["event"]).startswith("audit.")]
        if len(audit) >= expect and all(d["status"] in ("COMPLETED", "FAILED") for d in audit):
            return audit
        await asyncio.sleep(0.1)
    raise AssertionError(f"audit deliveries never settled: {found}")


async def _audit(client: Any) -> dict[str, Any]:
    resp = await client.post("/api/audits", json={"target": "staging"})
    assert resp.status == 202
    return await _finished(client, (await resp.json())["job_id"])


async def test_audit_report_and_critical_alert(aiohttp_client: Any, make_config: Any, fake_slack: peers.FakeSlack,
                                              smtp_factory: Any) -> None:
    smtp = smtp_factory()
    cfg = make_config(
        pipeline={"build": ["render_html", "deploy"]},
        site={"nav": [{"Home": "index.md"}, {"Guide": "guide.md"}, {"Install": "install.md"}, {"About": "about.md"}]},
        audit={"targets": ["staging"], "critical_pages": ["en/install/"], "misfire_grace": 0},
        languages={"en": {"owners_email": ["en-owner@docs.example"]}},
        notify={"backoff_base": 0.05, "backoff_max": 0.2,
                "slack": {"enabled": True, "token_env": "TEST_SLACK_TOKEN", "base_url": fake_slack.base_url,
                          "channel": "#docs", "events": ["audit.*"], "timeout": 2},
                "email": {"enabled": True, "host": "127.0.0.1", "port": smtp.port, "to": ["writers@docs.example"],
                          "events": ["audit.*"], "timeout": 2}})
    client = await aiohttp_client(create_app(cfg))
    build = await (await client.post("/api/builds", data=tar_gz(FAULTY), headers=GZ)).json()
    assert (await _finished(client, build["job_id"]))["status"] == "COMPLETED"

    first = await _audit(client)
    assert first["status"] == "COMPLETED", first
    deliveries = await _settled(client, 5)
    assert all(d["status"] == "COMPLETED" for d in deliveries), deliveries
    sent = sorted((d["delivery"]["channel"], d["delivery"]["event"], str(d["delivery"]["target"])) for d in deliveries)
    assert sent == [("email", "audit.critical", "['en-owner@docs.example']"),
                    ("email", "audit.critical", "['writers@docs.example']"),
                    ("email", "audit.report", "['writers@docs.example']"),
                    ("slack", "audit.critical", "#docs"), ("slack", "audit.report", "#docs")]
    mails = list(smtp.unique().values())
    critical = [m for m in mails if "critical" in m.message["Subject"]]
    assert {tuple(m.rcpt_tos) for m in critical} == {("writers@docs.example",), ("en-owner@docs.example",)}
    assert all("en/install/index.html" in m.message.get_body(("plain",)).get_content() for m in critical)  # type: ignore[union-attr]
    report = next(m for m in mails if "report" in m.message["Subject"])
    text = report.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "8 new" in text and f"/api/audits/{first['job_id']}/report.html" in text, text
    assert any("critical" in (m.text + str(m.blocks)).lower() for m in fake_slack.unique())

    second = await _audit(client)  # nothing new: a report, no second critical alert
    assert second["status"] == "COMPLETED"
    later = await _settled(client, 7)
    assert sorted(d["delivery"]["event"] for d in later).count("audit.critical") == 3
