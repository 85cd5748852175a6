"""Staleness from git history: a source in a git work tree is dated by its commits, not by file
mtimes (every snapshot is new) nor by the release history; a plain folder falls back as before."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from pipeline.testing import until
from stages.site import gitdates
from tests.acceptance.test_api_abuse import call
from tests.audit.test_audit_daemon import daemon_for_sites, finished

DAY = 86400

SITE = """
[site]
nav = [{Home = "index.md"}, {Old = "old.md"}, {Fresh = "fresh.md"}]
[audit]
targets = ["staging"]
misfire_grace = 0
stale_after_days = 365
"""


def _commit(repo: Path, files: dict[str, str], when: float, message: str) -> None:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    stamp = f"@{int(when)} +0000"
    env = {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp, "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.test", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.test"}
    subprocess.run(["git", "-C", str(repo), "add", *files], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", message], check=True, env=env)


def _repo(tmp_path: Path) -> Path:
    """``en/old.md`` last committed two years ago, ``en/fresh.md`` and the home page a day ago;
    the docs live in a subfolder so paths are mapped from the repository's root."""
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    now = time.time()
    _commit(repo, {"docs/en/old.md": "# Old\n\nWritten long ago.\n", "docs/en/fresh.md": "# Fresh\n\nDraft.\n",
                   "docs/en/index.md": "# Home\n\nSee [old](old.md) and [fresh](fresh.md).\n"}, now - 800 * DAY, "first")
    _commit(repo, {"docs/en/fresh.md": "# Fresh\n\nRewritten.\n", "docs/en/index.md": "# Home\n\n[old](old.md), [fresh](fresh.md).\n"},
            now - DAY, "recent")
    for path in (repo / "docs").rglob("*.md"):
        os.utime(path)  # every file is new on disk: only git knows which is old
    return repo


def test_collect_one_walk_maps_paths_from_the_subfolder(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    dates = gitdates.collect(repo / "docs")
    assert set(dates.files) == {"en/old.md", "en/fresh.md", "en/index.md"}, dates
    assert time.time() - dates.files["en/old.md"] > 700 * DAY
    assert time.time() - dates.files["en/fresh.md"] < 2 * DAY


def test_collect_falls_back_without_git_and_on_a_shallow_clone(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert gitdates.collect(plain).files == {}
    repo = _repo(tmp_path)
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow)], check=True)
    dates = gitdates.collect(shallow / "docs")
    assert dates.files == {} and "shallow" in dates.note


def _build_and_audit(d: Any, source: Path) -> dict[str, Any]:
    status, doc, _ = call(d, "POST", "/api/builds", body=json.dumps({"source": {"path": str(source)}}).encode(),
                          headers={"Content-Type": "application/json"})
    assert status == 202, doc
    st = until(lambda: finished(d, doc["job_id"]), "the build", 120)
    assert st["status"] == "COMPLETED", st["error"]
    status, doc, _ = call(d, "POST", "/api/audits", body=json.dumps({"target": "staging", "checks": ["stale"]}).encode(),
                          headers={"Content-Type": "application/json"})
    assert status == 202, doc
    st = until(lambda: finished(d, doc["job_id"]), "the audit", 120)
    assert st["status"] == "COMPLETED", st["error"]
    status, report, _ = call(d, "GET", f"/api/audits/{doc['job_id']}")
    assert status == 200, report
    return report


def _live(d: Any) -> Path:
    return next(p for p in d.root.rglob("current") if p.is_symlink() or p.is_dir()).resolve()


@pytest.mark.slow
def test_git_source_is_dated_by_its_commits_and_a_plain_folder_is_not(daemon: Any, tmp_path: Path) -> None:
    d = daemon_for_sites(daemon, SITE)
    d.start()
    repo = _repo(tmp_path)
    report = _build_and_audit(d, repo / "docs")
    stale = {f["page"]: f["message"] for f in report["findings"] if f["check"] == "stale-page"}
    assert set(stale) == {"en/old/index.html"}, stale
    assert "git history" in stale["en/old/index.html"]
    live = _live(d)
    published = json.loads((live / "en/.pressroom/lastmod.json").read_text())["pages"]
    assert set(published) >= {"en/old/", "en/fresh/"}, published
    sitemap = (live / "en/sitemap.xml").read_text()
    assert "<lastmod>" in sitemap and published["en/old/"] in sitemap

    plain = tmp_path / "plain"  # the same pages, no git: the release history dates them (today)
    subprocess.run(["cp", "-r", str(repo / "docs"), str(plain)], check=True)
    (plain / "en/index.md").write_text("# Home\n\n[old](old.md), [fresh](fresh.md), again.\n")  # a new build, not a fold
    report = _build_and_audit(d, plain)
    assert [f for f in report["findings"] if f["check"] == "stale-page" and f["state"] != "fixed"] == [], [(f["message"], f["state"]) for f in report["findings"]]
    live = _live(d)
    assert not (live / "en/.pressroom").exists()
    assert "<lastmod>" not in (live / "en/sitemap.xml").read_text()


@pytest.mark.parametrize("filters", [True, False], ids=["partial-fetch", "server-ignores-filters"])
def test_a_git_url_build_is_dated_by_its_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, filters: bool) -> None:
    """The worker's fetch of a git URL brings the history (commits and trees, no old blobs), so a
    pushed build is dated like a work tree; the snapshot itself still has no ``.git``."""
    from pipeline.intake import gitfetch

    repo = _repo(tmp_path)
    if filters:  # as GitHub and GitLab do: the history comes without file contents
        subprocess.run(["git", "-C", str(repo), "config", "uploadpack.allowFilter", "true"], check=True)
    monkeypatch.setenv("GIT_ALLOW_PROTOCOL", "file")
    dest, sidecar = tmp_path / "ws" / "source", tmp_path / "ws" / gitdates.SIDECAR
    dest.parent.mkdir()
    sha, _tree = gitfetch.fetch_git(f"file://{repo}", None, dest, dates_to=sidecar)
    assert (dest / "docs" / "en" / "old.md").is_file() and not (dest / ".git").exists()
    dated = gitdates.for_build(dest, dest.parent)
    assert dated.note == "", dated.note
    age = {path: (time.time() - when) / DAY for path, when in dated.files.items()}
    assert age["docs/en/old.md"] > 700 and age["docs/en/fresh.md"] < 2, age
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    assert sha == head.stdout.strip()
