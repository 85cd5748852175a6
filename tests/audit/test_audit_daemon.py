"""The audit against the real daemon: a planted-fault site is built and deployed, audited from
the command line, fixed by a second build, audited again through the API. Also the missed-fire
catch-up at start, within the grace and not after it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.testing import DaemonProcess, until
from tests.acceptance.test_api_abuse import call, tar_gz

pytestmark = pytest.mark.slow

SITE = """
[site]
nav = [{Home = "index.md"}, {Guide = "guide.md"}, {Install = "install.md"}, {About = "about.md"}]
[audit]
targets = ["staging"]
critical_pages = ["en/install/"]
misfire_grace = 0
"""

FAULTY = {
    "en/index.md": "# Home\n\n## Start\n\nSee [the old page](gone.md).\n",
    "en/guide.md": "# Home\n\nJump to [start](index.md#nowhere).\n\n![diagram](img/missing.png)\n",
    "en/about.md": "---\ndate: 2015-03-01\n---\n# About\n\nOld text.\n",
    "en/old.md": "# Old\n\nNobody links here.\n",
}
FIXED = {
    "en/index.md": "# Home\n\n## Start\n\nSee [the old page](old.md).\n",
    "en/guide.md": "# Guide\n\nJump to [start](index.md#start).\n",
    "en/about.md": "---\ndate: 2026-11-20\n---\n# About\n\nNew text.\n",
    "en/old.md": "# Old\n\nLinked from home now.\n",
    "en/install.md": "# Install\n\nSteps.\n",
}
PLANTED = {("page-missing", "en/install/index.html", "critical"), ("broken-link", "en/index.html", "high"),
           ("missing-anchor", "en/guide/index.html", "medium"), ("image-broken", "en/guide/index.html", "high"),
           ("orphan-page", "en/old/index.html", "medium"), ("stale-page", "en/about/index.html", "low"),
           ("title-duplicate", "en/index.html", "medium"), ("title-duplicate", "en/guide/index.html", "medium")}


def pressroom(d: DaemonProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSROOM_")}
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, timeout=180,
                          env={**env, "PRESSROOM_SERVER": d.url})


def finished(d: DaemonProcess, job_id: str) -> dict[str, Any] | None:
    status, doc, _ = call(d, "GET", f"/api/builds/{job_id}/status")
    assert status == 200, doc
    return doc if doc["status"] in ("COMPLETED", "FAILED", "CANCELLED") else None


def build(d: DaemonProcess, files: dict[str, str]) -> None:
    status, doc, _ = call(d, "POST", "/api/builds", body=tar_gz(files), headers={"Content-Type": "application/gzip"})
    assert status == 202, doc
    st = until(lambda: finished(d, doc["job_id"]), "the build", 120)
    assert st["status"] == "COMPLETED", st["error"]


def daemon_for_sites(daemon: Any, extra: str = SITE) -> DaemonProcess:
    d: DaemonProcess = daemon(workers=1, extra=extra)
    d.config.write_text(d.config.read_text().replace('build = ["noop"]', 'build = ["render_html", "deploy"]'))
    return d


def test_planted_faults_found_then_fixed(daemon: Any) -> None:
    d = daemon_for_sites(daemon)
    d.start()
    build(d, FAULTY)

    run = pressroom(d, "audit", "run", "--target", "staging", "--wait")
    assert run.returncode == 0, run.stdout + run.stderr
    first_id = run.stdout.split()[0]
    assert "8 new" in run.stdout and "1 critical" in run.stdout, run.stdout
    status, first, _ = call(d, "GET", f"/api/audits/{first_id}")
    assert status == 200, first
    found = {(f["check"], f["page"], f["severity"]) for f in first["findings"]}
    assert found == PLANTED, found
    assert {f["state"] for f in first["findings"]} == {"new"}
    assert first["findings"][0]["check"] == "page-missing"  # critical first
    assert first["summary"]["severity"] == {"critical": 1, "high": 2, "medium": 4, "low": 1}
    job = finished(d, first_id)
    assert job is not None and job["kind"] == "audit"

    build(d, FIXED)
    status, doc, headers = call(d, "POST", "/api/audits", body=json.dumps({"target": "staging"}).encode(),
                                headers={"Content-Type": "application/json"})
    assert status == 202 and headers["Location"] == f"/api/builds/{doc['job_id']}/status", doc
    st = until(lambda: finished(d, doc["job_id"]), "the second audit", 120)
    assert st["status"] == "COMPLETED", st["error"]
    status, second, _ = call(d, "GET", f"/api/audits/{doc['job_id']}")
    assert second["summary"]["fixed"] == len(PLANTED) and second["summary"]["new"] == 0, second["summary"]
    assert {(f["check"], f["page"], f["severity"]) for f in second["findings"] if f["state"] == "fixed"} == PLANTED
    assert all(f["fixed_at"] for f in second["findings"] if f["state"] == "fixed")

    show = pressroom(d, "audit", "show", first_id)
    assert show.returncode == 0 and "8 new, 0 fixed" in show.stdout, show.stdout + show.stderr
    assert call(d, "GET", "/api/audits/findings?state=open")[1]["total"] == 0
    listed = call(d, "GET", "/api/audits")[1]["audits"]
    assert [a["id"] for a in listed] == [doc["job_id"], first_id]
    missing = pressroom(d, "audit", "show", "aud_nope")
    assert missing.returncode != 0 and "audit_not_found" in missing.stderr


def test_missed_fire_runs_once_at_start_within_grace_and_not_after(daemon: Any, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    within = now - timedelta(minutes=30)
    cron = f"{within.minute} {within.hour} * * *"
    d = daemon_for_sites(daemon, SITE.replace("misfire_grace = 0", f'misfire_grace = 2\ncron = "{cron}"'))
    d.start()

    def audits() -> list[dict[str, Any]]:
        return list(call(d, "GET", "/api/builds?kind=audit")[1]["jobs"])

    jobs = until(lambda: audits() or None, "the missed audit to be submitted", 30)
    assert len(jobs) == 1 and jobs[0]["trigger"]["kind"] == "schedule"
    assert jobs[0]["trigger"]["fire_time"].startswith(within.strftime("%Y-%m-%dT%H:%M"))
    d.stop()
    d.start()  # a restart within the grace: the same fire, not a second audit
    assert len(audits()) == 1
    d.stop()

    late = now - timedelta(hours=3)
    d.config.write_text(d.config.read_text().replace(cron, f"{late.minute} {late.hour} * * *"))
    d.start()  # 3 h after its fire time, 2 h of grace: skipped
    assert len(audits()) == 1


@pytest.mark.postgres
def test_two_daemons_on_one_store_fire_one_audit(tmp_path: Path, pg_server: Any) -> None:
    url = pg_server.new_database()
    within = datetime.now(UTC) - timedelta(minutes=30)
    extra = SITE.replace("misfire_grace = 0", f'misfire_grace = 2\ncron = "{within.minute} {within.hour} * * *"')
    made = []
    try:
        for name in ("one", "two"):
            root = tmp_path / name
            root.mkdir()
            made.append(DaemonProcess(root, store_url=url, data=tmp_path / "shared", workers=1, extra=extra))
        threads = [threading.Thread(target=d.start) for d in made]  # start together: both catch up at once
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for d in made:
            jobs = call(d, "GET", "/api/builds?kind=audit")[1]["jobs"]
            assert len(jobs) == 1 and jobs[0]["target"] == "staging", jobs
    finally:
        for d in made:
            d.stop()
