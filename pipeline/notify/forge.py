"""Commit statuses and pull-request comments on GitHub and GitLab: the result where reviewers look.

A build that came from git reports: a forge's webhook (push or pull request) names the provider
and the repository; the post-commit hook and a JSON git source name a remote URL, which
:mod:`pipeline.notify.forgerepo` maps to a configured forge's repository. Such a build reports ``pending`` when it starts and ``success`` /
``failure`` / ``error`` when it ends, linking the build page, or the preview for a pull request's
preview. A preview's result is also written as one comment on the pull request, edited on every
push rather than repeated (its ID is kept in the store's refs). Each report is a ``deliver`` job
planned in the transition's transaction, so it is retried with backoff, dead-lettered and
replayable like every notification.

The APIs, as documented: GitHub ``POST /repos/{owner}/{repo}/statuses/{sha}`` (or ``POST
/repos/{owner}/{repo}/check-runs`` with ``[forge.github] check_runs``), ``POST
/repos/{owner}/{repo}/issues/{number}/comments`` and ``PATCH
/repos/{owner}/{repo}/issues/comments/{id}``, with ``Authorization: Bearer``, ``Accept:
application/vnd.github+json`` and ``X-GitHub-Api-Version``; GitLab ``POST
/projects/{path}/statuses/{sha}``, ``POST /projects/{path}/merge_requests/{iid}/notes`` and ``PUT
…/notes/{id}``, with ``PRIVATE-TOKEN``. Repository names and commit IDs come from webhook payloads,
so they are checked and URL-quoted before they become a path.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from typing import Any
from urllib.parse import quote

import aiohttp

from pipeline import config as config_mod
from pipeline.notify import errors, forgerepo
from pipeline.notify.refstore import RefStore
from pipeline.store import JobSpec, Transition

logger = logging.getLogger(__name__)
CHANNEL = "forge"
GITHUB_STATES = {"build.started": "pending", "build.completed": "success", "build.failed": "failure",
                 "build.cancelled": "error"}
GITLAB_STATES = {"build.started": "running", "build.completed": "success", "build.failed": "failed",
                 "build.cancelled": "canceled"}
CHECK_CONCLUSIONS = {"build.completed": "success", "build.failed": "failure", "build.cancelled": "cancelled"}
DESCRIPTIONS = {"build.started": "Building the docs", "build.completed": "The docs built",
                "build.failed": "The docs build failed", "build.cancelled": "The docs build was cancelled"}
COMMENT_EVENTS = ("build.completed", "build.failed")
REPO = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
TIMEOUT = 15.0
GITHUB_API_VERSION = "2022-11-28"


def _forge(cfg: config_mod.Config, provider: str) -> Any:
    """``[forge.github]`` or ``[forge.gitlab]`` (None for other providers)."""
    return {"github": cfg.forge.github, "gitlab": cfg.forge.gitlab}.get(provider)


def wanted(cfg: config_mod.Config, t: Transition) -> tuple[str, str] | None:
    """``(provider, repository)`` when this transition is reported: a build of a full commit ID whose
    forge repository is known, with that forge's token configured, at a reported event."""
    trigger = t.job.trigger or {}
    if t.job.kind != "build" or t.event not in GITHUB_STATES or not SHA.match(str(trigger.get("sha") or "")):
        return None
    target = forgerepo.repository_for(cfg, trigger)
    if target is None:
        return None
    forge = _forge(cfg, target[0])
    return target if forge is not None and forge.token_env else None


def plan(cfg: config_mod.Config, t: Transition) -> list[JobSpec]:
    """The status (and, for a finished preview, the comment) one transition reports."""
    target = wanted(cfg, t)
    if target is None:
        return []
    job, trigger = t.job, t.job.trigger or {}
    public = (cfg.server.public_url or f"http://{cfg.server.host}:{cfg.server.port}").rstrip("/")
    build_url = f"{public}/builds/{job.id}"
    pr = trigger.get("pull_request") if isinstance(trigger.get("pull_request"), dict) else None
    preview_url = f"{cfg.sites_url}/sites/preview-{pr['number']}/" if pr and isinstance(pr.get("number"), int) else None
    base = {"provider": target[0], "repository": target[1], "sha": trigger["sha"], "event": t.event}
    reports = [{**base, "kind": "status", "description": DESCRIPTIONS[t.event],
                "target_url": preview_url if preview_url and t.event == "build.completed" else build_url}]
    if pr and preview_url and cfg.previews.comment and t.event in COMMENT_EVENTS:
        outcome = f"ready: {preview_url}" if t.event == "build.completed" else f"failed; see {build_url}"
        body = (f"**Docs preview** for {trigger['sha'][:12]} {outcome}\n\n"
                f"Build: {build_url} · the preview is removed {cfg.previews.keep_days:g} day(s) after this pull request closes.")
        reports.append({**base, "kind": "comment", "number": pr["number"], "body": body})
    specs = []
    for report in reports:
        digest = hashlib.sha256(json.dumps([job.id, t.event, job.attempt, job.finished_at, report["kind"]]).encode()).hexdigest()
        key = f"forge_{digest[:32]}"
        delivery = {"channel": CHANNEL, "target": report["provider"], "event": t.event, "thread_key": job.id,
                    "idempotency_key": key, "forge": report, "payload": {}}
        specs.append(JobSpec(kind="deliver", idempotency_key=key, payload=delivery,
                             priority=cfg.workers.priorities.get("deliver", 60), max_attempts=cfg.notify.max_attempts,
                             trigger={"kind": "event", "job_id": job.id, "event": t.event}))
    return specs


