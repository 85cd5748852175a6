"""What a translate job's end tells people: ``translation.ready`` to that language's owners.

A translate job's terminal transition arrives as ``translate.completed`` (the store names events
``<kind>.<outcome>``); owners think in languages, not jobs, so a completed one becomes one
``translation.ready`` event carrying the counts, the publishing decision and the URL to look at:
the live ``/<lang>/`` when it was published, else its ``translation-<lang>`` preview (and the
review's diff when it waits for approval). The router threads it under the build's Slack thread
(``build_id``) and sends it only where the language's ``[languages.<code>]`` table says.

A failed or cancelled translate job is not announced here: it shows in its build's status
(``translations``) and the dashboard.
"""

from __future__ import annotations

from typing import Any

from pipeline import config as config_mod
from pipeline.jobs import status, translation_policy
from pipeline.store import Transition


def events(cfg: config_mod.Config, t: Transition) -> list[dict[str, Any]]:
    """The announced events of a translate job's transition (only completion is announced)."""
    if t.event != "translate.completed":
        return []
    job = t.job
    result = job.result or {}
    translation = dict(result.get("translation") or {})
    lang = (job.payload or {}).get("language") or translation.get("language")
    if not lang:
        return []
    review = result.get("review") or {}
    public = (cfg.server.public_url or f"http://{cfg.server.host}:{cfg.server.port}").rstrip("/")
    for key in ("live_url", "preview_url"):
        translation[key] = site_url(cfg, translation.get(key))
    if translation.get("reason"):
        translation["reason_text"] = translation_policy.explain(str(translation["reason"]), cfg, str(lang))
    if review.get("state") == "pending" and review.get("preview_url"):
        translation["diff_url"] = f"{public}/{str(review['preview_url']).lstrip('/')}"
        translation["approve_url"] = f"{public}/api/translations/{job.id}/approve"
    view = status.job_view(job, t.stages)
    view["language"] = lang
    return [{"type": "translation.ready", "job": view, "previous_status": t.previous_status, "language": lang,
             "build_id": (job.payload or {}).get("build_id") or job.parent_id, "translation": translation}]


def site_url(cfg: config_mod.Config, url: Any) -> str | None:
    """A deployed page's URL as a mail reader can open it (the sites origin for ``/sites/...``)."""
    if not isinstance(url, str) or not url:
        return None
    if "://" in url:
        return url
    return f"{cfg.sites_url}/{url.lstrip('/')}"

