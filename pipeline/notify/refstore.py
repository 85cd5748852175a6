"""The small key-value memory a delivery needs across attempts, daemons and restarts.

The lead's job store implements :class:`RefStore` (one row per key); :mod:`pipeline.notify.testing`
has an in-memory one. Keys used by the channels:

* ``slack.thread:<channel>:<thread_key>``: JSON ``{"channel": <ID Slack answered>, "ts": ..., "rank": n}``
  of the build's thread parent in that channel;
* ``email.thread:<recipients hash>:<thread_key>``: the ``Message-ID`` of the first mail of a build
  to those recipients, which later mails name in ``In-Reply-To``/``References``.

``set`` overwrites; values are short strings. Writes must be durable before ``set`` returns, or a
restart may start a second Slack thread for the same build.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from typing import Protocol

_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


class RefStore(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str) -> None: ...


def slack_thread_key(channel: str, thread_key: str) -> str:
    return f"slack.thread:{channel}:{thread_key}"


def email_thread_key(recipients: list[str], thread_key: str) -> str:
    digest = hashlib.sha256(",".join(sorted(a.lower() for a in recipients)).encode()).hexdigest()[:16]
    return f"email.thread:{digest}:{thread_key}"


def thread_lock(key: str) -> asyncio.Lock:
    """Serialises the read-post-store of one thread's ref inside this process.

    Two deliveries of one build running at once would otherwise both find no parent and start two
    threads. Across daemons the worker must give the same guarantee (one running delivery per
    channel and thread key); this lock only covers concurrent deliveries inside one daemon.
    """
    lock = _locks.get(key)
    if lock is None:
        lock = _locks[key] = asyncio.Lock()
    return lock
