"""Intake test helpers: real git, deliveries shaped like GitHub's and GitLab's, an independent HMAC."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as c_hmac

T = TypeVar("T")
GITHUB_SECRET = "gh-secret-for-tests"
GITLAB_TOKEN = "gl-token-for-tests"
GENERIC_SECRET = "generic-secret-for-tests"


def hmac_sha256(key: bytes, msg: bytes) -> bytes:
    """HMAC from the cryptography package, not the stdlib ``hmac`` the daemon uses."""
    h = c_hmac.HMAC(key, hashes.SHA256())
    h.update(msg)
    return h.finalize()


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, f"git {args}: {proc.stderr}"
    return proc.stdout.strip()


@dataclass
class Repos:
    remote: Path
    clone: Path

    @property
    def url(self) -> str:
        return self.remote.as_uri()

    def commit(self, files: dict[str, str], message: str) -> tuple[str, str]:
        for rel, text in files.items():
            p = self.clone / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text, encoding="utf-8")
        git(self.clone, "add", "-A")
        git(self.clone, "commit", "-q", "-m", message)
        return self.head()

    def head(self) -> tuple[str, str]:
        sha, tree = git(self.clone, "rev-parse", "HEAD", "HEAD^{tree}").split()
        return sha, tree

    def push(self, branch: str = "main") -> None:
        git(self.clone, "push", "-q", "origin", branch)


def make_repos(root: Path) -> Repos:
    remote = root / "remote.git"
    git(root, "init", "-q", "--bare", "-b", "main", str(remote))
    git(root, "clone", "-q", str(remote), "clone")
    repos = Repos(remote, root / "clone")
    repos.commit({"docs/index.md": "# Home\n", "mkdocs.yml": "site_name: t\n"}, "first page")
    repos.push()
    return repos


def github_push(repos: Repos, branch: str, sha: str, tree: str, message: str = "Edit docs") -> dict[str, Any]:
    """A push event body as GitHub sends it (trimmed to the fields GitHub always includes)."""
    author = {"name": "Ada Writer", "email": "ada@example.com", "username": "ada"}
    commit = {"id": sha, "tree_id": tree, "distinct": True, "message": message, "timestamp": "2026-11-23T10:00:00Z",
              "url": f"https://github.com/acme/docs/commit/{sha}", "author": author, "committer": author,
              "added": [], "removed": [], "modified": ["docs/index.md"]}
    return {"ref": f"refs/heads/{branch}", "before": "0" * 40, "after": sha, "created": False, "deleted": False,
            "forced": False, "base_ref": None, "compare": "https://github.com/acme/docs/compare/x...y",
            "commits": [commit], "head_commit": commit,
            "repository": {"id": 1, "name": "docs", "full_name": "acme/docs", "private": False,
                           "html_url": "https://github.com/acme/docs", "clone_url": repos.url,
                           "ssh_url": "git@github.com:acme/docs.git", "default_branch": "main"},
            "pusher": {"name": "ada", "email": "ada@example.com"}, "sender": {"login": "ada", "id": 7}}


def github_headers(body: bytes, event: str = "push", delivery: str | None = None,
                   secret: str = GITHUB_SECRET) -> dict[str, str]:
    sig = "sha256=" + hmac_sha256(secret.encode(), body).hex()
    return {"Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/abc123", "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()), "X-GitHub-Hook-ID": "42",
            "X-Hub-Signature-256": sig}


def gitlab_push(repos: Repos, branch: str, sha: str, message: str = "Edit docs") -> dict[str, Any]:
    """A ``Push Hook`` body as GitLab sends it: no tree id anywhere."""
    return {"object_kind": "push", "event_name": "push", "before": "0" * 40, "after": sha,
            "ref": f"refs/heads/{branch}", "ref_protected": True, "checkout_sha": sha, "user_id": 4,
            "user_name": "Ada Writer", "user_username": "ada", "user_email": "", "project_id": 15,
            "project": {"id": 15, "name": "docs", "web_url": "https://gitlab.example.com/acme/docs",
                        "git_http_url": repos.url, "git_ssh_url": "git@gitlab.example.com:acme/docs.git",
                        "path_with_namespace": "acme/docs", "default_branch": "main"},
            "commits": [{"id": sha, "message": message + "\n", "title": message, "timestamp": "2026-11-23T10:00:00+00:00",
                         "url": f"https://gitlab.example.com/acme/docs/-/commit/{sha}",
                         "author": {"name": "Ada Writer", "email": "ada@example.com"},
                         "added": [], "modified": ["docs/index.md"], "removed": []}],
            "total_commits_count": 1,
            "repository": {"name": "docs", "url": "git@gitlab.example.com:acme/docs.git", "git_http_url": repos.url,
                           "homepage": "https://gitlab.example.com/acme/docs"}}


def gitlab_headers(token: str = GITLAB_TOKEN, uuid_: str | None = None) -> dict[str, str]:
    u = uuid_ or str(uuid.uuid4())
    return {"Content-Type": "application/json", "User-Agent": "GitLab/17.5.0", "X-Gitlab-Event": "Push Hook",
            "X-Gitlab-Token": token, "X-Gitlab-Event-UUID": u, "X-Gitlab-Webhook-UUID": str(uuid.uuid4()),
            "X-Gitlab-Instance": "https://gitlab.example.com", "Idempotency-Key": u}


def generic_headers(body: bytes, secret: str = GENERIC_SECRET, delivery: str | None = None,
                    timestamp: int | None = None) -> dict[str, str]:
    d = delivery or f"msg_{uuid.uuid4().hex}"
    ts = str(int(time.time()) if timestamp is None else timestamp)
    sig = base64.b64encode(hmac_sha256(secret.encode(), f"{d}.{ts}.".encode() + body)).decode()
    return {"Content-Type": "application/json", "webhook-id": d, "webhook-timestamp": ts,
            "webhook-signature": f"v1,{sig}"}


def dumps(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


async def post_github(client: Any, body: dict[str, Any], event: str) -> dict[str, Any]:
    """Deliver a signed GitHub event to the test app; it must be accepted (``202``)."""
    raw = dumps(body)
    resp = await client.post("/hooks/github", data=raw, headers=github_headers(raw, event=event))
    assert resp.status == 202
    return dict(await resp.json())


async def wait_for(check: Callable[[], Awaitable[T | None]], what: str, limit: float = 30.0) -> T:
    """Poll ``check`` until it returns something truthy, failing after ``limit`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {limit:g} s waiting for {what}")
        await asyncio.sleep(0.05)


def github_pull_request(repos: Repos, number: int, action: str, sha: str, branch: str = "feature", *,
                        fork: bool = False, merged: bool = False) -> dict[str, Any]:
    """A ``pull_request`` event body as GitHub sends it (trimmed to the fields GitHub always includes)."""
    base_repo = {"id": 1, "name": "docs", "full_name": "acme/docs", "fork": False, "clone_url": repos.url,
                 "html_url": "https://github.com/acme/docs"}
    head_repo = ({"id": 2, "name": "docs", "full_name": "mallory/docs", "fork": True, "clone_url": repos.url,
                  "html_url": "https://github.com/mallory/docs"} if fork else base_repo)
    pr = {"url": f"https://api.github.com/repos/acme/docs/pulls/{number}", "id": 1000 + number, "number": number,
          "state": "closed" if action == "closed" else "open", "title": "Explain <b>previews</b>",
          "html_url": f"https://github.com/acme/docs/pull/{number}", "user": {"login": "ada", "id": 7},
          "merged": merged, "head": {"label": f"acme:{branch}", "ref": branch, "sha": sha, "repo": head_repo},
          "base": {"label": "acme:main", "ref": "main", "sha": "1" * 40, "repo": base_repo}}
    return {"action": action, "number": number, "pull_request": pr, "repository": base_repo,
            "sender": {"login": "ada", "id": 7}}


def gitlab_merge_request(repos: Repos, iid: int, action: str, sha: str, *, oldrev: str | None = None,
                         fork: bool = False) -> dict[str, Any]:
    """A ``Merge Request Hook`` body as GitLab sends it."""
    attrs: dict[str, Any] = {"id": 500 + iid, "iid": iid, "title": "Explain previews", "state": "opened",
                             "action": action, "source_branch": "feature", "target_branch": "main",
                             "source_project_id": 16 if fork else 15, "target_project_id": 15,
                             "url": f"https://gitlab.example.com/acme/docs/-/merge_requests/{iid}",
                             "last_commit": {"id": sha, "message": "Edit docs"}}
    if oldrev:
        attrs["oldrev"] = oldrev
    project = {"id": 15, "name": "docs", "path_with_namespace": "acme/docs", "git_http_url": repos.url,
               "web_url": "https://gitlab.example.com/acme/docs"}
    return {"object_kind": "merge_request", "event_type": "merge_request", "user": {"username": "ada"},
            "project": project, "object_attributes": attrs, "source": {**project, "id": 16 if fork else 15},
            "target": project, "repository": {"name": "docs", "url": repos.url}}
