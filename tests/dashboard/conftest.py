"""A real daemon on a real port, driven by Debian's chromium through Playwright's async API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from pipeline.app import create_app
from pipeline.jobs import kinds
from tests.browser import chromium
from tests.dashboard.helpers import (
    ADMIN_TOKEN,
    READ_TOKEN,
    SUBMIT_TOKEN,
    TOKENS,
    BuildControl,
    Daemon,
)


@pytest.fixture
def tokens_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASH_TEST_ADMIN", ADMIN_TOKEN)
    monkeypatch.setenv("DASH_TEST_SUBMIT", SUBMIT_TOKEN)
    monkeypatch.setenv("DASH_TEST_READ", READ_TOKEN)


@pytest.fixture
async def daemon_factory(make_config: Callable[..., Any], tokens_env: None) -> AsyncIterator[Callable[..., Awaitable[Daemon]]]:
    """Start ``create_app`` on 127.0.0.1 with an ephemeral port; ``auth="token"`` adds test tokens."""
    runners: list[tuple[web.AppRunner, BuildControl]] = []

    async def start(*, auth: str = "none", workers: int = 1, **sections: Any) -> Daemon:
        server: dict[str, Any] = {"auth": auth}
        if auth == "token":
            server["tokens"] = TOKENS
        control = BuildControl()
        cfg = make_config(server=server, workers={"count": workers, "concurrency": {"build": workers}}, **sections)
        app = create_app(cfg, worker_handlers={**kinds.HANDLERS, "build": control.handle})
        runner = web.AppRunner(app, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append((runner, control))
        port = runner.addresses[0][1]
        return Daemon(app=app, url=f"http://127.0.0.1:{port}", control=control)

    yield start
    for runner, control in reversed(runners):
        control.release_all()
        await runner.cleanup()


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Any]:
    async with chromium(tmp_path) as b:
        yield b


