"""Promotions notify (``promote.completed`` / ``promote.failed`` used to raise
``RouteError`` and were dropped), and the runbook link in a real email opens on the daemon."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema_rs
import pytest

from pipeline import config as config_mod
from pipeline.app import create_app
from pipeline.notify import router, schemas
from tests.conftest import GZ, tar_gz, wait_finished
from tests.notify import peers
from tests.notify.helpers import build_events

pytestmark = pytest.mark.slow


async def _settled(client: Any, event: str, timeout: float = 30) -> list[dict[str, Any]]:
    """Deliveries of ``event`` once there are some and none is still pending."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [d for d in (await (await client.get("/api/deliveries")).json())["deliveries"]
                 if d["delivery"]["event"] == event]
        if found and all(d["status"] in ("COMPLETED", "FAILED") for d in found):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"no settled {event} deliveries")


async def _approved_promotion(client: Any, text: str) -> tuple[str, dict[str, Any]]:
    job = await (await client.post("/api/builds", data=tar_gz({"en/index.md": text}), headers=GZ)).json()
    st = await wait_finished(client, job["job_id"])
    assert st["status"] == "COMPLETED" and st["review"]["state"] == "pending", (st["error"], st["review"])
    resp = await client.post(f"/api/builds/{job['job_id']}/approve")
    assert resp.status == 202, await resp.text()
    promote = (await resp.json())["promote_job"]
    return job["job_id"], await wait_finished(client, promote)


async def test_promotions_notify_and_runbook_link_opens(aiohttp_client: Any, make_config: Any, tmp_path: Path,
                                                        smtp_factory: Any, receiver: peers.WebhookReceiver) -> None:
    smtp = smtp_factory()
    flag = tmp_path / "production-down"
    cfg = make_config(
        pipeline={"build": ["render_html", "deploy"]},
        stages={"deploy": {"targets": {
            "staging": {},
            # Production publishes through a command that fails while the flag file exists.
            "production": {"requires_approval": True, "kind": "command",
                           "command": {"argv": ["sh", "-c", 'test ! -e "$0"', str(flag)]}}}}},
        notify={"backoff_base": 0.05, "backoff_max": 0.2, "max_attempts": 4,
                "email": {"enabled": True, "host": "127.0.0.1", "port": smtp.port, "to": ["writers@docs.example"],
                          "events": ["promote.*"], "timeout": 5},
                "webhooks": [{"url": receiver.url, "secret_env": "TEST_WEBHOOK_SECRET", "events": ["promote.*"],
                              "timeout": 5}]},
    )
    client = await aiohttp_client(create_app(cfg))

    build_ok, promoted = await _approved_promotion(client, "# One\n")
    assert promoted["status"] == "COMPLETED", promoted["error"]
    done = await _settled(client, "promote.completed")
    assert {d["delivery"]["channel"] for d in done} == {"email", "webhook"}
    assert all(d["status"] == "COMPLETED" for d in done), done

    flag.write_text("down")
    build_bad, failed = await _approved_promotion(client, "# Two\n")
    assert failed["status"] == "FAILED" and failed["error"]["code"] == "deploy_command_failed", failed["error"]
    deliveries = await _settled(client, "promote.failed")
    assert {d["delivery"]["channel"] for d in deliveries} == {"email", "webhook"}
    assert all(d["status"] == "COMPLETED" for d in deliveries), deliveries

    # Webhooks: one signed body per event, valid against the published schema, naming the build.
    bodies = {d.json["type"]: d.json for d in receiver.unique().values()}
    assert set(bodies) == {"promote.completed", "promote.failed"}
    for etype, body in bodies.items():
        jsonschema_rs.validator_for(schemas.WEBHOOK_SCHEMAS[etype]).validate(body)
    assert bodies["promote.completed"]["data"]["trigger"]["build_id"] == build_ok
    assert bodies["promote.failed"]["data"]["error"]["code"] == "deploy_command_failed"

    # Email: both arrived; the failure carries a runbook link that opens on the daemon.
    mails = {m.message["Subject"]: m.message for m in smtp.unique().values()}
    assert any(f"Build {build_ok} is live on production" in s for s in mails)
    subject = next(s for s in mails if f"Promotion of build {build_bad} to production failed" in s)
    text = mails[subject].get_body(("plain",)).get_content()
    link = re.search(r"Runbook: (\S+)", text)
    assert link, text
    url = urlsplit(link.group(1))
    assert (url.path, url.fragment) == ("/docs/errors.md", "deploy_command_failed")
    page = await client.get(url.path)
    assert page.status == 200 and page.content_type == "text/html"
    html = await page.text()
    assert 'id="deploy_command_failed"' in html and "<script" not in html
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert (await client.get("/docs/../config.toml")).status == 404
    assert (await client.get("/docs/nope.md")).status == 404


def test_promote_cancelled_is_known_but_unannounced() -> None:
    cfg = config_mod.parse({"notify": {"webhooks": [{"url": "https://h.example/x", "secret_env": "S"}]}})
    base = build_events("promote_1")[-1]
    event = {**base, "type": "promote.cancelled",
             "job": {**base["job"], "kind": "promote", "status": "CANCELLED", "trigger": {"build_id": "build_1"}}}
    assert router.plan_deliveries(event, cfg) == []


def test_runbook_links_follow_docs_url() -> None:
    """With ``[server] docs_url`` the link points there instead of at the daemon."""
    cfg = config_mod.parse({"server": {"docs_url": "https://docs.example.org/pressroom/"},
                            "notify": {"webhooks": [{"url": "https://h.example/x", "secret_env": "S"}]}})
    failed = build_events("job-9", fail=True)[-1]
    [delivery] = router.plan_deliveries(failed, cfg)
    assert delivery["payload"]["job"]["error"]["runbook"] == "https://docs.example.org/pressroom/errors.md#links_broken"
    assert json.dumps(delivery["payload"]).count("docs.example.org") == 1
