"""Per-job callbacks: the client that submitted a build is told its result at a URL it chose.

A callback is registered with the job (``callback_url`` and ``callback_events`` on ``POST
/api/builds``) and kept in the job's payload. Each registered event becomes a ``deliver`` job in
the transaction of the transition, like every notification, so it is retried with the notify
backoff, dead-lettered after ``[notify] max_attempts`` and replayable from ``/api/deliveries``.

The URL is chosen by whoever holds a ``submit`` token, so it is hostile input aimed at the
daemon's network position (SSRF). It must be http(s) without credentials; its host is resolved
and every address must be public unless ``[server] callback_allow`` opens its range; the check
runs when the job is submitted (``400 callback_not_allowed``) and again on every attempt, and the
connection goes to exactly the addresses just checked (so DNS rebinding between check and connect
reaches nothing new). Redirects are never followed, and at most :data:`MAX_RESPONSE_BYTES` of a
reply are read.

Bodies are signed as Standard Webhooks (:func:`pipeline.notify.webhook.sign`). The secret is the
submitting token's ``callback_secret_env`` when set, else one per job, derived from a daemon key
(``[server] callback_secret_env`` or ``<data_dir>/callback.key``) so it is never stored: the submit
response shows it once and every daemon sharing the key can sign a retry.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import secrets as secrets_mod
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import ResolveResult

from pipeline import config as config_mod
from pipeline import errors as api_errors
from pipeline.notify import errors, router, webhook
from pipeline.redact import redact_url
from pipeline.store import JobSpec, Transition

logger = logging.getLogger(__name__)
USER_AGENT = "pressroom-callbacks/1"
EVENTS = ("build.started", "build.completed", "build.failed", "build.cancelled")
"""What a callback may subscribe to."""
DEFAULT_EVENTS = ("build.completed", "build.failed", "build.cancelled")
"""The terminal events, registered when ``callback_events`` is not sent."""
MAX_RESPONSE_BYTES = 64 * 1024
"""Most of a receiver's reply that is read; nothing in it is used, so a huge body costs nothing."""
TIMEOUT = 10.0
MAX_URL = 2048
KEY_FILE = "callback.key"
CHANNEL = "callback"


def parse_events(value: Any) -> list[str]:
    """``callback_events`` as sent (a list, or a comma-separated header string), checked."""
    if value is None:
        return list(DEFAULT_EVENTS)
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        raise api_errors.BadRequest("callback_events must be a non-empty list of event names", field="callback_events")
    events = [i.strip() for i in items]
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        raise api_errors.BadRequest(f"unknown callback event {unknown[0]!r}; known: {', '.join(EVENTS)}",
                                    field="callback_events")
    return list(dict.fromkeys(events))


def split_url(url: str) -> tuple[str, int]:
    """Host and port of an acceptable callback URL; :class:`ValueError` says what is wrong."""
    if len(url) > MAX_URL:
        raise ValueError(f"the callback URL is longer than {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"the callback URL is not valid: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"the callback URL must be http or https, not {parts.scheme or '(no scheme)'!r}")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the callback URL must not carry credentials (user:pass@); put a token in its path or query")
    if not parts.hostname:
        raise ValueError("the callback URL has no host")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def allowed(address: str, cfg: config_mod.Config) -> bool:
    """A public unicast address, or one inside a ``[server] callback_allow`` range."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip.version == net.version and ip in net for net in cfg.server.callback_networks):
        return True
    return not webhook.forbidden(str(ip))


async def resolve_checked(url: str, cfg: config_mod.Config) -> list[ResolveResult]:
    """Every address of the URL's host, each checked; :class:`ValueError` names the refused one.

    :class:`OSError` means the name did not resolve (a transient state for a retry).
    """
    host, port = split_url(url)
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    results: list[ResolveResult] = []
    for family, _type, proto, _name, sockaddr in infos:
        address = str(sockaddr[0])
        if not allowed(address, cfg):
            raise ValueError(f"the callback host {host!r} resolves to {address}, a loopback, private, link-local or "
                             "reserved address that [server] callback_allow does not open")
        results.append(ResolveResult(hostname=host, host=address, port=port, family=family, proto=proto,
                                     flags=socket.AI_NUMERICHOST))
    if not results:
        raise OSError(f"the callback host {host!r} has no addresses")
    return results


async def register(cfg: config_mod.Config, url: Any, events: Any, token_name: str) -> dict[str, Any]:
    """The callback record stored in a job's payload, or ``400 callback_not_allowed``."""
    if not isinstance(url, str) or not url.strip():
        raise api_errors.CallbackNotAllowed("callback_url must be an http(s) URL", field="callback_url")
    url = url.strip()
    try:
        await resolve_checked(url, cfg)
    except ValueError as exc:
        raise api_errors.CallbackNotAllowed(str(exc), field="callback_url") from None
    except OSError:
        raise api_errors.CallbackNotAllowed("the callback host does not resolve", field="callback_url") from None
    token = next((t for t in cfg.server.tokens if t.name == token_name and t.callback_secret_env), None)
    return {"url": url, "events": parse_events(events),
            "signing": {"token": token.name} if token is not None else {"job": True}}


def daemon_key(cfg: config_mod.Config) -> bytes:
    """The key per-job secrets derive from: the configured one, else a random one kept 0600 in data_dir."""
    configured = config_mod.secret(cfg.server.callback_secret_env)
    if configured:
        return configured.encode()
    path = Path(cfg.data_path) / KEY_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets_mod.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another daemon or request wrote it first: use theirs
        return path.read_bytes()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


def job_secret(cfg: config_mod.Config, job_id: str) -> str:
    """The job's own signing secret, ``whsec_<base64>`` as Standard Webhooks libraries expect."""
    raw = hmac.new(daemon_key(cfg), f"pressroom-callback:{job_id}".encode(), hashlib.sha256).digest()
    return "whsec_" + base64.b64encode(raw).decode()


