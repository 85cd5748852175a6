"""A pull request's preview through the real daemon: the signed event builds the head commit,
the site is served on the sites origin as ``preview-<n>`` with ``noindex``, staging and production
are untouched and nothing waits for approval; merging removes the site after ``keep_days``."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from pipeline.testing import DaemonProcess, until
from tests.intake import helpers

pytestmark = pytest.mark.slow
PREVIEWS = """
[previews]
keep_days = 0
[retention]
interval_hours = 0.0005
"""


def fetch(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def hook(d: DaemonProcess, body: dict[str, Any]) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    status, _, answer = fetch(d.url + "/hooks/github", raw, helpers.github_headers(raw, event="pull_request"))
    assert status == 202, answer
    return dict(json.loads(answer))


def test_a_pull_request_preview_is_served_noindex_and_removed_after_merge(tmp_path: Path, repos: helpers.Repos) -> None:
    d = DaemonProcess(tmp_path, workers=1, extra=PREVIEWS, env={"PRESSROOM_GITHUB_SECRET": helpers.GITHUB_SECRET})
    d.config.write_text(d.config.read_text().replace('build = ["noop"]', 'build = ["render_html", "deploy"]'))
    try:
        d.start()
        sha = repos.commit({"docs/index.md": "# Preview of pull request 12\n"}, "edit")[0]
        repos.push()
        answer = hook(d, helpers.github_pull_request(repos, 12, "opened", sha))
        assert answer["preview_url"] == f"{d.sites_url}/sites/preview-12/"

        def finished() -> dict[str, Any] | None:
            st = json.loads(fetch(f"{d.url}/api/builds/{answer['job_id']}/status")[2])
            return st if st["status"] in ("COMPLETED", "FAILED", "CANCELLED") else None

        st = until(finished, "the preview build", 120)
        assert st["status"] == "COMPLETED", st["error"]
        assert st["target"] == "preview-12" and st["review"] is None  # never waits for approval
        assert st["live_url"] == answer["preview_url"]
        status, headers, page = fetch(answer["preview_url"] + "en/")
        assert status == 200 and b"Preview of pull request 12" in page
        assert headers["X-Robots-Tag"] == "noindex, nofollow"
        for other in ("staging", "production"):  # previews never touch them
            assert fetch(f"{d.sites_url}/sites/{other}/")[0] == 404
            assert not (tmp_path / "data" / "sites" / other / "current").exists()

        hook(d, helpers.github_pull_request(repos, 12, "closed", sha, merged=True))
        until(lambda: fetch(answer["preview_url"])[0] == 404, "the retention job to remove the merged preview", 60)
        assert not (tmp_path / "data" / "sites" / "preview-12").exists()
    finally:
        d.stop()
