"""The previews page (``/previews``): every pull request with a live preview, its age and state.

The records are the ones intake keeps per pull request (``pipeline.intake.pullrequests``); a
preview the retention job removed is no longer listed. Titles are pull-request content, so they
go through Jinja's autoescape; links are shown only when they are http(s).
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from pipeline.api.keys import store_key
from pipeline.dashboard import present
from pipeline.dashboard.render import Viewer, page
from pipeline.intake import pullrequests


def preview_view(record: dict[str, Any], now: float) -> dict[str, Any]:
    opened = record.get("opened_at")
    return {"number": record.get("number"), "title": record.get("title") or "", "state": record.get("state", "open"),
            "pr_url": present.web_link(record.get("html_url")), "preview_url": present.web_link(record.get("preview_url")),
            "job_id": record.get("job_id"), "sha": str(record.get("sha") or "")[:10], "fork": bool(record.get("fork")),
            "age": present.seconds(now - opened) if isinstance(opened, (int, float)) else "–",
            "provider": record.get("provider")}


@page("Previews", "previews")
async def previews_page(request: web.Request, v: Viewer) -> dict[str, Any]:
    """Live pull-request previews, newest pull request first."""
    now = time.time()
    records = await pullrequests.previews(request.app[store_key])
    live = [preview_view(r, now) for r in records if r.get("state") != "removed"]
    return {"template": "previews.html", "previews": live}
