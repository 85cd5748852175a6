"""The ``deliver`` job: one notification to one channel (Slack, email or a webhook).

The outbox (:mod:`pipeline.notify.outbox`) plans deliveries in the transaction of the event that
causes them; this handler sends one through :mod:`pipeline.notify.deliver`, on the daemon's HTTP
session, with Slack thread references kept in the store's ``refs`` table.
"""

from __future__ import annotations

import logging

from pipeline.jobs.context import JobContext, Outcome
from pipeline.notify import backoff, deliver, errors
from pipeline.store import Job, Store

logger = logging.getLogger(__name__)


class StoreRefs:
    """The notify package's RefStore on the job store's ``refs`` table."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, key: str) -> str | None:
        return await self.store.ref_get(key)

    async def set(self, key: str, value: str) -> None:
        await self.store.ref_set(key, value)


async def handle(job: Job, ctx: JobContext) -> Outcome:
    """Send one notification; a transient error retries with the channel's backoff, a permanent
    one dead-letters the delivery at once."""
    cfg = ctx.config
    delivery = dict(job.payload or {})
    try:
        result = await deliver.send(delivery, config=cfg, refs=StoreRefs(ctx.store), http=ctx.http)
    except errors.PermanentDeliveryError as exc:
        return Outcome.failed(exc.code, exc.message, result={"delivery_error": exc.as_dict()}, dead=True)
    except errors.TransientDeliveryError as exc:
        delay = backoff.next_delay(job.attempt, cfg.notify.backoff_base, exc.retry_after, cap=cfg.notify.backoff_max)
        return Outcome.retry("delivery_failed", exc.message, delay=delay)
    except Exception as exc:  # a bug in a channel: retry, and in the end dead-letter with the error shown
        logger.exception("delivery %s crashed", job.id)
        delay = backoff.next_delay(job.attempt, cfg.notify.backoff_base, None, cap=cfg.notify.backoff_max)
        return Outcome.retry("delivery_failed", f"{type(exc).__name__}: {exc}", delay=delay)
    return Outcome.completed(result)
