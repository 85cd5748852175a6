"""Who hears about an event: one planned delivery per (channel, recipient).

Pure on purpose: the store calls :func:`plan_deliveries` inside the transaction that records the
event, so the deliveries exist exactly when the event does and a crash can lose neither. Everything
a later attempt needs is copied into the payload (no secrets, only the names of the environment
variables that hold them are in the config), so a delivery can be sent by any daemon, after a
restart, even when the job row has changed since.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from typing import Any

from pipeline import config as config_mod
from pipeline.notify import errors

PUBLIC_EVENTS = (
    "build.completed",
    "build.failed",
    "build.fixed",
    "build.cancelled",
    "review.requested",
    "translation.ready",
    "audit.report",
    "audit.critical",
    "promote.completed",
    "promote.failed",
)
INTERNAL_EVENTS = ("build.started", "build.stage")
"""Only keep the Slack thread parent current; never mailed or posted to webhooks."""
UNANNOUNCED_EVENTS = ("promote.cancelled",)
"""Known transitions nobody is told about: a promotion is only cancelled by the person who cancels it."""
FINAL_EVENTS = ("build.completed", "build.failed", "build.fixed", "build.cancelled")
FAILURE_EVENTS = ("build.failed", "audit.critical", "promote.failed")
FINAL_STATUSES = ("COMPLETED", "FAILED", "CANCELLED")
DONE_STAGE_STATUSES = ("passed", "failed", "skipped", "degraded")
_SECRET_WORDS = ("token", "secret", "password", "authorization", "api_key", "apikey", "cookie")
_KNOWN_EVENT_KEYS = {"type", "job", "previous_status", "log_tail", "event_id", "occurred_at", "stage", "language"}
LOG_TAIL_LINES = 20
THREADED_OWNER_EVENTS = ("translation.ready", "review.requested")
"""Owner events that always reply in the build's Slack thread (mentioning owners who are people)."""


def plan_deliveries(event: dict[str, Any], config: config_mod.Config) -> list[dict[str, Any]]:
    """The deliveries one event causes, in a stable order (Slack, Slack webhook, email, webhooks).

    A ``build.completed`` whose ``previous_status`` is ``FAILED`` is also a ``build.fixed``: a
    channel subscribed to ``build.fixed`` gets that one message instead of both.
    """
    etype = event.get("type")
    if etype in UNANNOUNCED_EVENTS:
        return []
    if etype not in PUBLIC_EVENTS and etype not in INTERNAL_EVENTS:
        raise errors.RouteError(f"unknown event type {etype!r}; known: {list(PUBLIC_EVENTS + INTERNAL_EVENTS)}")
    job = event.get("job")
    if not isinstance(job, dict) or not job.get("job_id"):
        raise errors.RouteError(f"event {etype!r} has no job status dict with a job_id")
    candidates = _candidate_types(event)
    thread_key = _thread_key(event)
    event_key = _event_key(event)
    branch = job.get("branch") or (job.get("trigger") or {}).get("branch")
    language = event.get("language") or job.get("language")
    notify = config.notify
    plan = _Plan(event_key=event_key, thread_key=thread_key, base=_payload(event, config))

    slack = notify.slack
    if slack.enabled and _branch_ok(slack.branches, branch):
        channel = _first_match(slack.branch_channels, branch) or slack.channel
        if slack.webhook_url_env:
            plan.add("slack_webhook", "webhook", _pick(candidates, slack.events))
        else:
            wants_thread = any(_pick([t], slack.events) for t in FINAL_EVENTS)
            chosen = etype if etype in INTERNAL_EVENTS else _pick(candidates, slack.events)
            if chosen is None and etype in FINAL_EVENTS:
                chosen = "build.stage"  # not announced, but the thread parent must not stay "running"
            if chosen in INTERNAL_EVENTS and not wants_thread:
                chosen = None
            plan.add("slack", channel, chosen)
    email = notify.email
    main_to: list[str] = []
    if email.enabled and _branch_ok(email.branches, branch):
        main_to = list(_first_match(email.branch_to, branch) or email.to)
        chosen = _pick(candidates, email.events)
        if main_to and chosen:
            plan.add("email", main_to, chosen)
        else:
            main_to = []
    owners = config.languages.get(language) if language else None
    if owners is not None and etype not in INTERNAL_EVENTS:
        chosen = _pick(candidates, owners.owner_events)
        if slack.enabled and not slack.webhook_url_env and chosen:
            main_channel = plan.slack_target()
            people: list[str] = []
            if etype in THREADED_OWNER_EVENTS and owners.owners_slack and _branch_ok(slack.branches, branch):
                # A reply in the build's thread that mentions the owners who are people; their
                # channels (below) get a copy of their own.
                people = [f"<@{user}>" for t in owners.owners_slack if (user := slack_user(t))]
                if main_channel is None:
                    main_channel = _first_match(slack.branch_channels, branch) or slack.channel
                    plan.add("slack", main_channel, chosen)
                plan.mention(main_channel, list(dict.fromkeys(people)))
            for target in dict.fromkeys(owners.owners_slack):
                if target != main_channel and not (people and slack_user(target)):
                    plan.add("slack", target, chosen)
        extra_to = [a for a in dict.fromkeys(owners.owners_email) if a not in main_to]
        if email.enabled and chosen and extra_to:
            plan.add("email", extra_to, chosen)
    for index, hook in enumerate(notify.webhooks):
        if hook.enabled and _branch_ok(hook.branches, branch):
            plan.add("webhook", index, _pick(candidates, hook.events), url=hook.url)
    return plan.deliveries


