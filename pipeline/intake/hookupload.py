"""``POST /hooks/commit``: the daemon's side of the post-commit hook (:mod:`pipeline.intake.hookrun`).

The hook sends a ``git archive`` of HEAD; the commit's facts (sha, tree, branch, author, message,
repository) travel in one header, ``X-Pressroom-Commit: <base64url JSON>``, so the body stays the
plain tar.gz that ``POST /api/builds`` accepts too. The tree id is the content id, so the same tree pushed later folds into this job;
the daemon computes it from the upload and refuses a claimed ``tree`` that differs
(``400 tree_mismatch``): otherwise a ``submit`` token could claim a tree ahead of its real push.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any

from aiohttp import web

from pipeline import errors, redact
from pipeline.api.auth import require
from pipeline.api.http import read_body
from pipeline.api.keys import config_key, submitter_key
from pipeline.intake import channels, payloads
from pipeline.intake.hookrun import HEADER
from pipeline.intake.submitter import SubmitOptions, request_hash

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()


def decode_facts(value: str | None) -> dict[str, Any]:
    if not value:
        raise errors.BadRequest(f"the {HEADER} header is missing (send it as the post-commit hook does)")
    try:
        doc = json.loads(base64.urlsafe_b64decode(value.encode() + b"=" * (-len(value) % 4)))
    except (binascii.Error, ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        raise errors.BadRequest(f"the {HEADER} header is not base64url-encoded JSON") from None
    if not isinstance(doc, dict):
        raise errors.BadRequest(f"the {HEADER} header must hold a JSON object")
    for key in ("sha", "tree"):
        if not isinstance(doc.get(key), str) or not payloads.SHA.match(doc[key]):
            raise errors.BadRequest(f"{HEADER}: {key!r} must be a full git object id")
    return doc


@routes.post("/hooks/commit")
async def commit(request: web.Request) -> web.Response:
    await require(request, "submit")
    cfg = request.app[config_key]
    facts = decode_facts(request.headers.get(HEADER))
    branch = channels.nonempty(facts.get("branch"))
    if branch is None:
        return channels.ignored("detached HEAD: only commits on a branch are built (rebases stay quiet)")
    if not channels.branch_allowed(cfg.intake.branches, branch):
        return channels.ignored(f"branch {branch!r} is not in [intake] branches {cfg.intake.branches}", branch=branch)
    body = await read_body(request, int(cfg.server.max_upload_mb * 2**20))
    if not body:
        raise errors.InvalidArchive("the request has no archive in its body")
    trigger = {"kind": "commit", "sha": facts["sha"], "tree": facts["tree"], "author": channels.nonempty(facts.get("author")),
               "message": channels.clip(facts.get("message")), "branch": branch,
               "repository": redact.redact_url(channels.nonempty(facts.get("repository")))}
    # The content id is the tree the daemon computes from the upload; the claim is only checked.
    opts = SubmitOptions(trigger=trigger, supersede_key=branch, claimed_tree=facts["tree"],
                         request_hash=request_hash(body))
    result = await request.app[submitter_key].submit_archive(body, opts)
    logger.info("commit %s on %s: job %s%s", facts["sha"][:12], branch, result.job.id,
                " (duplicate)" if not result.created else "")
    return channels.accepted(request.app, result)