def signing_secret(cfg: config_mod.Config, job_id: str, signing: dict[str, Any]) -> str:
    name = signing.get("token")
    if name is None:
        return job_secret(cfg, job_id)
    token = next((t for t in cfg.server.tokens if t.name == name), None)
    value = config_mod.secret(token.callback_secret_env) if token is not None else None
    if value is None:
        raise errors.PermanentDeliveryError(
            "secret_missing", f"token {name!r} has no callback_secret_env set in its environment ([[server.tokens]])")
    return value


def wanted(t: Transition) -> bool:
    """Whether this transition's job registered a callback for its event."""
    callback = (t.job.payload or {}).get("callback")
    return isinstance(callback, dict) and t.event in callback.get("events", ())


def plan(cfg: config_mod.Config, t: Transition, job_view: dict[str, Any]) -> list[JobSpec]:
    """The callback delivery one transition causes (pure; runs inside the transition's transaction).

    ``job_view`` is the job's status dict (the body's ``data``): the caller builds it, since the
    status contract lives in ``pipeline.jobs``, which imports this package.
    """
    if not wanted(t):
        return []
    job, event = t.job, t.event
    callback = dict((job.payload or {})["callback"])
    public = (cfg.server.public_url or f"http://{cfg.server.host}:{cfg.server.port}").rstrip("/")
    data = router.scrub(job_view)
    for key in ("artifacts", "links", "live_url", "live_urls"):
        if key in data:
            data[key] = router.absolute(data[key], public)
    body = {"type": event, "timestamp": job_view.get("finished_at") or job_view.get("started_at"), "data": data}
    digest = hashlib.sha256(json.dumps([job.id, event, job.attempt, job.finished_at]).encode()).hexdigest()[:20]
    key = f"{key_prefix(job.id)}{digest}"
    delivery = {"channel": CHANNEL, "target": job.id, "event": event, "thread_key": job.id, "idempotency_key": key,
                "callback": {"url": callback.get("url"), "signing": callback.get("signing") or {"job": True}},
                "payload": json.loads(json.dumps(body, default=str))}
    return [JobSpec(kind="deliver", idempotency_key=key, payload=delivery,
                    priority=cfg.workers.priorities.get("deliver", 60), max_attempts=cfg.notify.max_attempts,
                    trigger={"kind": "event", "job_id": job.id, "event": event})]


def key_prefix(job_id: str) -> str:
    """Every callback delivery of a job has an idempotency key with this prefix (the status lists them)."""
    return f"cb_{job_id}_"


async def send(delivery: dict[str, Any], *, cfg: config_mod.Config, clock: Callable[[], float] = time.time) -> dict[str, Any]:
    """One attempt; raises the notify package's transient or permanent delivery errors."""
    callback = delivery.get("callback") or {}
    url = callback.get("url")
    if not isinstance(url, str):
        raise errors.PermanentDeliveryError("callback_missing", "the job has no callback registered any more")
    try:
        addresses = await resolve_checked(url, cfg)
    except ValueError as exc:
        raise errors.PermanentDeliveryError("forbidden_address", str(exc)) from None
    except OSError as exc:
        raise errors.TransientDeliveryError(f"cannot resolve the callback host: {exc.strerror or exc}") from None
    job_id = str(delivery["target"])
    secret = signing_secret(cfg, job_id, callback.get("signing") or {"job": True})
    body = json.dumps(delivery["payload"], separators=(",", ":")).encode()
    webhook_id = str(delivery["idempotency_key"])
    timestamp = int(clock())
    headers = {"content-type": "application/json", "user-agent": USER_AGENT, "webhook-id": webhook_id,
               "webhook-timestamp": str(timestamp),
               "webhook-signature": webhook.sign(secret, webhook_id, timestamp, body)}
    connector = aiohttp.TCPConnector(resolver=webhook._PinnedResolver(addresses))
    try:
        async with (aiohttp.ClientSession(connector=connector) as session, asyncio.timeout(TIMEOUT),
                    session.post(url, data=body, headers=headers, allow_redirects=False) as response):
            status = response.status
            retry_after = response.headers.get("Retry-After")
            await response.content.read(MAX_RESPONSE_BYTES)
    except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
        raise errors.TransientDeliveryError(f"callback receiver unreachable: {type(exc).__name__}") from None
    if 200 <= status < 300:
        logger.info("callback sent", extra={"action": "notify_sent", "event": delivery.get("event"), "webhook_id": webhook_id})
        return {"webhook_id": webhook_id, "status": status}
    if 300 <= status < 400:
        raise errors.PermanentDeliveryError("callback_redirected", f"the callback receiver answered HTTP {status}; "
                                            "redirects are not followed: register the final URL")
    if status == 410:
        raise errors.PermanentDeliveryError("webhook_gone", "the callback receiver answered 410 Gone")
    try:
        delay = float(retry_after) if retry_after else None
    except ValueError:
        delay = None
    raise errors.TransientDeliveryError(f"callback receiver answered HTTP {status}", retry_after=delay)


def status_view(callback: dict[str, Any], deliveries: list[Any]) -> dict[str, Any]:
    """What a job's status shows of its callback: where (redacted), which events, each delivery's state."""
    return {
        "url": redact_url(str(callback.get("url", ""))),
        "events": list(callback.get("events") or []),
        "deliveries": [{"delivery_id": d.id, "event": (d.payload or {}).get("event"), "status": d.status,
                        "attempt": d.attempt, "dead": d.dead,
                        "error": {"code": d.error_code, "message": d.error_message} if d.error_code else None}
                       for d in deliveries],
    }
