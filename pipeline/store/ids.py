"""Job ids: a short kind prefix plus a time-ordered ULID, readable in logs and sortable."""

from __future__ import annotations

import os
import secrets
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = {
    "build": "bld",
    "translate": "trn",
    "audit": "aud",
    "promote": "prm",
    "deliver": "dlv",
    "maintenance": "mnt",
}
_lock = threading.Lock()
_last = (0, 0)


def _encode(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def ulid() -> str:
    """A monotonic ULID: ids made in one process in the same millisecond still sort in order."""
    global _last
    with _lock:
        ms = int(time.time() * 1000)
        last_ms, last_rand = _last
        rand = last_rand + 1 if ms <= last_ms else int.from_bytes(os.urandom(10), "big") >> 1
        ms = max(ms, last_ms)
        _last = (ms, rand)
    return _encode(ms, 10) + _encode(rand & ((1 << 80) - 1), 16)


def new_id(kind: str) -> str:
    return f"{PREFIX.get(kind, kind[:3])}_{ulid()}"


def new_token() -> str:
    return secrets.token_urlsafe(24)