class _Plan:
    """Collects deliveries for one event and gives each a stable idempotency key."""

    def __init__(self, *, event_key: str, thread_key: str, base: dict[str, Any]) -> None:
        self.event_key = event_key
        self.thread_key = thread_key
        self.base = base
        self.deliveries: list[dict[str, Any]] = []

    def add(self, channel: str, target: Any, etype: str | None, **extra: Any) -> None:
        if etype is None:
            return
        target_id = ",".join(target) if isinstance(target, list) else str(target)
        digest = hashlib.sha256(f"{self.event_key}|{channel}|{target_id}|{etype}".encode()).hexdigest()
        payload = {**self.base, "event": etype, **extra}
        self.deliveries.append(
            {
                "channel": channel,
                "target": target,
                "event": etype,
                "thread_key": self.thread_key,
                "idempotency_key": f"msg_{digest[:32]}",
                "payload": payload,
            }
        )

    def mention(self, channel: str, people: list[str]) -> None:
        """Slack deliveries to ``channel`` name these people (``<@U…>``) so Slack notifies them."""
        for d in self.deliveries:
            if d["channel"] == "slack" and d["target"] == channel and people:
                d["payload"]["mentions"] = people

    def slack_target(self) -> str | None:
        for d in self.deliveries:
            if d["channel"] == "slack" and d["event"] not in INTERNAL_EVENTS:
                return str(d["target"])
        return None


SLACK_USER = re.compile(r"^<?@?([UW][A-Z0-9]{2,})(?:\|[^>]*)?>?$")
"""A Slack member ID (``U024BE7LH``, ``@U024BE7LH`` or ``<@U024BE7LH>``); anything else is a channel."""


def slack_user(target: str) -> str | None:
    """The member ID when an ``owners_slack`` entry names a person, else None (a channel)."""
    found = SLACK_USER.match(target.strip())
    return found.group(1) if found else None


def _candidate_types(event: dict[str, Any]) -> list[str]:
    etype = str(event["type"])
    if etype == "build.completed" and event.get("previous_status") == "FAILED":
        return ["build.fixed", "build.completed"]
    return [etype]


def _pick(candidates: list[str], globs: list[str]) -> str | None:
    """The first candidate type a channel subscribes to; internal types never match a glob."""
    for etype in candidates:
        if etype in INTERNAL_EVENTS:
            continue
        if any(fnmatch.fnmatchcase(etype, g) for g in globs):
            return etype
    return None


def _branch_ok(globs: list[str], branch: str | None) -> bool:
    return branch is None or any(fnmatch.fnmatchcase(branch, g) for g in globs)


def _first_match(mapping: dict[str, Any], branch: str | None) -> Any:
    if branch is None:
        return None
    for glob, value in mapping.items():
        if fnmatch.fnmatchcase(branch, glob):
            return value
    return None


