"""What every intake channel does around ``Submitter``: branch filter, trigger fields, the answer.

The webhook routes, the commit route and the drop folders share these so a job looks the same
whichever channel made it: the same response body as ``POST /api/builds``, the same cancel
fast-path for the jobs a newer trigger superseded.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from aiohttp import web

from pipeline.api.keys import worker_key
from pipeline.store.model import SubmitResult

MESSAGE_LIMIT = 2000


def branch_allowed(patterns: list[str], branch: str) -> bool:
    """``[intake] branches`` entries are names or globs (``release/*``)."""
    return any(fnmatch.fnmatchcase(branch, p) for p in patterns)


def nonempty(value: Any) -> str | None:
    """A string field of a JSON document a sender controls: the string, or None when absent or empty."""
    return value if isinstance(value, str) and value else None


def clip(text: Any, limit: int = MESSAGE_LIMIT) -> str | None:
    """Commit messages go into the trigger, which every status response carries: keep them short."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def after_submit(app: web.Application, result: SubmitResult) -> dict[str, Any]:
    """Cancel what the new job superseded (fast path) and build the ``202`` body."""
    worker = app[worker_key]
    if worker is not None:
        for old in result.superseded:
            worker.request_cancel(old)
    job = result.job
    return {"job_id": job.id, "status": job.status, "status_url": f"/api/builds/{job.id}/status",
            "events_url": f"/api/builds/{job.id}/events", "log_url": f"/api/builds/{job.id}/log",
            "read_token": job.read_token, "duplicate": not result.created, "superseded": result.superseded,
            "ignored": False}


def ignored(reason: str, **extra: Any) -> web.Response:
    return web.json_response({"ignored": True, "reason": reason, **extra}, status=202)


def accepted(app: web.Application, result: SubmitResult) -> web.Response:
    body = after_submit(app, result)
    return web.json_response(body, status=202, headers={"Location": body["status_url"]})