async def send(delivery: dict[str, Any], *, config: config_mod.Config, refs: RefStore,
               http: aiohttp.ClientSession | None) -> dict[str, Any]:
    report = delivery.get("forge") or {}
    provider = report.get("provider")
    forge = _forge(config, str(provider))
    if forge is None or not forge.token_env:
        raise errors.PermanentDeliveryError("forge_not_configured", f"no [forge.{provider}] token_env is configured any more")
    token = config_mod.secret(forge.token_env)
    if token is None:
        raise errors.PermanentDeliveryError("secret_missing", f"environment variable {forge.token_env} is not set ([forge.{provider}] token_env)")
    repo, sha = str(report.get("repository", "")), str(report.get("sha", ""))
    if not REPO.match(repo) or not SHA.match(sha):
        raise errors.PermanentDeliveryError("bad_url", "the build's repository name or commit ID is not one a forge uses")
    api = forge.api_url.rstrip("/")
    if provider == "github":
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                   "X-GitHub-Api-Version": GITHUB_API_VERSION, "User-Agent": "pressroom"}
        owner_repo = "/".join(quote(part, safe="") for part in repo.split("/", 1))
        root = f"{api}/repos/{owner_repo}"
    else:
        headers = {"PRIVATE-TOKEN": token, "User-Agent": "pressroom"}
        root = f"{api}/projects/{quote(repo, safe='')}"
    own = http is None
    session = aiohttp.ClientSession() if own else http
    assert session is not None
    try:
        if report.get("kind") == "comment":
            return await _comment(session, root, headers, report, refs, str(provider))
        # A "pending" retried after the final state was posted must not overwrite it on the commit.
        key = f"forge:status:{provider}:{repo}:{sha}:{delivery.get('thread_key')}"
        rank = 0 if report.get("event") == "build.started" else 1
        if rank < int(await refs.get(key) or -1):
            return {"provider": provider, "skipped": "a later state of this build was already reported"}
        result = await _status(session, root, headers, report, forge)
        await refs.set(key, str(rank))
        return result
    finally:
        if own:
            await session.close()


async def _status(session: aiohttp.ClientSession, root: str, headers: dict[str, str], report: dict[str, Any],
                  forge: Any) -> dict[str, Any]:
    event, sha = report["event"], report["sha"]
    if report["provider"] == "gitlab":
        body = {"state": GITLAB_STATES[event], "name": forge.context, "target_url": report["target_url"],
                "description": report["description"]}
        await _call(session, "POST", f"{root}/statuses/{sha}", headers, body)
    elif forge.check_runs:
        body = {"name": forge.context, "head_sha": sha, "details_url": report["target_url"],
                "output": {"title": report["description"], "summary": report["description"]}}
        if event in CHECK_CONCLUSIONS:
            body.update(status="completed", conclusion=CHECK_CONCLUSIONS[event])
        else:
            body["status"] = "in_progress"
        await _call(session, "POST", f"{root}/check-runs", headers, body)
    else:
        body = {"state": GITHUB_STATES[event], "target_url": report["target_url"],
                "description": report["description"][:140], "context": forge.context}
        await _call(session, "POST", f"{root}/statuses/{sha}", headers, body)
    return {"provider": report["provider"], "state": body.get("state") or body.get("status")}


async def _comment(session: aiohttp.ClientSession, root: str, headers: dict[str, str], report: dict[str, Any],
                   refs: RefStore, provider: str) -> dict[str, Any]:
    """Edit the pull request's one preview comment, or write it the first time (or after it was deleted)."""
    number = int(report["number"])
    key = f"forge:comment:{provider}:{report['repository']}:{number}"
    existing = await refs.get(key)
    if provider == "github":
        create, edit, method, field = f"{root}/issues/{number}/comments", f"{root}/issues/comments/{existing}", "PATCH", "body"
    else:
        create, edit, method, field = (f"{root}/merge_requests/{number}/notes",
                                       f"{root}/merge_requests/{number}/notes/{existing}", "PUT", "body")
    if existing:
        status, _ = await _call(session, method, edit, headers, {field: report["body"]}, missing_ok=True)
        if status != 404:
            return {"provider": provider, "comment_id": existing, "edited": True}
    _, answer = await _call(session, "POST", create, headers, {field: report["body"]})
    comment_id = str(answer.get("id", ""))
    if comment_id:
        await refs.set(key, comment_id)
    return {"provider": provider, "comment_id": comment_id, "edited": False}


async def _call(session: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str], body: dict[str, Any],
                *, missing_ok: bool = False) -> tuple[int, dict[str, Any]]:
    try:
        async with asyncio.timeout(TIMEOUT), session.request(method, url, json=body, headers=headers,
                                                             allow_redirects=False) as resp:
            status = resp.status
            retry_after = resp.headers.get("Retry-After")
            raw = await resp.content.read(256 * 1024)
    except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
        raise errors.TransientDeliveryError(f"forge API unreachable: {type(exc).__name__}") from None
    if 200 <= status < 300:
        try:
            answer = json.loads(raw) if raw else {}
        except ValueError:
            answer = {}
        return status, answer if isinstance(answer, dict) else {}
    if status == 404 and missing_ok:
        return status, {}
    if status == 429 or status >= 500 or (status == 403 and retry_after):  # 403 + Retry-After: GitHub's rate limit
        try:
            delay = float(retry_after) if retry_after else None
        except ValueError:
            delay = None
        raise errors.TransientDeliveryError(f"forge API answered HTTP {status}", retry_after=delay)
    raise errors.PermanentDeliveryError("forge_refused", f"the forge API refused {method} with HTTP {status} "
                                        "(check the token's permissions and [forge.*] api_url)")