def _thread_key(event: dict[str, Any]) -> str:
    """All messages about one build share a thread, translations, reviews and promotions included."""
    job = event["job"]
    if event["type"] == "translation.ready" or (event["type"] == "review.requested" and job.get("kind") == "translate"):
        return str(event.get("build_id") or job.get("parent_id") or job["job_id"])
    if str(event["type"]).startswith("promote."):
        trigger = job.get("trigger") or {}  # an approved translation's promotion: its build's thread
        return str(trigger.get("parent_build") or trigger.get("build_id") or job["job_id"])
    return str(job["job_id"])


def _event_key(event: dict[str, Any]) -> str:
    """Stable across re-planning the same event, distinct for every transition of a job."""
    if event.get("event_id") is not None:
        return f"event:{event['event_id']}"
    job = event["job"]
    stage = event.get("stage")
    stage_status = next((s.get("status") for s in job.get("stages") or [] if s.get("name") == stage), None)
    parts = [event["type"], job["job_id"], job.get("attempt"), job.get("status"), stage, stage_status,
             job.get("started_at"), job.get("finished_at"), event.get("language")]
    return "derived:" + json.dumps(parts, default=str)


def thread_rank(job: dict[str, Any]) -> int:
    """Orders updates of the Slack parent: a late stage update must not overwrite the final state."""
    done = sum(1 for s in job.get("stages") or [] if s.get("status") in DONE_STAGE_STATUSES)
    return done + (1000 if job.get("status") in FINAL_STATUSES else 0)


def scrub(value: Any) -> Any:
    """Drop anything named like a secret (a per-job read token, say) from what gets stored and sent."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if not any(w in str(k).lower() for w in _SECRET_WORDS)}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def absolute(value: Any, public: str) -> Any:
    """Prefix daemon-relative link strings (``/api/...``, ``docs/errors.md#x``) with the public URL."""
    if isinstance(value, dict):
        return {k: absolute(v, public) for k, v in value.items()}
    if isinstance(value, list):
        return [absolute(v, public) for v in value]
    if isinstance(value, str) and value and "://" not in value and not value.startswith(("mailto:", "#")):
        return f"{public}/{value.lstrip('/')}"
    return value


def runbook_url(config: config_mod.Config, runbook: str, public: str) -> str:
    """``docs/errors.md#code`` as a link a mail reader can open: under ``[server] docs_url`` when
    set, else on the daemon's own ``/docs/`` (``pipeline/api/docs.py`` serves it)."""
    page = runbook.removeprefix("/").removeprefix("docs/")
    base = config.server.docs_url.rstrip("/") if config.server.docs_url else f"{public}/docs"
    return f"{base}/{page}"


def _payload(event: dict[str, Any], config: config_mod.Config) -> dict[str, Any]:
    job = scrub(event["job"])
    tail = event.get("log_tail") or job.pop("log_tail", None) or []
    job.pop("log_tail", None)
    public = (config.server.public_url or f"http://{config.server.host}:{config.server.port}").rstrip("/")
    job_id = job["job_id"]
    # The status contract uses daemon-relative links; a message read in Slack or a mail needs absolute ones.
    for key in ("artifacts", "links", "live_url", "live_urls"):
        if key in job:
            job[key] = absolute(job[key], public)
    if isinstance(job.get("error"), dict) and job["error"].get("runbook"):
        job["error"]["runbook"] = runbook_url(config, str(job["error"]["runbook"]), public)
    base: dict[str, Any] = {
        "event": event["type"],
        "occurred_at": event.get("occurred_at") or job.get("finished_at") or job.get("started_at") or job.get("created_at"),
        "job": job,
        "previous_status": event.get("previous_status"),
        "stage": event.get("stage"),
        "language": event.get("language") or job.get("language"),
        "log_tail": [str(line) for line in tail][-LOG_TAIL_LINES:],
        "links": {
            "status": f"{public}/api/builds/{job_id}/status",
            "log": f"{public}/api/builds/{job_id}/log",
            "dashboard": f"{public}/",
        },
        "site": {"title": config.site.title},
        "thread": {"rank": thread_rank(job)},
        "details": scrub({k: v for k, v in event.items() if k not in _KNOWN_EVENT_KEYS}),
    }
    # A JSON round trip proves the payload storable and cuts every reference into the caller's dicts.
    return dict(json.loads(json.dumps(base, default=str)))
