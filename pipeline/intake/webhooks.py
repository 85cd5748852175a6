"""``POST /hooks/github|gitlab|generic``: signed push deliveries become build jobs.

Order inside each route: read the raw body (bounded), check the signature against those exact
bytes, refuse a delivery ID seen before, then parse. Nothing is parsed, stored or logged from an
unsigned body. A push builds the pushed commit; the worker fetches it (a failed fetch is a FAILED
job with ``source_fetch_failed``). The tree id is the content id, so a commit that the post-commit
hook already submitted folds into that job; the worker checks the fetched tree against the one the
payload named (``tree_mismatch``), so a payload's tree is trusted only as far as git confirms it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import time
import urllib.parse
from typing import Any

from aiohttp import web

from pipeline import config as config_mod
from pipeline import errors, redact
from pipeline.api.http import parse_json, read_body
from pipeline.api.keys import auth_key, config_key, store_key, submitter_key, webhook_lock_key
from pipeline.intake import channels, gitfetch, payloads, pullrequests, signatures, snapshot
from pipeline.intake.submitter import SubmitOptions
from pipeline.store.model import SubmitResult

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()
WEBHOOK_BODY_LIMIT = 25 * 2**20
"""GitHub caps payloads at 25 MB; nothing legitimate is larger."""
DELIVERY_PREFIX = "intake:delivery:"
"""Store refs under ``<prefix><provider>:<delivery id>``: the replay memory and what each delivery did."""


async def _signed_body(request: web.Request) -> bytes:
    request.app[auth_key].rate_check(f"hooks:{request.remote or 'unknown'}")
    limit = min(WEBHOOK_BODY_LIMIT, int(request.app[config_key].server.max_upload_mb * 2**20))
    return await read_body(request, limit)


def _json(body: bytes, content_type: str) -> dict[str, Any]:
    """JSON body, or GitHub's ``application/x-www-form-urlencoded`` form with a ``payload`` field."""
    raw: bytes | str = body
    if content_type == "application/x-www-form-urlencoded":
        raw = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("payload", [""])[0]
    doc = parse_json(raw, "the delivery body")
    if not isinstance(doc, dict):
        raise errors.InvalidJson("the delivery body must be a JSON object")
    return doc


async def _claim(request: web.Request, provider: str, delivery_id: str | None, header: str) -> str:
    if not delivery_id:
        raise errors.BadRequest(f"the {header} header is missing (it identifies the delivery)")
    if not await _first_delivery(request.app, provider, delivery_id):
        logger.warning("%s delivery %s refused: already received (replay)", provider, delivery_id)
        raise errors.InvalidSignature(f"delivery {delivery_id} was already received; replays are refused")
    return delivery_id


@routes.post("/hooks/github")
async def github(request: web.Request) -> web.Response:
    cfg = request.app[config_key].intake
    body = await _signed_body(request)
    signatures.verify_github(config_mod.secret(cfg.github_secret_env), cfg.github_secret_env, body,
                             request.headers.get("X-Hub-Signature-256"))
    delivery = await _claim(request, "github", request.headers.get("X-GitHub-Delivery"), "X-GitHub-Delivery")
    event = request.headers.get("X-GitHub-Event", "")
    doc = _json(body, request.content_type)
    if event == "ping":
        return web.json_response({"pong": True, "zen": doc.get("zen"), "hook_id": doc.get("hook_id")})
    if event == "pull_request":
        return await _preview(request.app, pullrequests.github(doc, delivery))
    if event != "push":
        return await _ignore(request.app, "github", delivery, f"GitHub event {event!r} does not build; only push does")
    return await _build(request.app, payloads.github(doc, delivery))


@routes.post("/hooks/gitlab")
async def gitlab(request: web.Request) -> web.Response:
    cfg = request.app[config_key].intake
    body = await _signed_body(request)
    signatures.verify_gitlab(config_mod.secret(cfg.gitlab_token_env), cfg.gitlab_token_env,
                             request.headers.get("X-Gitlab-Token"))
    h = request.headers
    delivery = await _claim(request, "gitlab", h.get("Idempotency-Key") or h.get("X-Gitlab-Event-UUID"),
                            "X-Gitlab-Event-UUID")
    event = h.get("X-Gitlab-Event", "")
    doc = _json(body, request.content_type)
    if event == "Merge Request Hook" or doc.get("object_kind") == "merge_request":
        return await _preview(request.app, pullrequests.gitlab(doc, delivery))
    if event != "Push Hook" and doc.get("object_kind") != "push":
        return await _ignore(request.app, "gitlab", delivery, f"GitLab event {event!r} does not build; only Push Hook does")
    return await _build(request.app, payloads.gitlab(doc, delivery))


