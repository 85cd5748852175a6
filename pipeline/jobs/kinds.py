"""Every job kind the daemon runs, and what a job's transition causes.

The worker knows kinds only through :data:`HANDLERS`; the store runs :func:`outbox` inside each
transition's transaction; the worker runs :data:`AFTER_FINISH` once a job's end is stored. A new
kind (translate, audit) joins here with its own module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pipeline import config as config_mod
from pipeline.jobs import (
    audit,
    build,
    deliver,
    promote,
    retention,
    reviews,
    status,
    translate,
    translation_reviews,
)
from pipeline.jobs.context import Handler
from pipeline.jobs.worker import AfterFinish
from pipeline.notify import callbacks, forge
from pipeline.notify import outbox as notify_outbox
from pipeline.store import JobSpec, Transition

HANDLERS: Mapping[str, Handler] = {
    "build": build.handle,
    "maintenance": retention.handle,
    "promote": promote.handle,
    "deliver": deliver.handle,
    "audit": audit.handle,
    "translate": translate.handle,
}

AFTER_FINISH: tuple[AfterFinish, ...] = (reviews.after_build, translation_reviews.after_translate)


def outbox(cfg: config_mod.Config) -> Callable[[Transition], list[JobSpec]]:
    """The store's outbox hook: a transition's notifications, then its promotion or review request."""

    def plan(t: Transition) -> list[JobSpec]:
        specs = [*notify_outbox.plan(cfg, t), *reviews.outbox(cfg, t), *translation_reviews.outbox(cfg, t)]
        if callbacks.wanted(t):
            specs += callbacks.plan(cfg, t, status.job_view(t.job, t.stages))
        specs += forge.plan(cfg, t)
        return specs

    return plan
