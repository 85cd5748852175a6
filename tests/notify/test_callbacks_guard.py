"""The callback channel on its own: which addresses it may reach, what it refuses, how it signs
with a token's secret, and that it reads only a bounded part of a reply.

Signatures are checked with the ``standardwebhooks`` package, not with pressroom's signer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from standardwebhooks.webhooks import Webhook

from pipeline import errors as api_errors
from pipeline.notify import callbacks, errors
from pipeline.store import Job, Transition

TOKEN_SECRET = "whsec_" + "c2VjcmV0LW9mLXRoZS1jaS10b2tlbi0xMjM0NTY3OA=="


@pytest.mark.parametrize(("address", "allow", "ok"), [
    ("93.184.216.34", [], True),
    ("2606:2800:220:1:248:1893:25c8:1946", [], True),
    ("127.0.0.1", [], False),
    ("::1", [], False),
    ("::ffff:127.0.0.1", [], False),
    ("169.254.169.254", [], False),
    ("10.1.2.3", [], False),
    ("172.16.0.1", [], False),
    ("192.168.0.1", [], False),
    ("100.64.0.1", [], False),
    ("0.0.0.0", [], False),
    ("fe80::1", [], False),
    ("fd00::1", [], False),
    ("224.0.0.1", [], False),
    ("10.1.2.3", ["10.0.0.0/8"], True),
    ("10.1.2.3", ["10.2.0.0/16"], False),
    ("127.0.0.1", ["127.0.0.0/8"], True),
    ("::1", ["127.0.0.0/8"], False),
])
def test_only_public_or_opened_addresses_are_allowed(make_config: Any, address: str, allow: list[str], ok: bool) -> None:
    cfg = make_config(server={"callback_allow": allow})
    assert callbacks.allowed(address, cfg) is ok


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "javascript:alert(1)", "http://", "https://u:p@example.com/",
                                 "http://example.com:99999/", "http://example.com/" + "a" * 3000])
def test_bad_urls_are_refused_with_a_reason(url: str) -> None:
    with pytest.raises(ValueError, match="callback URL"):
        callbacks.split_url(url)


async def test_register_refuses_bad_events_and_private_hosts(make_config: Any) -> None:
    cfg = make_config()
    with pytest.raises(api_errors.CallbackNotAllowed, match="169.254.169.254"):
        await callbacks.register(cfg, "http://169.254.169.254/", None, "anonymous")
    with pytest.raises(api_errors.BadRequest, match="unknown callback event"):
        await callbacks.register(make_config(server={"callback_allow": ["127.0.0.0/8"]}), "http://127.0.0.1/", ["build.*"], "x")


async def test_a_tokens_secret_signs_and_only_part_of_a_huge_reply_is_read(
        make_config: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_CI_CALLBACK_SECRET", TOKEN_SECRET)
    cfg = make_config(server={"callback_allow": ["127.0.0.0/8"], "tokens": [
        {"name": "ci", "token_env": "TEST_CI_TOKEN", "scopes": ["submit"], "callback_secret_env": "TEST_CI_CALLBACK_SECRET"}]})
    got: list[tuple[bytes, dict[str, str]]] = []
    sent = 0

    async def hook(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        got.append((await request.read(), dict(request.headers)))
        resp = web.StreamResponse()
        await resp.prepare(request)
        try:
            for _ in range(2000):  # up to 128 MB; the client stops reading after 64 KiB
                await resp.write(b"x" * 65536)
                sent += 65536
        except (ConnectionError, RuntimeError):
            pass
        return resp

    app = web.Application()
    app.router.add_post("/cb", hook)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        record = await callbacks.register(cfg, f"http://127.0.0.1:{port}/cb", ["build.completed"], "ci")
        assert record["signing"] == {"token": "ci"}
        job = Job(id="bld_1", kind="build", status="COMPLETED", attempt=1, finished_at=1.0, payload={"callback": record})
        specs = callbacks.plan(cfg, Transition(job=job, stages=[], previous_status=None, event="build.completed"),
                               {"job_id": "bld_1", "status": "COMPLETED", "finished_at": "2026-01-01T00:00:00Z"})
        assert len(specs) == 1 and specs[0].idempotency_key.startswith(callbacks.key_prefix("bld_1"))
        assert not callbacks.plan(cfg, Transition(job=job, stages=[], previous_status=None, event="build.failed"), {})
        result = await callbacks.send(specs[0].payload, cfg=cfg)
        assert result["status"] == 200
        body, headers = got[0]
        assert Webhook(TOKEN_SECRET).verify(body, headers)["data"]["job_id"] == "bld_1"
        await asyncio.sleep(0)
        assert sent < 2000 * 65536  # the server was cut off long before it finished
        monkeypatch.delenv("TEST_CI_CALLBACK_SECRET")
        with pytest.raises(errors.PermanentDeliveryError) as info:
            await callbacks.send(specs[0].payload, cfg=cfg)
        assert info.value.code == "secret_missing"
    finally:
        await runner.cleanup()


async def test_a_token_with_its_own_secret_gets_no_secret_in_the_answer(
        aiohttp_client: Any, make_config: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.app import create_app
    from tests.conftest import tar_gz

    monkeypatch.setenv("TEST_CI_TOKEN", "ci-token-123456")
    monkeypatch.setenv("TEST_ADMIN_TOKEN", "admin-token-123456")
    monkeypatch.setenv("TEST_CI_CALLBACK_SECRET", TOKEN_SECRET)
    cfg = make_config(server={"auth": "token", "callback_allow": ["127.0.0.0/8"], "tokens": [
        {"name": "ci", "token_env": "TEST_CI_TOKEN", "scopes": ["submit"], "callback_secret_env": "TEST_CI_CALLBACK_SECRET"},
        {"name": "admin", "token_env": "TEST_ADMIN_TOKEN", "scopes": ["admin"]}]})
    client = await aiohttp_client(create_app(cfg))
    headers = {"Content-Type": "application/gzip", "Callback-URL": "http://127.0.0.1:9/cb",
               "Callback-Events": "build.failed"}
    resp = await client.post("/api/builds", data=tar_gz({"en/index.md": "# a"}),
                             headers={**headers, "Authorization": "Bearer ci-token-123456"})
    body = await resp.json()
    assert resp.status == 202 and body["callback"] == {"url": "http://127.0.0.1:9/cb", "events": ["build.failed"],
                                                       "signing": "token"}
    resp = await client.post("/api/builds", data=tar_gz({"en/index.md": "# b"}),
                             headers={**headers, "Authorization": "Bearer admin-token-123456"})
    own = (await resp.json())["callback"]
    assert own["signing"] == "job" and own["secret"] == callbacks.job_secret(cfg, (await resp.json())["job_id"])
    bad = await client.post("/api/builds", data=tar_gz({"en/index.md": "# c"}),
                            headers={**headers, "Callback-Events": "build.*", "Authorization": "Bearer admin-token-123456"})
    assert bad.status == 400 and (await bad.json())["error"]["details"]["field"] == "callback_events"
