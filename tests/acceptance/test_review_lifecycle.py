"""Reviews of branchless builds are superseded, a pruned release cannot be approved
(409 release_gone), and a review names its release by ID, never by server path. Real daemon."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.testing import until
from tests.acceptance.test_api_abuse import call, tar_gz

pytestmark = pytest.mark.slow

DEPLOY = """
[stages.deploy.targets.staging]
keep_releases = 1
[stages.deploy.targets.production]
requires_approval = true
"""


def _finished(d: Any, job_id: str) -> dict[str, Any] | None:
    status, doc, _ = call(d, "GET", f"/api/builds/{job_id}/status")
    assert status == 200, doc
    return doc if doc["status"] in ("COMPLETED", "FAILED", "CANCELLED") else None


def _build(d: Any, text: str, branch: str | None = None) -> dict[str, Any]:
    query = f"?branch={branch}" if branch else ""
    status, doc, _ = call(d, "POST", f"/api/builds{query}", body=tar_gz({"en/index.md": text}),
                          headers={"Content-Type": "application/gzip"})
    assert status == 202, doc
    st = until(lambda: _finished(d, doc["job_id"]), f"build {doc['job_id']}", 120)
    assert st["status"] == "COMPLETED", st["error"]
    assert st["review"]["state"] == "pending", st["review"]
    return st


def test_branchless_reviews_supersede_and_pruned_release_is_409(daemon: Any, tmp_path: Path) -> None:
    d = daemon(workers=1, extra=DEPLOY)
    d.config.write_text(d.config.read_text().replace('build = ["noop"]', 'build = ["render_html", "deploy"]'))
    d.start()
    a = _build(d, "# First\n\nOne.\n")
    # review.release is the release ID; the data dir's absolute path appears nowhere in the review.
    assert a["review"]["release"] == a["job_id"] and a["review"]["release_target"] == "staging"
    assert str(tmp_path) not in json.dumps(a["review"])

    # A newer upload with no branch (same source: bare API uploads) supersedes the older pending review.
    b = _build(d, "# Second\n\nTwo.\n")
    a_now = _finished(d, a["job_id"])
    assert a_now is not None and a_now["review"]["state"] == "superseded", a_now["review"]
    assert a_now["review"]["superseded_by"] == b["job_id"]
    reviews = call(d, "GET", "/api/reviews")[1]["reviews"]
    assert [r["job_id"] for r in reviews] == [b["job_id"]]

    # Another branch deploys to staging; keep_releases = 1 prunes b's release while b still waits.
    c = _build(d, "# Third\n\nThree.\n", branch="other")
    assert _finished(d, b["job_id"])["review"]["state"] == "pending"  # type: ignore[index]
    status, doc, _ = call(d, "POST", f"/api/builds/{b['job_id']}/approve")
    assert (status, doc["error"]["code"]) == (409, "release_gone"), doc
    assert str(tmp_path) not in doc["error"]["message"] and b["job_id"] in doc["error"]["message"]
    assert call(d, "GET", "/api/builds?kind=promote")[1]["jobs"] == []  # no promote job was created

    # The kept release still promotes: approval of c works end to end.
    status, doc, _ = call(d, "POST", f"/api/builds/{c['job_id']}/approve")
    assert status == 202, doc
    promoted = until(lambda: _finished(d, doc["promote_job"]), "the promote job", 120)
    assert promoted["status"] == "COMPLETED", promoted["error"]
    releases = call(d, "GET", "/api/targets/production/releases")[1]["releases"]
    assert releases[0]["promoted_from"] == c["job_id"]
