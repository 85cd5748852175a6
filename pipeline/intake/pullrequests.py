"""Pull-request previews: GitHub ``pull_request`` and GitLab ``merge_request`` events build the
head commit into the target ``preview-<number>``, served on the sites origin.

A preview build is an ordinary build job with a target no one configures: the deploy stage gives
``preview-<n>`` a local directory (``stages.deploy.options.Options.target_named``), so it never
touches staging or production, never opens a review and is never promoted. Its supersede key is
the target, so a newer push to the pull request cancels a queued build of an older one.

Each pull request's state is kept in the store's refs (``preview:<number>``): the dashboard lists
live previews from it, and the retention job removes a closed or merged one's site after
``[previews] keep_days``. Pull requests from forks are built only with ``[previews] forks = true``;
their code is fetched from the fork's own URL, and the preview target runs no command and pushes
nowhere, so nothing in the build can reach a deploy credential.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from pipeline import errors
from pipeline.api.keys import config_key, store_key, submitter_key
from pipeline.intake import channels
from pipeline.intake.channels import clip, nonempty
from pipeline.intake.payloads import SHA
from pipeline.intake.submitter import SubmitOptions
from pipeline.redact import redact_url
from pipeline.store import Store

logger = logging.getLogger(__name__)
REF_PREFIX = "preview:"
"""Refs ``preview:<number>`` hold a pull request's preview state (JSON)."""
GITHUB_BUILD = ("opened", "synchronize", "reopened")
GITHUB_CLOSE = ("closed",)
GITLAB_BUILD = ("open", "reopen")
GITLAB_CLOSE = ("close", "merge")
MAX_NUMBER = 10**10


@dataclass(frozen=True)
class PullRequest:
    provider: str
    delivery_id: str
    number: int
    action: str
    """``build``, ``close`` or ``ignore`` (with ``reason``)."""
    url: str
    """What git fetches: the head repository (the fork's, for a fork)."""
    repository: str
    """The base repository's name (``acme/docs``)."""
    sha: str | None
    branch: str | None
    title: str | None
    html_url: str | None
    fork: bool
    merged: bool = False
    author: str | None = None
    reason: str | None = None

    @property
    def target(self) -> str:
        return f"preview-{self.number}"

    def trigger(self) -> dict[str, Any]:
        return {"kind": "webhook", "provider": self.provider, "delivery_id": self.delivery_id,
                "repository": redact_url(self.repository), "url": redact_url(self.url), "sha": self.sha,
                "author": self.author, "branch": self.branch,
                "pull_request": {"number": self.number, "url": self.html_url, "title": self.title, "fork": self.fork}}


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < MAX_NUMBER:
        raise errors.BadRequest("the pull request number must be a positive integer")
    return value


def _sha(value: Any) -> str | None:
    s = nonempty(value)
    return s.lower() if s and SHA.match(s.lower()) else None


def github(doc: dict[str, Any], delivery_id: str) -> PullRequest:
    """A GitHub ``pull_request`` event: ``action``, ``number``, ``pull_request.head`` / ``.base``."""
    pr = _obj(doc.get("pull_request"))
    head, base = _obj(pr.get("head")), _obj(pr.get("base"))
    head_repo, base_repo = _obj(head.get("repo")), _obj(base.get("repo")) or _obj(doc.get("repository"))
    url = nonempty(head_repo.get("clone_url")) or nonempty(base_repo.get("clone_url"))
    if not url:
        raise errors.BadRequest("the pull_request payload has no pull_request.head.repo.clone_url")
    base_name = nonempty(base_repo.get("full_name")) or url
    fork = not head_repo or nonempty(head_repo.get("full_name")) != base_name
    raw = nonempty(doc.get("action")) or ""
    action = "build" if raw in GITHUB_BUILD else "close" if raw in GITHUB_CLOSE else "ignore"
    return PullRequest(provider="github", delivery_id=delivery_id, number=_number(doc.get("number", pr.get("number"))),
                       action=action, url=url, repository=base_name, sha=_sha(head.get("sha")),
                       branch=nonempty(head.get("ref")), title=clip(pr.get("title"), 300), html_url=nonempty(pr.get("html_url")),
                       fork=fork, merged=bool(pr.get("merged")), author=nonempty(_obj(pr.get("user")).get("login")),
                       reason=None if action != "ignore" else f"pull_request action {raw!r} does not change the preview")


