"""A small async client for the daemon's API, used by the CLI (and handy in scripts).

Failures come out as two exceptions: :class:`ApiError` when the daemon answered with an error,
:class:`DaemonUnreachable` when no answer came. The CLI gives each its own exit code.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from pipeline.intake.snapshot import IGNORED_NAMES, is_temp_file


class ApiError(Exception):
    """The daemon answered with an HTTP error; ``code`` is the API's error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message} (HTTP {status})")
        self.status = status
        self.code = code


class DaemonUnreachable(Exception):
    """No daemon accepted the connection, or it closed the connection before answering."""


def pack_folder(path: Path) -> bytes:
    """tar.gz a docs folder the way the daemon snapshots one (no VCS folders, no editor temp files)."""
    buf = io.BytesIO()

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        name = Path(info.name).name
        if name in IGNORED_NAMES or is_temp_file(name):
            return None
        return info

    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for child in sorted(path.iterdir()):
            tar.add(child, arcname=child.name, filter=keep)
    return buf.getvalue()


class Client:
    """One session to the daemon at ``server``; use as ``async with Client(server, token) as c``."""

    def __init__(self, server: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.server = server.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=None)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Client:
        self._session = aiohttp.ClientSession(headers=self.headers, timeout=self.timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "use `async with Client(...)`"
        return self._session

    async def _json(self, resp: aiohttp.ClientResponse) -> Any:
        text = await resp.text()
        try:
            body = json.loads(text) if text else {}
        except json.JSONDecodeError:
            body = {"error": {"code": "bad_response", "message": text[:200]}}
        if resp.status >= 400:
            e = body.get("error", {}) if isinstance(body, dict) else {}
            raise ApiError(resp.status, e.get("code", "http_error"), e.get("message", text[:200]))
        return body

    async def request(self, method: str, path: str, **kw: Any) -> Any:
        try:
            async with self.session.request(method, self.server + path, **kw) as resp:
                return await self._json(resp)
        except aiohttp.ClientConnectionError as exc:
            raise DaemonUnreachable(str(exc)) from exc

    async def submit_bytes(self, data: bytes, *, idempotency_key: str | None = None, branch: str | None = None,
                           content_type: str = "application/gzip", callback: str | None = None,
                           callback_events: list[str] | None = None) -> dict[str, Any]:
        headers = {"Content-Type": content_type}
        if callback:
            headers["Callback-URL"] = callback
        if callback_events:
            headers["Callback-Events"] = ",".join(callback_events)
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        params = {"branch": branch} if branch else {}
        return await self.request("POST", "/api/builds", data=data, headers=headers, params=params)  # type: ignore[no-any-return]

    async def submit_path(self, path: Path, **kw: Any) -> dict[str, Any]:
        if path.is_dir():
            return await self.submit_bytes(pack_folder(path), **kw)
        ctype = "application/zip" if path.suffix == ".zip" else "application/gzip"
        return await self.submit_bytes(path.read_bytes(), content_type=ctype, **kw)

    async def status(self, job_id: str) -> dict[str, Any]:
        return await self.request("GET", f"/api/builds/{job_id}/status")  # type: ignore[no-any-return]

    async def events(self, job_id: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Yield (event name, data) from the job's SSE stream until it ends."""
        try:
            async with self.session.get(f"{self.server}/api/builds/{job_id}/events") as resp:
                if resp.status >= 400:
                    await self._json(resp)
                event, data = "message", list[str]()
                async for raw in resp.content:
                    line = raw.decode("utf-8").rstrip("\r\n")
                    if not line:
                        if data:
                            yield event, json.loads("\n".join(data))
                        event, data = "message", []
                        continue
                    if line.startswith(":"):
                        continue
                    key, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if key == "event":
                        event = value
                    elif key == "data":
                        data.append(value)
        except aiohttp.ClientConnectionError as exc:
            raise DaemonUnreachable(str(exc)) from exc


async def call(server: str, token: str | None, method: str, path: str, **kw: Any) -> Any:
    """One request on its own session: what a command that makes a single call needs."""
    async with Client(server, token) as c:
        return await c.request(method, path, **kw)
