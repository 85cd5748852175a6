"""Slack: one thread per build through the Web API, or flat messages through an incoming webhook.

The thread parent is posted by the first delivery of a build (normally ``build.started``) and then
edited in place as stages pass, so a busy channel shows one line per build. Failures and the final
result are replies under it. The parent's ``ts`` (and the channel ID Slack answered with, which
``chat.update`` needs) is kept in the :class:`~pipeline.notify.deliver.RefStore`, so a retry, another
daemon or a restarted one keeps editing the same message.

Deliveries of one build may run out of order (a retried stage update after the final result), so
each parent edit carries a rank (:func:`pipeline.notify.router.thread_rank`) and older states never
overwrite newer ones. Each posted message carries the delivery's idempotency key as Slack message
``metadata``, so a receiver (or a human) can tell a duplicate left by an at-least-once retry.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from pipeline import config as config_mod
from pipeline.notify import errors, refstore, render, router

logger = logging.getLogger(__name__)

PERMANENT_ERRORS = frozenset({
    "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "no_permission",
    "missing_scope", "channel_not_found", "not_in_channel", "is_archived", "msg_too_long", "no_text",
    "invalid_blocks", "invalid_arguments", "invalid_metadata_format", "restricted_action",
    "cant_update_message", "ekm_access_denied", "team_access_not_granted", "invalid_payload",
    "no_service", "channel_is_archived", "action_prohibited", "posting_to_general_channel_denied",
    "user_not_found", "no_active_hooks", "invalid_token", "no_service_id", "team_disabled",
})
"""Slack error strings that name a config or content problem, not an outage (dead-letter at once)."""
METADATA_EVENT = "pressroom_notification"


async def send(
    delivery: dict[str, Any],
    *,
    config: config_mod.Config,
    refs: refstore.RefStore,
    http: aiohttp.ClientSession | None,
    token: str,
    secrets: list[str],
) -> dict[str, Any]:
    slack = config.notify.slack
    # Our own backoff owns retries; the SDK's built-in retry would hide attempts from the store.
    client = AsyncWebClient(
        token=token, base_url=slack.base_url, timeout=int(max(1, slack.timeout)), session=http, retry_handlers=[]
    )
    payload = delivery["payload"]
    event = delivery["event"]
    channel = str(delivery["target"])
    key = refstore.slack_thread_key(channel, str(delivery["thread_key"]))
    rank = int((payload.get("thread") or {}).get("rank", 0))
    result: dict[str, Any] = {}
    async with refstore.thread_lock(key):
        parent = _load(await refs.get(key))
        # A translation's review is a reply in its build's thread; the parent keeps showing the build.
        own_review = event == "review.requested" and (payload.get("job") or {}).get("kind") != "translate"
        if event in router.INTERNAL_EVENTS or event in router.FINAL_EVENTS or own_review:
            parent = await _show_state(client, refs, key, parent, channel, payload, rank, delivery, config, secrets)
            result = {"channel": parent["channel"], "ts": parent["ts"], "thread_ts": parent["ts"]}
    if event not in router.INTERNAL_EVENTS:  # stage updates only edit the parent; build.failed replies
        message = render.render_slack(payload, part="reply", config=config, secrets=secrets)
        thread_ts = parent["ts"] if parent else None
        response = await _call(client.chat_postMessage, slack.timeout, channel=parent["channel"] if parent else channel,
                               thread_ts=thread_ts, metadata=_metadata(delivery), **message)
        result = {"channel": response.get("channel"), "ts": response.get("ts"), "thread_ts": thread_ts}
    logger.info("slack message sent", extra={"action": "notify_sent", "channel": channel,
                                             "event": event, "idempotency_key": delivery["idempotency_key"]})
    return result


async def _show_state(
    client: AsyncWebClient,
    refs: refstore.RefStore,
    key: str,
    parent: dict[str, Any] | None,
    channel: str,
    payload: dict[str, Any],
    rank: int,
    delivery: dict[str, Any],
    config: config_mod.Config,
    secrets: list[str],
) -> dict[str, Any]:
    """Post the thread parent if there is none yet, else edit it unless it already shows a newer state."""
    message = render.render_slack(payload, part="parent", config=config, secrets=secrets)
    if parent is not None:
        if rank < int(parent.get("rank", 0)):
            return parent
        try:
            await _call(client.chat_update, config.notify.slack.timeout, channel=parent["channel"], ts=parent["ts"], **message)
        except errors.PermanentDeliveryError as exc:
            if exc.code != "message_not_found":
                raise
            parent = None  # someone deleted the parent: start a new thread rather than fail forever
        else:
            parent = {**parent, "rank": rank}
            await refs.set(key, json.dumps(parent))
            return parent
    response = await _call(client.chat_postMessage, config.notify.slack.timeout, channel=channel, metadata=_metadata(delivery, parent=True), **message)
    parent = {"channel": response.get("channel") or channel, "ts": response["ts"], "rank": rank}
    await refs.set(key, json.dumps(parent))
    return parent


async def send_webhook(
    delivery: dict[str, Any],
    *,
    config: config_mod.Config,
    http: aiohttp.ClientSession | None,
    url: str,
    secrets: list[str],
) -> dict[str, Any]:
    """Incoming-webhook mode: a flat message per event, no thread, no update."""
    message = render.render_slack(delivery["payload"], part="reply", config=config, secrets=secrets)
    client = AsyncWebhookClient(url, timeout=int(max(1, config.notify.slack.timeout)), session=http)
    try:
        async with asyncio.timeout(config.notify.slack.timeout):
            response = await client.send(text=message["text"], blocks=message.get("blocks"))
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise errors.TransientDeliveryError(f"Slack webhook unreachable: {type(exc).__name__}") from None
    body = (response.body or "").strip()
    if response.status_code == 200:
        return {"status": 200}
    if response.status_code == 429 or response.status_code >= 500:
        raise errors.TransientDeliveryError(
            f"Slack webhook answered HTTP {response.status_code} {body[:80]}".rstrip(),
            retry_after=_retry_after(response.headers),
        )
    code = body if body in PERMANENT_ERRORS else "slack_webhook_rejected"
    raise errors.PermanentDeliveryError(code, f"Slack webhook answered HTTP {response.status_code}: {body[:120]}")


async def _call(method: Any, deadline: float, **kwargs: Any) -> Any:
    """One Slack API call with its failure sorted into transient or permanent.

    The deadline is ours because the SDK applies its ``timeout`` only to sessions it creates.
    """
    try:
        async with asyncio.timeout(deadline):
            return await method(**kwargs)
    except SlackApiError as exc:
        raise _classify(exc) from None
    except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
        raise errors.TransientDeliveryError(f"Slack API unreachable: {type(exc).__name__}") from None


def _classify(exc: SlackApiError) -> errors.DeliveryError:
    response = exc.response
    status = getattr(response, "status_code", None) or getattr(response, "status", None) or 0
    data = getattr(response, "data", None)
    error = data.get("error") if isinstance(data, dict) else None
    headers = getattr(response, "headers", None) or {}
    if status == 429 or error == "ratelimited":
        return errors.TransientDeliveryError("Slack rate limit (429)", retry_after=_retry_after(headers))
    if error in PERMANENT_ERRORS or error == "message_not_found":
        return errors.PermanentDeliveryError(str(error), f"Slack refused the message: {error}")
    if status >= 500 or error in (None, "internal_error", "fatal_error", "service_unavailable", "request_timeout"):
        return errors.TransientDeliveryError(f"Slack API error: HTTP {status}{f' {error}' if error else ''}")
    # An unknown error string: retrying costs little and a human sees it on the delivery meanwhile.
    return errors.TransientDeliveryError(f"Slack API error: {error} (HTTP {status})")


def _retry_after(headers: Any) -> float | None:
    value = None
    if headers:
        value = headers.get("Retry-After") or headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _metadata(delivery: dict[str, Any], *, parent: bool = False) -> dict[str, Any]:
    """Replies carry their delivery's key; a parent carries the thread's key, because whichever
    delivery of the build gets there first posts it (and a dropped reply to that post can make the
    next one post it again: Slack has no idempotent postMessage, so a receiver deduplicates)."""
    key = f"thread:{delivery['target']}:{delivery['thread_key']}" if parent else delivery["idempotency_key"]
    return {
        "event_type": METADATA_EVENT,
        "event_payload": {
            "idempotency_key": key,
            "event": delivery["event"],
            "job_id": delivery["thread_key"],
        },
    }


def _load(value: str | None) -> dict[str, Any] | None:
    if not value:
        return None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) and parsed.get("ts") else None
