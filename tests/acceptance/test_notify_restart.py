"""A daemon killed in the middle of a delivery's retries loses nothing: after the restart the
webhook arrives, exactly once from the receiver's point of view (deduplicated by webhook-id)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from typing import Any

import pytest

from tests.conftest import tar_gz
from tests.notify import peers
from tests.notify.helpers import WEBHOOK_SECRET

pytestmark = pytest.mark.slow


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)


async def test_kill_9_mid_retry_then_delivered_once(daemon: Any) -> None:
    receiver = peers.WebhookReceiver(WEBHOOK_SECRET)
    receiver.faults = ["500"] * 50  # down until we say so
    await receiver.start()
    try:
        extra = f"""
[notify]
backoff_base = 0.3
backoff_max = 0.6
max_attempts = 50
[[notify.webhooks]]
url = "{receiver.url}"
secret_env = "TEST_WEBHOOK_SECRET"
events = ["build.completed"]
"""
        d = daemon(lease=2, heartbeat=0.5, extra=extra, env={"TEST_WEBHOOK_SECRET": WEBHOOK_SECRET})
        await asyncio.to_thread(d.start)

        def submit() -> str:
            req = urllib.request.Request(d.url + "/api/builds", data=tar_gz({"en/index.md": "# Hi"}),
                                         headers={"Content-Type": "application/gzip"}, method="POST")
            with urllib.request.urlopen(req, timeout=5) as r:
                return json.load(r)["job_id"]  # type: ignore[no-any-return]

        await asyncio.to_thread(submit)
        deadline = time.monotonic() + 60
        while len(receiver.requests) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert len(receiver.requests) >= 2, "the delivery was never attempted"
        await asyncio.to_thread(d.kill)  # SIGKILL in the middle of the retry loop
        receiver.faults.clear()  # the receiver comes back while the daemon is down
        await asyncio.to_thread(d.start)
        deadline = time.monotonic() + 60
        while not receiver.unique() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # let any duplicate attempt arrive before counting
        events = [dl.json["type"] for dl in receiver.unique().values()]
        assert events == ["build.completed"]
        deliveries = (await asyncio.to_thread(_get, d.url + "/api/deliveries"))["deliveries"]
        assert [x["status"] for x in deliveries] == ["COMPLETED"]
        assert deliveries[0]["attempt"] >= 2
    finally:
        await receiver.stop()
