"""Turning a planned delivery's payload into Slack blocks, an email and a webhook body.

The wording and layout live in Jinja2 templates (``templates/notify/``) so a team can re-theme them
with ``[notify] templates = "<folder>"`` without touching code: a file there wins over the built-in
one of the same name. Python only prepares the facts templates cannot compute easily (durations,
trigger summary, first findings, PDF links). Every rendered text is passed through :func:`redact`
so a secret that slipped into a log line never reaches a channel.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from pipeline import config as config_mod
from pipeline.notify import errors, router

DEFAULT_TEMPLATES = Path(__file__).parent / "templates" / "notify"
FIRST_FINDINGS = 5
SLACK_TEXT_LIMIT = 2900
REDACTED = "[redacted]"


def environment(config: config_mod.Config) -> jinja2.Environment:
    override = str(config.resolve(config.notify.templates)) if config.notify.templates else None
    return _environment(override)


@functools.lru_cache(maxsize=8)
def _environment(override: str | None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if override:
        loaders.append(jinja2.FileSystemLoader(override))
    loaders.append(jinja2.FileSystemLoader(str(DEFAULT_TEMPLATES)))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=lambda name: bool(name) and str(name).endswith(".html.j2"),
        undefined=jinja2.ChainableUndefined,
        extensions=["jinja2.ext.do"],
        keep_trailing_newline=False,
    )
    env.filters["slack"] = slack_escape
    env.filters["clip"] = clip
    return env


def slack_escape(value: Any) -> str:
    """Slack mrkdwn treats ``&``, ``<`` and ``>`` as markup; user text must not inject links."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(value: Any, limit: int = SLACK_TEXT_LIMIT) -> str:
    """Keep the end of long text (log tails end with the interesting lines) within a block's limit."""
    text = str(value)
    return text if len(text) <= limit else "…" + text[-(limit - 1):]


def redact(text: str, secrets: list[str]) -> str:
    for value in secrets:
        if value and len(value) >= 4:
            text = text.replace(value, REDACTED)
    return text


def context(payload: dict[str, Any]) -> dict[str, Any]:
    """The template variables; documented in docs/notifications.md (keep both in step)."""
    job = payload.get("job") or {}
    stages = [_stage_view(s) for s in job.get("stages") or []]
    stage_name = payload.get("stage")
    return {
        "event": payload.get("event"),
        "payload": payload,
        "job": job,
        "job_id": job.get("job_id"),
        "short_id": str(job.get("job_id", ""))[:12],
        "status": job.get("status"),
        "branch": job.get("branch") or (job.get("trigger") or {}).get("branch"),
        "trigger": job.get("trigger") or {},
        "trigger_text": trigger_text(job.get("trigger") or {}),
        "stages": stages,
        "stage": next((s for s in stages if s["name"] == stage_name), {"name": stage_name}) if stage_name else None,
        "failed_stages": [s for s in stages if s["status"] == "failed"],
        "findings": [s for s in stages if s["findings_total"]],
        "duration": _duration(job.get("started_at") or job.get("created_at"), job.get("finished_at")),
        "error": job.get("error") or {},
        "live_url": job.get("live_url"),
        "pdfs": pdf_links(job.get("artifacts") or {}),
        "log_tail": payload.get("log_tail") or [],
        "links": payload.get("links") or {},
        "site": payload.get("site") or {},
        "language": payload.get("language"),
        "previous_status": payload.get("previous_status"),
        "details": payload.get("details") or {},
        "translation": (payload.get("details") or {}).get("translation") or {},
        "review": (payload.get("details") or {}).get("review") or job.get("review") or {},
        "mentions": payload.get("mentions") or [],
        "occurred_at": payload.get("occurred_at"),
        "data": payload.get("data"),
    }


def render_slack(payload: dict[str, Any], *, part: str, config: config_mod.Config, secrets: list[str]) -> dict[str, Any]:
    """``part`` is ``parent`` (the thread's first message, kept current) or ``reply``."""
    event = payload.get("event")
    names = [f"slack/{part}.json.j2"] if part == "parent" else [f"slack/{event}.json.j2", "slack/reply.json.j2"]
    message = _render_json(config, names, payload, secrets)
    if not isinstance(message.get("text"), str) or not isinstance(message.get("blocks", []), list):
        raise errors.PermanentDeliveryError("template_error", f"{names[-1]}: must render an object with text and blocks")
    return message


def render_email(payload: dict[str, Any], *, config: config_mod.Config, secrets: list[str]) -> tuple[str, str, str]:
    """Subject (one line), plain text and HTML of the mail."""
    event = payload.get("event")
    parts = []
    for part in ("subject.txt", "body.txt", "body.html"):
        parts.append(_render(config, [f"email/{event}.{part}.j2", f"email/{part}.j2"], payload, secrets))
    subject = " ".join(parts[0].split())
    return subject, parts[1].strip() + "\n", parts[2]


