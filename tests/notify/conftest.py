"""Fixtures that start real notification peers on 127.0.0.1 and build matching configs."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
import trustme

from tests.notify import peers
from tests.notify.helpers import SLACK_TOKEN, SMTP_PASSWORD, SMTP_USER, WEBHOOK_SECRET


@pytest.fixture(autouse=True)
def notify_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_SLACK_TOKEN", SLACK_TOKEN)
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("TEST_SMTP_USER", SMTP_USER)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", SMTP_PASSWORD)


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_tls(tls_ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    return ctx


@pytest.fixture
def ca_file(tls_ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
async def fake_slack() -> AsyncIterator[peers.FakeSlack]:
    peer = peers.FakeSlack(token=SLACK_TOKEN)
    await peer.start()
    yield peer
    await peer.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[peers.WebhookReceiver]:
    peer = peers.WebhookReceiver(WEBHOOK_SECRET)
    await peer.start()
    yield peer
    await peer.stop()


@pytest.fixture
def smtp_factory(server_tls: ssl.SSLContext) -> Iterator[Callable[..., peers.SmtpPeer]]:
    started: list[peers.SmtpPeer] = []

    def make(*, tls: str = "none", auth: bool = False, start: bool = True) -> peers.SmtpPeer:
        peer = peers.SmtpPeer(tls=tls, server_context=server_tls if tls != "none" else None,
                              auth=(SMTP_USER, SMTP_PASSWORD) if auth else None)
        if start:
            peer.start()
        started.append(peer)
        return peer

    yield make
    for peer in started:
        peer.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
