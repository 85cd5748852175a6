"""Fetching a commit for a job, and the one place a git URL with credentials is kept.

The store, statuses and logs only ever see redacted URLs; a URL with credentials is written to a
0600 file in the job's workspace when the job is submitted, read back for the worker's fetch,
and deleted when the job is over. git runs with no prompts and no user or system config, and its
error messages are scrubbed of the URL before they become a job's error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline import errors, redact
from stages.site import gitdates

CREDENTIALS_FILE = "git-url.secret"
"""A git URL with credentials lives only here (0600, in the job's workspace), never in the store."""


def keep_git_url(workspace_root: Path, url: str) -> bool:
    """Store a credential-bearing URL for the worker's fetch; True if there was anything to keep."""
    if not redact.has_credentials(url):
        return False
    path = workspace_root / CREDENTIALS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(url)
    return True


def git_url_for(workspace_root: Path, git: dict[str, Any]) -> str:
    """The URL to fetch: the stored (redacted) one, or the secret one kept in the workspace."""
    if git.get("credentials"):
        try:
            return (workspace_root / CREDENTIALS_FILE).read_text("utf-8")
        except FileNotFoundError:
            raise errors.FetchError("the credentials for this repository URL are gone (the job was pruned "
                                    "or its workspace cleaned); submit it again") from None
    return str(git["url"])


def forget_git_url(workspace_root: Path) -> None:
    """The job is over: the credentials are not needed any more."""
    (workspace_root / CREDENTIALS_FILE).unlink(missing_ok=True)


def _git_env() -> dict[str, str]:
    """No prompts, no user config; ``GIT_ALLOW_PROTOCOL`` (e.g. ``file`` in tests) is passed through."""
    env = {"GIT_TERMINAL_PROMPT": "0", "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_CONFIG_NOSYSTEM": "1",
           "HOME": os.environ.get("HOME", "/tmp")}
    for key in ("GIT_ALLOW_PROTOCOL", "GIT_SSH_COMMAND", "GIT_ASKPASS", "GIT_CONFIG_GLOBAL", "SSL_CERT_FILE", "http_proxy", "https_proxy", "no_proxy"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def fetch_git(url: str, ref: str | None, dest: Path, timeout: float = 300.0,
              dates_to: Path | None = None) -> tuple[str, str]:
    """Materialise ``ref`` of ``url`` at ``dest`` (created, no .git kept); returns (commit, tree).

    The tree id is what folds a commit's hook job and its push into one job. With ``dates_to``,
    each file's last commit time is written there (:data:`stages.site.gitdates.SIDECAR`): the
    history is fetched without file contents (a partial fetch, as ``git clone --filter`` does),
    so dating pages costs commits and trees, not every old version of every file.
    """
    tmp = dest.parent / (dest.name + ".git-tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    env = _git_env()

    def git(*args: str) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run(["git", *args], cwd=tmp if args[0] != "init" else None, capture_output=True,
                              timeout=timeout, env=env)
        if proc.returncode != 0:
            msg = redact.scrub((proc.stderr or proc.stdout).decode("utf-8", "replace").strip(), url)[-2000:]
            raise errors.FetchError(f"git {args[0]} failed: {msg}")
        return proc

    try:
        git("init", "-q", str(tmp))
        dates = _fetch_with_history(git, tmp, url, ref or "HEAD", timeout)
        if dates is None:  # the server or the repository refused a partial fetch: one commit will do
            git("fetch", "-q", "--depth", "1", url, ref or "HEAD")
            dates = gitdates.GitDates(note="shallow fetch: git history does not date pages")
        sha, tree = git("rev-parse", "FETCH_HEAD", "FETCH_HEAD^{tree}").stdout.decode().split()
        archive = git("archive", "--format=tar", "FETCH_HEAD").stdout
        dest.mkdir(parents=True, exist_ok=True)
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True, timeout=timeout)
        if dates_to is not None:
            dates_to.write_bytes(dates.to_json())
        return sha, tree
    except subprocess.TimeoutExpired as exc:
        raise errors.FetchError(f"git timed out after {timeout:g} s") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _fetch_with_history(git: Callable[..., subprocess.CompletedProcess[bytes]], tmp: Path, url: str, ref: str,
                        timeout: float) -> gitdates.GitDates | None:
    """Fetch ``ref`` with its history but no old blobs; the dates of its files, or None when the
    partial fetch failed (the caller falls back to one commit). The remote must be named and
    marked a promisor, or git refuses ``--filter`` (and cannot fetch the blobs ``archive`` needs)."""
    try:
        git("remote", "add", "origin", url)
        git("config", "remote.origin.promisor", "true")
        git("config", "remote.origin.partialclonefilter", "blob:none")
        git("fetch", "-q", "--filter=blob:none", "origin", ref)
    except errors.FetchError:
        return None
    try:
        log = git("-c", "core.quotepath=off", "log", "--format=%x00%ct", "--name-only", "--no-renames",
                  "FETCH_HEAD").stdout.decode("utf-8", "surrogateescape")
    except (errors.FetchError, subprocess.TimeoutExpired):
        return gitdates.GitDates(note="git history unavailable")
    files = gitdates.parse_log(log)
    return gitdates.GitDates(files=files, note="" if files else "no commits touch these files")
