"""A held translation through a real daemon process: the build fans out, German waits in the review
queue with its own diff, only an admin can approve it, and the approval puts /de/ live on the sites
origin next to the English that was already there."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

import pytest

from pipeline.testing import until
from tests.acceptance.test_api_abuse import call, tar_gz

pytestmark = pytest.mark.slow

TOKENS = "boss:t3-admin-token:admin+submit+read,reader:t3-read-token:read"
EXTRA = """translate = ["translate", "render_html", "deploy"]
[site]
title = "T3"
languages = ["en", "de"]
default_language = "en"
[stages.deploy.targets.staging]
[languages.de]
auto_publish = false
"""


def _page(d: Any, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(d.sites_url + path, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def _done(d: Any, job_id: str) -> dict[str, Any] | None:
    status, doc, _ = call(d, "GET", f"/api/builds/{job_id}/status", token="t3-read-token")
    assert status == 200, doc
    return doc if doc["status"] in ("COMPLETED", "FAILED", "CANCELLED") else None


def _reviewed(d: Any, job_id: str) -> dict[str, Any] | None:
    status, doc, _ = call(d, "GET", f"/api/translations/{job_id}/status", token="t3-read-token")
    assert status == 200, doc
    return doc if doc["status"] == "COMPLETED" and doc.get("review") else None


def test_held_translation_is_approved_through_the_api(daemon: Any, tmp_path: Path) -> None:
    d = daemon(workers=2, auth="token", pipeline=("render_html", "deploy"), extra=EXTRA,
               env={"PRESSROOM_TOKENS": TOKENS})
    d.start()
    files = {"en/index.md": "# Home\n\nHello.\n", "en/guide.md": "# Guide\n\nRead.\n", "de/index.md": "# Start\n\nHallo.\n"}
    status, job, _ = call(d, "POST", "/api/builds", token="t3-admin-token", body=tar_gz(files),
                          headers={"Content-Type": "application/gzip"})
    assert status == 202, job
    build = until(lambda: _done(d, job["job_id"]), "the build", 120)
    assert build["status"] == "COMPLETED", build["error"]
    assert _page(d, "/sites/staging/en/")[0] == 200

    child = until(lambda: (_done(d, job["job_id"]) or {}).get("translations", {}).get("de"), "the German translate job", 60)
    de = until(lambda: _reviewed(d, child["translation_id"]), "German's review", 120)
    assert de["review"]["state"] == "pending" and de["review"]["translation"]["completion"] == 50.0
    assert _page(d, "/sites/staging/de/")[0] == 404
    assert _page(d, "/sites/translation-de/de/")[0] == 200

    status, queue, _ = call(d, "GET", "/api/reviews", token="t3-read-token")
    assert status == 200 and [r["job_id"] for r in queue["reviews"]] == [de["job_id"]]
    diff = urllib.request.Request(d.url + de["review"]["preview_url"], headers={"Authorization": "Bearer t3-read-token"})
    with urllib.request.urlopen(diff, timeout=10) as r:
        assert r.status == 200 and "de/guide/" in r.read().decode()

    status, doc, _ = call(d, "POST", f"/api/translations/{de['job_id']}/approve", token="t3-read-token")
    assert status == 403, doc
    status, doc, _ = call(d, "POST", f"/api/translations/{de['job_id']}/approve", token="t3-admin-token")
    assert status == 202, doc
    promoted = until(lambda: _done(d, doc["promote_job"]), "the promote job", 120)
    assert promoted["status"] == "COMPLETED", promoted["error"]
    code, german = _page(d, "/sites/staging/de/")
    assert code == 200 and "Hallo." in german
    code, english = _page(d, "/sites/staging/en/")
    assert code == 200 and "Hello." in english
    status, after, _ = call(d, "GET", f"/api/translations/{de['job_id']}/status", token="t3-read-token")
    assert after["review"]["state"] == "promoted"