def render_webhook(payload: dict[str, Any], *, config: config_mod.Config, secrets: list[str]) -> bytes:
    """The exact bytes that are signed and posted (compact JSON, UTF-8)."""
    body = _render_json(config, ["webhook/body.json.j2"], {**payload, "data": webhook_data(payload)}, secrets)
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def webhook_data(payload: dict[str, Any]) -> dict[str, Any]:
    """The ``data`` object of a webhook body; its shape is the contract in :mod:`.schemas`."""
    job = payload.get("job") or {}
    failure = payload.get("event") in router.FAILURE_EVENTS
    stages = [
        {
            "name": s.get("name"),
            "status": s.get("status"),
            "started_at": s.get("started_at"),
            "finished_at": s.get("finished_at"),
            "counts": s.get("counts") or {},
            "findings": list(s.get("findings") or [])[:FIRST_FINDINGS],
        }
        for s in job.get("stages") or []
    ]
    return {
        "job_id": job.get("job_id"),
        "kind": job.get("kind"),
        "status": job.get("status"),
        "branch": job.get("branch") or (job.get("trigger") or {}).get("branch"),
        "language": payload.get("language"),
        "stage": payload.get("stage") or job.get("stage"),
        "previous_status": payload.get("previous_status"),
        "trigger": job.get("trigger") or {},
        "stages": stages,
        "artifacts": job.get("artifacts") or {},
        "live_url": job.get("live_url"),
        "openapi": job.get("openapi") or None,
        "error": job.get("error"),
        "created_at": job.get("created_at"),
        "started_at": job.get("started_at"),
        "finished_at": job.get("finished_at"),
        "duration_seconds": _seconds(job.get("started_at") or job.get("created_at"), job.get("finished_at")),
        "links": payload.get("links") or {},
        "log_tail": payload.get("log_tail") or [] if failure else [],
        "details": payload.get("details") or {},
    }


def trigger_text(trigger: dict[str, Any]) -> str:
    kind = trigger.get("kind", "api")
    if trigger.get("sha") or kind in ("commit", "git", "hook"):
        sha = str(trigger.get("sha") or "")[:8]
        subject = str(trigger.get("message") or "").splitlines()[0] if trigger.get("message") else ""
        who = f" by {trigger['author']}" if trigger.get("author") else ""
        on = f" on {trigger['branch']}" if trigger.get("branch") else ""
        return f"commit {sha}{who}{on}: {subject}".rstrip(": ")
    if kind in ("folder", "watch") or trigger.get("folder"):
        return f"folder {trigger.get('folder', '')}".strip()
    if trigger.get("repository") or trigger.get("delivery"):
        return f"push to {trigger.get('repository', '?')} (delivery {trigger.get('delivery', '?')})"
    return str(kind) if kind != "api" else "API"


def pdf_links(artifacts: Any, label: str = "") -> list[dict[str, str]]:
    """Every ``*.pdf`` URL or path in the artifacts, whatever their nesting, labelled by key."""
    found: list[dict[str, str]] = []
    if isinstance(artifacts, dict):
        for key, value in artifacts.items():
            found += pdf_links(value, str(key) if label in ("", "pdf", "pdfs") else label)
    elif isinstance(artifacts, list):
        for value in artifacts:
            found += pdf_links(value, label)
    elif isinstance(artifacts, str) and artifacts.lower().split("?")[0].endswith(".pdf"):
        found.append({"label": label or "PDF", "url": artifacts})
    return found


def _stage_view(stage: dict[str, Any]) -> dict[str, Any]:
    findings = list(stage.get("findings") or [])
    counts = stage.get("counts") or {}
    return {
        "name": stage.get("name"),
        "status": stage.get("status", "pending"),
        "duration": _duration(stage.get("started_at"), stage.get("finished_at")),
        "message": stage.get("message"),
        "counts": counts,
        "findings_first": findings[:FIRST_FINDINGS],
        "findings_total": int(stage.get("findings_total") or len(findings)),
    }


def _seconds(start: Any, end: Any) -> float | None:
    try:
        return round((datetime.fromisoformat(str(end)) - datetime.fromisoformat(str(start))).total_seconds(), 3)
    except (TypeError, ValueError):
        return None


def _duration(start: Any, end: Any) -> str | None:
    seconds = _seconds(start, end) if start and end else None
    if seconds is None or seconds < 0:
        return None
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def _render(config: config_mod.Config, names: list[str], payload: dict[str, Any], secrets: list[str]) -> str:
    try:
        template = environment(config).select_template(names)
        return redact(template.render(context(payload)), secrets)
    except jinja2.TemplateError as exc:
        raise errors.PermanentDeliveryError("template_error", f"template {names[-1]}: {exc}") from None


def _render_json(config: config_mod.Config, names: list[str], payload: dict[str, Any], secrets: list[str]) -> dict[str, Any]:
    text = _render(config, names, payload, secrets)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise errors.PermanentDeliveryError("template_error", f"template {names[-1]} did not render JSON: {exc}") from None
    if not isinstance(value, dict):
        raise errors.PermanentDeliveryError("template_error", f"template {names[-1]} must render a JSON object")
    return value
