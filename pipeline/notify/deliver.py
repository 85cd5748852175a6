"""One attempt at one delivery: the only entry point the worker's ``deliver`` job needs.

:func:`send` is stateless apart from the :class:`~pipeline.notify.refstore.RefStore`, so any daemon
can run any attempt, and a daemon that dies mid-attempt leaves nothing a retry cannot repair. It
returns a small JSON-serialisable result to store on the delivery, or raises
:class:`~pipeline.notify.errors.TransientDeliveryError` (retry after
:func:`pipeline.notify.backoff.next_delay`) or :class:`~pipeline.notify.errors.PermanentDeliveryError`
(dead-letter now). Any other exception is a bug; the worker should treat it as transient so the
delivery is retried and, in the end, dead-lettered with the error visible.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from pipeline import config as config_mod
from pipeline.notify import callbacks, errors, forge, mail, slack, webhook
from pipeline.notify.refstore import RefStore

logger = logging.getLogger(__name__)

__all__ = ["RefStore", "configured_secrets", "send"]


async def send(
    delivery: dict[str, Any],
    *,
    config: config_mod.Config,
    refs: RefStore,
    http: aiohttp.ClientSession | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    channel = delivery.get("channel")
    secrets = configured_secrets(config)
    try:
        if channel == "slack":
            token = config_mod.secret(config.notify.slack.token_env)
            if token is None:
                raise errors.PermanentDeliveryError(
                    "secret_missing", f"environment variable {config.notify.slack.token_env} is not set ([notify.slack] token_env)")
            return await slack.send(delivery, config=config, refs=refs, http=http, token=token, secrets=secrets)
        if channel == "slack_webhook":
            env = config.notify.slack.webhook_url_env
            url = config_mod.secret(env)
            if url is None:
                raise errors.PermanentDeliveryError(
                    "secret_missing", f"environment variable {env} is not set ([notify.slack] webhook_url_env)")
            return await slack.send_webhook(delivery, config=config, http=http, url=url, secrets=secrets)
        if channel == "email":
            return await mail.send(delivery, config=config, refs=refs, secrets=secrets)
        if channel == "webhook":
            return await webhook.send(delivery, config=config, http=http, secrets=secrets, clock=clock)
        if channel == callbacks.CHANNEL:
            return await callbacks.send(delivery, cfg=config, clock=clock)
        if channel == forge.CHANNEL:
            return await forge.send(delivery, config=config, refs=refs, http=http)
    except errors.DeliveryError as exc:
        # Messages are built by us from codes and peer replies; still, never let a secret through.
        exc.message = _redact(exc.message, secrets)
        exc.args = (exc.message,)
        logger.warning("delivery attempt failed", extra={
            "action": "notify_failed", "channel": channel, "event": delivery.get("event"),
            "idempotency_key": delivery.get("idempotency_key"), "code": exc.code})
        raise
    raise errors.PermanentDeliveryError("unknown_channel", f"unknown delivery channel {channel!r}")


def configured_secrets(config: config_mod.Config) -> list[str]:
    """Every secret value the notify config names, to redact from rendered text and errors."""
    notify = config.notify
    names = [notify.slack.token_env, notify.slack.webhook_url_env, notify.email.password_env]
    names += [hook.secret_env for hook in notify.webhooks]
    names += [config.forge.github.token_env, config.forge.gitlab.token_env]
    values = []
    for name in names:
        value = config_mod.secret(name)
        if value:
            values.append(value)
            values += value.split()
    return sorted(set(values), key=len, reverse=True)


def _redact(text: str, secrets: list[str]) -> str:
    for value in secrets:
        if len(value) >= 4:
            text = text.replace(value, "[redacted]")
    return text