@routes.post("/hooks/generic")
async def generic(request: web.Request) -> web.Response:
    cfg = request.app[config_key].intake
    body = await _signed_body(request)
    h = request.headers
    signatures.verify_generic(config_mod.secret(cfg.generic_secret_env), cfg.generic_secret_env, body,
                              h.get("webhook-id"), h.get("webhook-timestamp"), h.get("webhook-signature"),
                              now=time.time(), window=cfg.replay_window_seconds)
    delivery = await _claim(request, "generic", h.get("webhook-id"), "webhook-id")
    doc = _json(body, request.content_type)
    if doc.get("event", "push") == "ping":
        return web.json_response({"pong": True})
    return await _build(request.app, payloads.generic(doc, delivery))


async def _ignore(app: web.Application, provider: str, delivery: str, reason: str, **extra: Any) -> web.Response:
    logger.info("%s delivery %s ignored: %s", provider, delivery, reason)
    await _note_delivery(app, provider, delivery, ignored=reason)
    return channels.ignored(reason, delivery_id=delivery, **extra)


async def _preview(app: web.Application, pr: pullrequests.PullRequest) -> web.Response:
    response = await pullrequests.handle(app, pr)
    body = json.loads(response.text or "{}")
    if body.get("job_id"):
        await _note_delivery(app, pr.provider, pr.delivery_id, job_id=body["job_id"])
    else:
        await _note_delivery(app, pr.provider, pr.delivery_id, ignored=body.get("reason"))
    return response


async def _build(app: web.Application, push: payloads.Push) -> web.Response:
    cfg = app[config_key]
    if push.deleted:
        return await _ignore(app, push.provider, push.delivery_id, "the push deleted the branch")
    if push.branch is None and push.provider != "generic":
        return await _ignore(app, push.provider, push.delivery_id, "the push is not to a branch (a tag?)")
    if push.branch is not None and not channels.branch_allowed(cfg.intake.branches, push.branch):
        return await _ignore(app, push.provider, push.delivery_id,
                             f"branch {push.branch!r} is not in [intake] branches {cfg.intake.branches}", branch=push.branch)
    ref = push.sha or push.branch
    trigger = push.trigger()
    if push.tree:
        trigger["tree"] = push.tree
    opts = SubmitOptions(trigger=trigger, supersede_key=push.branch or push.url,
                                 source_hash=f"gittree:{push.tree}" if push.tree else None)
    submitter = app[submitter_key]
    if push.tree is None and push.sha is not None:
        result = await _fetch_then_submit(app, push, opts)
    else:
        result = await submitter.submit_git(push.url, ref, opts)
    logger.info("%s delivery %s: job %s for %s@%s %s%s", push.provider, push.delivery_id, result.job.id,
                redact.redact_url(push.repository), push.branch, (push.sha or "")[:12], " (duplicate)" if not result.created else "")
    await _note_delivery(app, push.provider, push.delivery_id, job_id=result.job.id)
    return channels.accepted(app, result)


async def _fetch_then_submit(app: web.Application, push: payloads.Push, opts: SubmitOptions) -> SubmitResult:
    """No tree id in the payload (GitLab): fetch now to learn it, so a hook's job is reused.

    If the fetch fails here, the job is still created from the URL and the worker's own fetch
    turns the failure into a FAILED job with git's message, as for every other git source.
    """
    cfg = app[config_key]
    submitter = app[submitter_key]
    assert push.sha is not None
    staging = snapshot.new_staging_dir(cfg.data_path)
    try:
        try:
            sha, tree = await asyncio.to_thread(gitfetch.fetch_git, push.url, push.sha, staging / "src",
                                                cfg.intake.fetch_timeout_seconds)
        except errors.FetchError as exc:
            logger.warning("%s delivery %s: fetching %s failed (%s); the worker will retry the fetch",
                           push.provider, push.delivery_id, redact.redact_url(push.repository), exc)
            return await submitter.submit_git(push.url, push.sha, opts)
        trigger = {**(opts.trigger or {}), "tree": tree, "sha": sha}
        opts = SubmitOptions(**{**opts.__dict__, "trigger": trigger, "source_hash": f"gittree:{tree}"})
        return await submitter.submit_path(staging / "src", opts)
    finally:
        await asyncio.to_thread(shutil.rmtree, staging, True)


def _delivery_key(provider: str, delivery_id: str) -> str:
    return f"{DELIVERY_PREFIX}{provider}:{delivery_id}"[:300]


def _delivery_lock(app: web.Application) -> asyncio.Lock:
    return app[webhook_lock_key]


async def _first_delivery(app: web.Application, provider: str, delivery_id: str) -> bool:
    """Record a verified delivery ID; False when it was seen before (a replay).

    The check and the record are one insert on the store's unique key, so two copies of a
    delivery arriving together, at this daemon or at several sharing the store, cannot both pass.
    """
    key = _delivery_key(provider, delivery_id)
    async with _delivery_lock(app):
        return await app[store_key].ref_add(key, json.dumps({"at": time.time()}))


async def _note_delivery(app: web.Application, provider: str, delivery_id: str, **info: Any) -> None:
    """Remember what a delivery did (the job it made, or why it was ignored) for support questions."""
    await app[store_key].ref_set(_delivery_key(provider, delivery_id), json.dumps({"at": time.time(), **info}))
