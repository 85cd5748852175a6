"""Per-job callbacks against the real daemon: SSRF refusals, a signed delivery retried until the
receiver comes back, the state listed in the job's status, and ``pressroom submit --callback``.

Signatures are checked with the ``standardwebhooks`` package, not with pressroom's signer."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from standardwebhooks.webhooks import Webhook

from pipeline.testing import DaemonProcess
from tests.conftest import make_tree, tar_gz

pytestmark = pytest.mark.slow
FAST_NOTIFY = "\n[notify]\nbackoff_base = 0.05\nbackoff_max = 0.3\nmax_attempts = 200\n"
GZ = {"Content-Type": "application/gzip"}


class Receiver:
    """A callback receiver on 127.0.0.1 that can be stopped and started again on the same port."""

    def __init__(self) -> None:
        self.port = 0
        self.arrived: asyncio.Queue[tuple[str, bytes, dict[str, str]]] = asyncio.Queue()
        self._runner: web.AppRunner | None = None

    async def _hook(self, request: web.Request) -> web.Response:
        await self.arrived.put((request.path, await request.read(), dict(request.headers)))
        if request.path == "/redirect":
            raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")
        return web.Response(text="x" * 1_000_000)  # more than the daemon reads

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._hook)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def pressroom(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PRESSROOM_")}
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True,
                          env={**base, **env}, timeout=120)


def allow(d: DaemonProcess, ranges: list[str]) -> None:
    text = d.config.read_text()
    d.config.write_text(text.replace("[server]\n", f"[server]\ncallback_allow = {json.dumps(ranges)}\n", 1))


async def poll(session: aiohttp.ClientSession, url: str, check: Any, what: str, limit: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while True:
        async with session.get(url) as resp:
            body: dict[str, Any] = await resp.json()
        if check(body):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {body}")
        await asyncio.sleep(0.1)


async def test_private_callback_urls_are_refused_without_callback_allow(daemon: Any, tmp_path: Path) -> None:
    d = daemon(workers=1)
    d.start()
    refused = ["http://127.0.0.1:9/hook", "http://[::1]/hook", "http://169.254.169.254/latest", "http://10.1.2.3/",
               "http://localhost/", "ftp://example.com/", "http://user:pw@127.0.0.1/", "file:///etc/passwd", "not a url"]
    async with aiohttp.ClientSession() as session:
        for url in refused:
            async with session.post(d.url + "/api/builds", data=tar_gz({"en/index.md": "# Hi"}),
                                    headers={**GZ, "Callback-URL": url}) as resp:
                body = await resp.json()
                assert resp.status == 400, (url, body)
                assert body["error"]["code"] == "callback_not_allowed", (url, body)
        async with session.post(d.url + "/api/builds", json={"source": {"path": str(tmp_path)},
                                                              "callback_url": "http://192.168.1.1/x"}) as resp:
            assert resp.status == 400 and (await resp.json())["error"]["code"] == "callback_not_allowed"
        async with session.get(d.url + "/api/builds?kind=build") as resp:
            assert (await resp.json())["jobs"] == []  # nothing was stored for a refused request
    site = make_tree(tmp_path / "docs", {"en/index.md": "# Hi\n"})
    cli = pressroom("submit", str(site), "--callback", "http://10.0.0.1/hook", env={"PRESSROOM_SERVER": d.url})
    assert cli.returncode != 0 and "callback_not_allowed" in cli.stderr, cli.stdout + cli.stderr


async def test_callback_is_signed_retried_until_the_receiver_is_back_and_listed(daemon: Any, tmp_path: Path) -> None:
    receiver = Receiver()
    await receiver.start()
    await receiver.stop()  # the port is known, nobody listens yet
    d = daemon(workers=1, extra=FAST_NOTIFY)
    allow(d, ["127.0.0.0/8"])
    d.start()
    site = make_tree(tmp_path / "docs", {"en/index.md": "# Hello\n"})
    hook = f"http://127.0.0.1:{receiver.port}/hook?token=abc"
    cli = await asyncio.to_thread(pressroom, "submit", str(site), "--callback", hook, env={"PRESSROOM_SERVER": d.url})
    assert cli.returncode == 0, cli.stdout + cli.stderr
    job_id, secret_line = cli.stdout.splitlines()[:2]
    secret = secret_line.removeprefix("callback secret: ")
    assert secret.startswith("whsec_")
    status_url = f"{d.url}/api/builds/{job_id}/status"
    async with aiohttp.ClientSession() as session:
        # The receiver is down: the delivery has failed at least once and waits for its next attempt.
        st = await poll(session, status_url, lambda b: b["status"] == "COMPLETED" and b.get("callback", {}).get("deliveries")
                        and b["callback"]["deliveries"][0]["attempt"] >= 2, "a failed callback attempt")
        cb = st["callback"]
        assert cb["url"] == hook and cb["events"] == ["build.completed", "build.failed", "build.cancelled"]
        assert cb["deliveries"][0]["status"] != "COMPLETED" and not cb["deliveries"][0]["dead"]
        await receiver.start()
        try:
            path, body, headers = await asyncio.wait_for(receiver.arrived.get(), 60)
            assert path == "/hook"
            event = Webhook(secret).verify(body, headers)  # raises on a bad signature
            assert event["type"] == "build.completed" and event["data"]["job_id"] == job_id
            assert event["data"]["status"] == "COMPLETED"
            with pytest.raises(Exception):  # noqa: B017 - any verification error will do
                Webhook("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB").verify(body, headers)
            st = await poll(session, status_url, lambda b: b["callback"]["deliveries"][0]["status"] == "COMPLETED",
                            "the callback delivery to complete")
            assert len(st["callback"]["deliveries"]) == 1
            # A receiver answering with a redirect is not followed (it points at a metadata address).
            async with session.post(d.url + "/api/builds", data=tar_gz({"en/index.md": "# Other"}),
                                    headers={**GZ, "Callback-URL": f"http://127.0.0.1:{receiver.port}/redirect"}) as resp:
                assert resp.status == 202
                second = await resp.json()
            assert second["callback"]["secret"].startswith("whsec_") and second["callback"]["secret"] != secret
            st = await poll(session, f"{d.url}/api/builds/{second['job_id']}/status",
                            lambda b: (b.get("callback") or {}).get("deliveries") and b["callback"]["deliveries"][0]["dead"],
                            "the redirected callback to be dead-lettered")
            assert st["callback"]["deliveries"][0]["error"]["code"] == "callback_redirected"
            arrived = [receiver.arrived.get_nowait()[0] for _ in range(receiver.arrived.qsize())]
            assert arrived == ["/redirect"]
            # The secret is never shown again, logged or stored.
            async with session.get(status_url) as resp:
                assert secret not in await resp.text()
        finally:
            await receiver.stop()
    d.stop()
    assert secret not in d.log.read_text()
    for db in (tmp_path / "data").glob("pressroom.db*"):
        assert secret.encode() not in db.read_bytes()
