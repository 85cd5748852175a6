"""Push payloads as GitHub, GitLab and generic senders shape them, turned into one ``Push``.

Parsing is separate from the routes so each provider's quirks sit in one small function and the
tests can feed real-shaped payloads without HTTP.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipeline import errors
from pipeline.intake.channels import clip, nonempty
from pipeline.redact import redact_url

ZERO_SHA = "0" * 40
SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


@dataclass(frozen=True)
class Push:
    provider: str
    delivery_id: str
    url: str
    """What git fetches (clone URL)."""
    repository: str
    """What people call the repository (``org/docs``), shown in status and notifications."""
    branch: str | None
    sha: str | None
    tree: str | None = None
    author: str | None = None
    message: str | None = None
    deleted: bool = False

    def trigger(self) -> dict[str, Any]:
        return {"kind": "webhook", "provider": self.provider, "delivery_id": self.delivery_id,
                "repository": redact_url(self.repository), "url": redact_url(self.url), "sha": self.sha, "author": self.author,
                "message": self.message, "branch": self.branch}


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _sha(value: Any) -> str | None:
    s = nonempty(value)
    return s.lower() if s and SHA.match(s.lower()) else None


def _branch(ref: Any) -> str | None:
    s = nonempty(ref)
    return s[len("refs/heads/"):] if s and s.startswith("refs/heads/") else None


def _person(author: Any) -> str | None:
    a = _obj(author)
    name, email = nonempty(a.get("name")), nonempty(a.get("email"))
    if name and email:
        return f"{name} <{email}>"
    return name or email or nonempty(a.get("username"))


def github(doc: dict[str, Any], delivery_id: str) -> Push:
    """A GitHub ``push`` event (``ref``, ``after``, ``head_commit.tree_id``, ``repository.clone_url``)."""
    repo = _obj(doc.get("repository"))
    url = nonempty(repo.get("clone_url")) or nonempty(repo.get("url"))
    if not url:
        raise errors.BadRequest("the push payload has no repository.clone_url")
    head = _obj(doc.get("head_commit"))
    after = _sha(doc.get("after"))
    return Push(provider="github", delivery_id=delivery_id, url=url,
                repository=nonempty(repo.get("full_name")) or url, branch=_branch(doc.get("ref")),
                sha=after if after != ZERO_SHA else None, tree=_sha(head.get("tree_id")),
                author=_person(head.get("author")) or _person(doc.get("pusher")), message=clip(head.get("message")),
                deleted=bool(doc.get("deleted")) or after == ZERO_SHA)


def gitlab(doc: dict[str, Any], delivery_id: str) -> Push:
    """A GitLab ``Push Hook`` (``ref``, ``checkout_sha``, ``commits[]``, ``project.git_http_url``)."""
    project = _obj(doc.get("project"))
    repo = _obj(doc.get("repository"))
    url = nonempty(project.get("git_http_url")) or nonempty(repo.get("git_http_url")) or nonempty(repo.get("url"))
    if not url:
        raise errors.BadRequest("the push payload has no project.git_http_url")
    sha = _sha(doc.get("checkout_sha")) or _sha(doc.get("after"))
    commit: dict[str, Any] = {}
    for c in doc.get("commits") or []:
        if isinstance(c, dict) and _sha(c.get("id")) == sha:
            commit = c
    author = _person(commit.get("author")) or nonempty(doc.get("user_name"))
    return Push(provider="gitlab", delivery_id=delivery_id, url=url,
                repository=nonempty(project.get("path_with_namespace")) or nonempty(repo.get("name")) or url,
                branch=_branch(doc.get("ref")), sha=sha if sha != ZERO_SHA else None, author=author,
                message=clip(commit.get("message")), deleted=_sha(doc.get("after")) == ZERO_SHA)


def generic(doc: dict[str, Any], delivery_id: str) -> Push:
    """``{"repository": url, "branch": "main", "sha"?, "tree"?, "author"?, "message"?, "name"?}``."""
    url = nonempty(doc.get("repository"))
    if not url:
        raise errors.BadRequest('the body needs "repository": the URL git should fetch')
    branch = nonempty(doc.get("branch")) or _branch(doc.get("ref"))
    sha = doc.get("sha")
    if sha is not None and _sha(sha) is None:
        raise errors.BadRequest('"sha" must be a full commit id (40 or 64 hex digits)')
    tree = doc.get("tree")
    if tree is not None and _sha(tree) is None:
        raise errors.BadRequest('"tree" must be a full tree id (40 or 64 hex digits)')
    return Push(provider="generic", delivery_id=delivery_id, url=url, repository=nonempty(doc.get("name")) or url,
                branch=branch, sha=_sha(sha), tree=_sha(tree), author=nonempty(doc.get("author")),
                message=clip(doc.get("message")))
