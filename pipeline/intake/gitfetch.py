"""Fetch one commit and learn its tree id: GitLab push payloads carry no tree id, and the tree id
is what folds a commit's hook job and its push into one job."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from pipeline import sources


def _env() -> dict[str, str]:
    """As the worker's fetch: no prompts, no system config; protocol pins pass through."""
    env = {"GIT_TERMINAL_PROMPT": "0", "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_CONFIG_NOSYSTEM": "1",
           "HOME": os.environ.get("HOME", "/tmp")}
    for key in ("GIT_ALLOW_PROTOCOL", "GIT_SSH_COMMAND", "SSL_CERT_FILE", "http_proxy", "https_proxy", "no_proxy"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def fetch_tree(url: str, ref: str, dest: Path, timeout: float) -> tuple[str, str]:
    """Materialise ``ref`` of ``url`` into ``dest`` (created, no .git); returns (commit, tree)."""
    tmp = dest.parent / (dest.name + ".git-tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    env = _env()

    def git(*args: str) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run(["git", *args], cwd=tmp if args[0] != "init" else None, capture_output=True,
                              timeout=timeout, env=env)
        if proc.returncode != 0:
            msg = (proc.stderr or proc.stdout).decode("utf-8", "replace").strip()[-2000:]
            raise sources.FetchError(f"git {args[0]} failed: {msg}")
        return proc

    try:
        git("init", "-q", str(tmp))
        git("fetch", "-q", "--depth", "1", url, ref)
        sha, tree = git("rev-parse", "FETCH_HEAD", "FETCH_HEAD^{tree}").stdout.decode().split()
        archive = git("archive", "--format=tar", "FETCH_HEAD").stdout
        dest.mkdir(parents=True, exist_ok=True)
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True, timeout=timeout)
        return sha, tree
    except subprocess.TimeoutExpired as exc:
        raise sources.FetchError(f"git timed out after {timeout:g} s") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
