"""Outgoing webhooks: a signed JSON POST per delivery (DESIGN section 7).

Signing follows the Standard Webhooks scheme so receivers can use existing libraries:
``webhook-id`` (the delivery's idempotency key, identical on every retry, so receivers deduplicate),
``webhook-timestamp`` (Unix seconds of this attempt, so receivers can refuse replays) and
``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">``. A secret that starts with
``whsec_`` is base64 after the prefix (Standard Webhooks style); any other secret is used as its
UTF-8 bytes. Several space-separated secrets in the variable sign with each (key rotation).

With ``[notify] allow_private_addresses = false`` the host is resolved once, every address is checked
against loopback, private, link-local, shared and reserved ranges, and the connection goes to exactly
the checked addresses, so DNS rebinding between check and connect cannot reach an internal service.
Redirects are never followed for the same reason.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import logging
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from pipeline import config as config_mod
from pipeline.notify import errors, render

logger = logging.getLogger(__name__)
USER_AGENT = "pressroom-webhooks/1"


def signing_keys(secret_value: str) -> list[bytes]:
    keys = []
    for part in secret_value.split():
        keys.append(base64.b64decode(part[len("whsec_"):]) if part.startswith("whsec_") else part.encode())
    return keys


def sign(secret_value: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one attempt."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    sigs = [base64.b64encode(hmac.new(k, signed, hashlib.sha256).digest()).decode() for k in signing_keys(secret_value)]
    return " ".join(f"v1,{s}" for s in sigs)


def hook_for(delivery: dict[str, Any], config: config_mod.Config) -> config_mod.WebhookConfig:
    """The configured webhook this delivery was planned for, found by index and confirmed by URL.

    The URL check matters because a delivery may wait an hour while someone edits the config:
    a renumbered list must not send one receiver's events, signed with its secret, to another.
    """
    hooks = config.notify.webhooks
    url = (delivery.get("payload") or {}).get("url")
    index = delivery.get("target")
    if isinstance(index, int) and 0 <= index < len(hooks) and (url is None or hooks[index].url == url):
        return hooks[index]
    for hook in hooks:
        if url is not None and hook.url == url:
            return hook
    raise errors.PermanentDeliveryError("webhook_not_configured", f"no [[notify.webhooks]] entry with url {url!r} any more")


async def send(
    delivery: dict[str, Any],
    *,
    config: config_mod.Config,
    http: aiohttp.ClientSession | None,
    secrets: list[str],
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    hook = hook_for(delivery, config)
    secret_value = config_mod.secret(hook.secret_env)
    if secret_value is None:
        raise errors.PermanentDeliveryError("secret_missing", f"environment variable {hook.secret_env} is not set ([[notify.webhooks]])")
    host, port = check_url(hook.url)
    body = render.render_webhook(delivery["payload"], config=config, secrets=secrets)
    webhook_id = str(delivery["idempotency_key"])
    timestamp = int(clock())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret_value, webhook_id, timestamp, body),
    }
    own_session: aiohttp.ClientSession | None = None
    if not config.notify.allow_private_addresses:
        addresses = await resolve_public(host, port)
        own_session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=_PinnedResolver(addresses)))
    elif http is None:
        own_session = aiohttp.ClientSession()
    session = own_session or http
    assert session is not None
    try:
        async with asyncio.timeout(hook.timeout):
            async with session.post(hook.url, data=body, headers=headers, allow_redirects=False) as response:
                status = response.status
                retry_after = _retry_after(response.headers.get("Retry-After"))
                await response.read()
    except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
        raise errors.TransientDeliveryError(f"webhook receiver unreachable: {type(exc).__name__}") from None
    finally:
        if own_session is not None:
            await own_session.close()
    if 200 <= status < 300:
        logger.info("webhook sent", extra={"action": "notify_sent", "event": delivery["event"], "webhook_id": webhook_id})
        return {"webhook_id": webhook_id, "status": status}
    if status == 410:
        raise errors.PermanentDeliveryError("webhook_gone", "the receiver answered 410 Gone: remove or fix this webhook")
    raise errors.TransientDeliveryError(f"webhook receiver answered HTTP {status}", retry_after=retry_after)


def check_url(url: str) -> tuple[str, int]:
    """Host and port of an acceptable webhook URL, else a permanent ``bad_url`` error."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise errors.PermanentDeliveryError("bad_url", f"webhook URL is not valid: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise errors.PermanentDeliveryError("bad_url", f"webhook URL must be http(s), got scheme {parts.scheme or '(none)'!r}")
    if not parts.hostname:
        raise errors.PermanentDeliveryError("bad_url", "webhook URL has no host")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


async def resolve_public(host: str, port: int) -> list[ResolveResult]:
    """Resolve ``host`` and refuse it if any address is not a public unicast one."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise errors.TransientDeliveryError(f"cannot resolve webhook host {host!r}: {exc.strerror}") from None
    results: list[ResolveResult] = []
    for family, _type, proto, _name, sockaddr in infos:
        address = str(sockaddr[0])
        if forbidden(address):
            raise errors.PermanentDeliveryError(
                "forbidden_address",
                f"webhook host {host!r} resolves to {address}, a private or reserved address "
                "([notify] allow_private_addresses = false)",
            )
        results.append(ResolveResult(hostname=host, host=address, port=port, family=family, proto=proto,
                                     flags=socket.AI_NUMERICHOST))
    if not results:
        raise errors.TransientDeliveryError(f"webhook host {host!r} has no addresses")
    return results


class _PinnedResolver(AbstractResolver):
    """Hands aiohttp the addresses that were already checked, so it cannot resolve anew."""

    def __init__(self, results: list[ResolveResult]) -> None:
        self._results = results

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        return [r for r in self._results if family in (socket.AF_UNSPEC, r["family"])] or list(self._results)

    async def close(self) -> None:
        return None


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