def gitlab(doc: dict[str, Any], delivery_id: str) -> PullRequest:
    """A GitLab ``Merge Request Hook``: ``object_attributes`` (``iid``, ``action``, ``last_commit``), ``source``."""
    attrs = _obj(doc.get("object_attributes"))
    source, project = _obj(doc.get("source")), _obj(doc.get("project"))
    url = nonempty(source.get("git_http_url")) or nonempty(project.get("git_http_url"))
    if not url:
        raise errors.BadRequest("the merge_request payload has no source.git_http_url")
    raw = nonempty(attrs.get("action")) or ""
    # "update" is also sent for a title or label change; only one with "oldrev" brought new commits.
    action = ("build" if raw in GITLAB_BUILD or (raw == "update" and attrs.get("oldrev"))
              else "close" if raw in GITLAB_CLOSE else "ignore")
    fork = attrs.get("source_project_id") != attrs.get("target_project_id")
    return PullRequest(provider="gitlab", delivery_id=delivery_id, number=_number(attrs.get("iid")), action=action, url=url,
                       repository=nonempty(project.get("path_with_namespace")) or url,
                       sha=_sha(_obj(attrs.get("last_commit")).get("id")), branch=nonempty(attrs.get("source_branch")),
                       title=clip(attrs.get("title"), 300), html_url=nonempty(attrs.get("url")), fork=fork,
                       merged=raw == "merge", author=nonempty(_obj(doc.get("user")).get("username")),
                       reason=None if action != "ignore" else f"merge_request action {raw!r} brings no new commits")


async def handle(app: web.Application, pr: PullRequest) -> web.Response:
    """Build, close or ignore; the answer is the push webhook's (``202`` with a job, or ``ignored``)."""
    cfg = app[config_key]
    if not cfg.previews.enabled:
        return channels.ignored("pull-request previews are off ([previews] enabled = false)", delivery_id=pr.delivery_id)
    if pr.action == "ignore":
        return channels.ignored(pr.reason or "nothing to do", delivery_id=pr.delivery_id)
    store = app[store_key]
    if pr.action == "close":
        state = await mark_closed(store, pr)
        return channels.ignored(f"pull request #{pr.number} {state}; its preview is removed after "
                                f"{cfg.previews.keep_days:g} day(s)", delivery_id=pr.delivery_id, pull_request=pr.number)
    if pr.fork and not cfg.previews.forks:
        return channels.ignored(f"pull request #{pr.number} comes from a fork; set [previews] forks = true to build it",
                                delivery_id=pr.delivery_id, pull_request=pr.number)
    if pr.sha is None:
        raise errors.BadRequest("the pull request event has no head commit id")
    opts = SubmitOptions(trigger=pr.trigger(), supersede_key=pr.target, target=pr.target)
    result = await app[submitter_key].submit_git(pr.url, pr.sha, opts)
    preview_url = f"{cfg.sites_url}/sites/{pr.target}/"
    await _update(store, pr.number, {"number": pr.number, "provider": pr.provider, "repository": redact_url(pr.repository),
                                     "title": pr.title, "html_url": pr.html_url, "fork": pr.fork, "state": "open",
                                     "closed_at": None, "job_id": result.job.id, "sha": pr.sha, "target": pr.target,
                                     "preview_url": preview_url})
    logger.info("%s delivery %s: preview job %s for pull request #%d at %s", pr.provider, pr.delivery_id,
                result.job.id, pr.number, pr.sha[:12])
    body = channels.after_submit(app, result)
    body.update({"pull_request": pr.number, "preview_url": preview_url})
    return web.json_response(body, status=202, headers={"Location": body["status_url"]})


async def mark_closed(store: Store, pr: PullRequest) -> str:
    state = "merged" if pr.merged else "closed"
    await _update(store, pr.number, {"number": pr.number, "provider": pr.provider, "state": state, "closed_at": time.time(),
                                     "title": pr.title, "html_url": pr.html_url})
    return state


async def _update(store: Store, number: int, values: dict[str, Any]) -> None:
    key = f"{REF_PREFIX}{number}"
    old = await store.ref_get(key)
    record = json.loads(old) if old else {"opened_at": time.time()}
    record.update({k: v for k, v in values.items() if v is not None or k == "closed_at"})
    record["updated_at"] = time.time()
    await store.ref_set(key, json.dumps(record))


async def previews(store: Store) -> list[dict[str, Any]]:
    """Every pull request with a preview record, newest number first (the dashboard's list)."""
    rows = await store.refs_with_prefix(REF_PREFIX)
    records = [json.loads(value) for _key, value, _at in rows]
    return sorted(records, key=lambda r: int(r.get("number", 0)), reverse=True)
