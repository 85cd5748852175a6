"""Webhook signature checks, one function per provider; each raises ``InvalidSignature``.

All comparisons are constant-time (``hmac.compare_digest``) so a sender cannot learn a valid
signature byte by byte from response times. A secret that is not configured refuses everything:
an unset environment variable must never mean "accept unsigned deliveries".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from pipeline import errors


def _require(secret: str | None, provider: str, env: str) -> str:
    if not secret:
        raise errors.InvalidSignature(f"{provider} webhooks are disabled: the environment variable {env} is not set")
    return secret


def verify_github(secret: str | None, env: str, body: bytes, header: str | None) -> None:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>``."""
    key = _require(secret, "GitHub", env)
    if not header:
        raise errors.InvalidSignature("the X-Hub-Signature-256 header is missing")
    scheme, _, given = header.strip().partition("=")
    if scheme != "sha256" or not given:
        raise errors.InvalidSignature("X-Hub-Signature-256 must look like sha256=<hex digest>")
    expected = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), given.strip().lower().encode()):
        raise errors.InvalidSignature("the X-Hub-Signature-256 signature does not match the body")


def verify_gitlab(token: str | None, env: str, header: str | None) -> None:
    """GitLab sends the shared secret itself in ``X-Gitlab-Token`` (no HMAC)."""
    key = _require(token, "GitLab", env)
    if not header:
        raise errors.InvalidSignature("the X-Gitlab-Token header is missing")
    if not hmac.compare_digest(key.encode(), header.encode()):
        raise errors.InvalidSignature("the X-Gitlab-Token does not match")


def signing_keys(secret: str) -> list[bytes]:
    """Space-separated secrets (rotation); ``whsec_<base64>`` is decoded, anything else is UTF-8."""
    keys = []
    for part in secret.split():
        if part.startswith("whsec_"):
            try:
                keys.append(base64.b64decode(part[len("whsec_"):], validate=True))
            except binascii.Error:
                keys.append(part.encode())
        else:
            keys.append(part.encode())
    return keys


def generic_signature(secret: str, delivery_id: str, timestamp: str, body: bytes) -> list[str]:
    """The ``v1,<base64>`` values a sender with ``secret`` would put in ``webhook-signature``."""
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    return ["v1," + base64.b64encode(hmac.new(k, signed, hashlib.sha256).digest()).decode() for k in signing_keys(secret)]


def verify_generic(secret: str | None, env: str, body: bytes, delivery_id: str | None, timestamp: str | None,
                   header: str | None, *, now: float, window: float) -> None:
    """Standard Webhooks (the format pressroom's own outgoing webhooks use): HMAC of ``id.timestamp.body``."""
    key = _require(secret, "generic", env)
    if not header or not delivery_id or not timestamp:
        raise errors.InvalidSignature("webhook-id, webhook-timestamp and webhook-signature headers are required")
    try:
        ts = int(timestamp)
    except ValueError:
        raise errors.InvalidSignature("webhook-timestamp must be whole seconds since the epoch") from None
    expected = generic_signature(key, delivery_id, timestamp, body)
    given = header.split()
    # Compare every pair so the time taken does not depend on which one matched.
    matched = False
    for g in given:
        for e in expected:
            matched |= hmac.compare_digest(g.encode(), e.encode())
    if not matched:
        raise errors.InvalidSignature("the webhook-signature does not match the body")
    if abs(now - ts) > window:
        raise errors.InvalidSignature(f"webhook-timestamp is more than {window:g} s from the daemon's clock (replay?)")
