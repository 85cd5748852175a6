"""Real peers for notification tests: a Slack-shaped Web API, a webhook receiver and an SMTP server.

Each peer records exactly what it received and can be told to misbehave for the next requests
(``faults``): ``"500"``, ``"429"`` (with ``Retry-After``), ``"hang"`` (never answer, until the
client gives up), ``"close"`` (drop the connection before handling) and ``"close_after"`` (handle
the request, then drop the connection so the client cannot know it arrived). ``stop()`` and
``start()`` on the same port simulate a peer that is down. Reused by the lead's integration tests.

Signature checks here are written from DESIGN section 7 without importing pipeline code, so a bug
in the signer cannot hide behind the same bug in the verifier.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

FAULTS = ("500", "429", "hang", "close", "close_after")


class _HttpPeer:
    """An aiohttp app on 127.0.0.1 with a fault queue and a request log."""

    def __init__(self) -> None:
        self.faults: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self.arrived = asyncio.Queue[dict[str, Any]]()
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._release = asyncio.Event()
        self.hanging = asyncio.Event()
        """Set when a ``hang`` fault holds a request: the moment to kill a client mid-request."""

    def app(self) -> web.Application:
        raise NotImplementedError

    async def start(self) -> None:
        self._release = asyncio.Event()
        self._runner = web.AppRunner(self.app(), handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _fault(self, request: web.Request) -> str | None:
        """Apply the next queued fault; returns ``close_after`` for the handler to finish first."""
        if not self.faults:
            return None
        fault = self.faults.pop(0)
        if fault == "500":
            raise web.HTTPInternalServerError(text="boom")
        if fault == "429":
            raise web.HTTPTooManyRequests(headers={"Retry-After": "7"}, text="slow down")
        if fault == "hang":
            self.hanging.set()
            await self._release.wait()
            raise web.HTTPServiceUnavailable()
        if fault == "close":
            _drop(request)
            raise web.HTTPInternalServerError()
        return fault


def _drop(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


@dataclass
class SlackMessage:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    key: str | None
    updates: list[dict[str, Any]] = field(default_factory=list)


class FakeSlack(_HttpPeer):
    """The part of the Slack Web API pressroom uses: chat.postMessage, chat.update, incoming webhooks."""

    def __init__(self, *, token: str = "xoxb-valid", channels: dict[str, str] | None = None) -> None:
        super().__init__()
        self.token = token
        self.channels = channels or {"#docs": "C0DOCS", "#es-team": "C0ES", "#release": "C0REL"}
        self.messages: list[SlackMessage] = []
        self.webhook_posts: list[dict[str, Any]] = []
        self._seq = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/services/T000/B000/XXXX"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/services/{path:.*}", self._incoming)
        return app

    def by_ts(self, ts: str) -> SlackMessage:
        return next(m for m in self.messages if m.ts == ts)

    def unique(self) -> list[SlackMessage]:
        """Messages deduplicated by the idempotency key pressroom puts in the metadata."""
        seen: dict[str | None, SlackMessage] = {}
        for m in self.messages:
            seen.setdefault(m.key, m)
        return list(seen.values())

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        body = await request.json() if request.can_read_body else {}
        record = {"method": method, "body": body, "auth": request.headers.get("Authorization")}
        self.requests.append(record)
        self.arrived.put_nowait(record)
        fault = await self._fault(request)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        name = str(body.get("channel"))
        channel_id = self.channels.get(name) or (name if name in self.channels.values() else None)
        if channel_id is None:
            return web.json_response({"ok": False, "error": "channel_not_found"})
        if method == "chat.postMessage":
            self._seq += 1
            ts = f"1800000000.{self._seq:06d}"
            if body.get("thread_ts") and not any(m.ts == body["thread_ts"] for m in self.messages):
                return web.json_response({"ok": False, "error": "thread_not_found"})
            meta = (body.get("metadata") or {}).get("event_payload") or {}
            self.messages.append(SlackMessage(channel_id, ts, body.get("text", ""), body.get("blocks") or [],
                                              body.get("thread_ts"), meta.get("idempotency_key")))
            answer = {"ok": True, "channel": channel_id, "ts": ts, "message": {"text": body.get("text")}}
        elif method == "chat.update":
            target = next((m for m in self.messages if m.ts == body.get("ts") and m.channel == channel_id), None)
            if target is None:
                return web.json_response({"ok": False, "error": "message_not_found"})
            target.updates.append({"text": body.get("text"), "blocks": body.get("blocks")})
            target.text, target.blocks = body.get("text", ""), body.get("blocks") or []
            answer = {"ok": True, "channel": channel_id, "ts": target.ts}
        else:
            return web.json_response({"ok": False, "error": "unknown_method"})
        if fault == "close_after":
            _drop(request)
        return web.json_response(answer)

    async def _incoming(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        record = {"method": "incoming-webhook", "body": body, "auth": request.headers.get("Authorization")}
        self.requests.append(record)
        self.arrived.put_nowait(record)
        fault = await self._fault(request)
        self.webhook_posts.append(body)
        if fault == "close_after":
            _drop(request)
        return web.Response(text="ok")


@dataclass
class WebhookDelivery:
    webhook_id: str
    timestamp: str
    signature: str
    body: bytes
    verified: bool

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def verify_signature(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """An independent Standard Webhooks verifier (what a receiver would write from the docs)."""
    msg_id, ts, header = headers.get("webhook-id"), headers.get("webhook-timestamp"), headers.get("webhook-signature")
    if not (msg_id and ts and header):
        return False
    key = base64.b64decode(secret.removeprefix("whsec_")) if secret.startswith("whsec_") else secret.encode("utf-8")
    expected = base64.b64encode(hmac.new(key, msg_id.encode() + b"." + ts.encode() + b"." + body, hashlib.sha256).digest())
    for candidate in header.split(" "):
        version, _, sig = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(sig.encode(), expected):
            return True
    return False


class WebhookReceiver(_HttpPeer):
    """Accepts signed POSTs at ``/hook``; answers 401 to a bad signature, like a careful receiver."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret
        self.deliveries: list[WebhookDelivery] = []
        self.status = 204

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        return app

    def unique(self) -> dict[str, WebhookDelivery]:
        """Verified deliveries deduplicated by ``webhook-id``, as a receiver should."""
        out: dict[str, WebhookDelivery] = {}
        for d in self.deliveries:
            if d.verified:
                out.setdefault(d.webhook_id, d)
        return out

    async def _hook(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        record = {"method": "hook", "headers": headers, "body": body}
        self.requests.append(record)
        self.arrived.put_nowait(record)
        fault = await self._fault(request)
        ok = verify_signature(self.secret, headers, body)
        self.deliveries.append(WebhookDelivery(headers.get("webhook-id", ""), headers.get("webhook-timestamp", ""),
                                               headers.get("webhook-signature", ""), body, ok))
        if fault == "close_after":
            _drop(request)
        if not ok:
            return web.Response(status=401, text="bad signature")
        return web.Response(status=self.status)


class _Recorder:
    """aiosmtpd handler: keeps every accepted message, applies faults at DATA.

    SMTP faults: ``"451"`` (temporary refusal), ``"554"`` (permanent refusal), ``"close"`` (drop before accepting), ``"hang"``,
    ``"close_after"`` (accept, then drop before the client reads ``250``).
    """

    def __init__(self, peer: SmtpPeer) -> None:
        self.peer = peer

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if address in self.peer.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.peer.attempts += 1
        fault = self.peer.faults.pop(0) if self.peer.faults else None
        if fault == "451":
            return "451 4.3.0 try again later"
        if fault == "554":
            return "554 5.7.1 message rejected as spam"
        if fault == "close":
            server.transport.close()
            return "421 closing"
        if fault == "hang":
            await asyncio.Event().wait()  # until the client gives up; Controller.stop() cancels it
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.peer.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message,
                                               session.auth_data,
                                               server.transport.get_extra_info("ssl_object") is not None))
        if fault == "close_after":
            server.transport.close()
        return "250 OK"


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: Any
    tls: bool


