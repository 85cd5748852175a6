"""A LibreTranslate stub on 127.0.0.1 that records every string it receives and misbehaves on
request (placeholders dropped, HTTP 500, a busy answer, no answer, a short answer)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Stub:
    """What the fake provider received, and how it misbehaves."""

    mode: str = "ok"
    received: list[str] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    release: asyncio.Event = field(default_factory=asyncio.Event)


def fake_translate(s: str, mode: str) -> str:
    out = "DE " + s.upper()
    if mode == "drop_placeholders":
        out = re.sub(r"\{\d+\}", "", out)
    return out


@contextlib.asynccontextmanager
async def stub_server(stub: Stub) -> AsyncIterator[Stub]:
    async def translate(request: web.Request) -> web.Response:
        body = await request.json()
        stub.bodies.append(body)
        stub.received.extend(body["q"])
        if stub.mode == "busy_once" and len(stub.bodies) == 1:
            return web.json_response({"error": "slow down"}, status=503, headers={"Retry-After": "0"})
        if stub.mode == "500":
            return web.json_response({"error": "internal trouble"}, status=500)
        if stub.mode == "slow":
            await stub.release.wait()  # answers only once the test is over
        if stub.mode == "short":
            return web.json_response({"translatedText": body["q"][:-1]})
        return web.json_response({"translatedText": [fake_translate(s, stub.mode) for s in body["q"]]})

    app = web.Application()
    app.router.add_post("/translate", translate)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    stub.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield stub
    finally:
        stub.release.set()
        await runner.cleanup()