class SmtpPeer:
    """aiosmtpd in its own thread on 127.0.0.1: plain, STARTTLS or implicit TLS, optional AUTH."""

    def __init__(self, *, tls: str = "none", server_context: ssl.SSLContext | None = None,
                 auth: tuple[str, str] | None = None) -> None:
        self.tls = tls
        self.server_context = server_context
        self.auth = auth
        self.port = free_port()
        self.faults: list[str] = []
        self.refuse: set[str] = set()
        self.received: list[ReceivedMail] = []
        self.attempts = 0
        self._controller: Controller | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        kwargs: dict[str, Any] = {}
        if self.tls == "starttls":
            kwargs.update(tls_context=self.server_context, require_starttls=True)
        elif self.tls == "implicit":
            kwargs.update(ssl_context=self.server_context)
        if self.auth is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True, auth_require_tls=self.tls == "starttls")
            # aiosmtpd only counts STARTTLS as TLS; over implicit TLS it would hide AUTH.
        self._controller = Controller(_Recorder(self), hostname="127.0.0.1", port=self.port, **kwargs)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def unique(self) -> dict[str, ReceivedMail]:
        out: dict[str, ReceivedMail] = {}
        for mail in self.received:
            out.setdefault(str(mail.message["Message-ID"]), mail)
        return out

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        assert self.auth is not None
        if isinstance(auth_data, LoginPassword) and (auth_data.login.decode(), auth_data.password.decode()) == self.auth:
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
