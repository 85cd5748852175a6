"""Which forge repository a build reports to, for builds whose trigger names only a git URL.

A forge webhook's trigger names its provider and ``owner/repo``; the post-commit hook and a JSON
git source know only a remote URL (``https://host/owner/repo.git``, ``git@host:owner/repo.git``,
``ssh://git@host:2222/group/sub/repo.git``). The URL's host decides the forge: a configured
forge's explicit ``hosts`` first, then the web host its ``api_url`` implies (``api.github.com``
-> ``github.com``, otherwise the API's own host), and only forges with a token count, so an
unconfigured forge never gets a report. Ports and schemes are ignored because one repository is
reached over https and ssh on different ports. Credentials in the URL are never kept: only the
host and the path leave this module.

A build whose URL names a host no forge claims reports nothing; why is logged once per host (each
transition of each build asks again, so per-build logging would repeat on every state change).
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from pipeline import config as config_mod

logger = logging.getLogger(__name__)
PROVIDERS = ("github", "gitlab")
REMOTE_SCHEMES = {"http", "https", "ssh", "git", "git+ssh", "ssh+git"}
SCP_LIKE = re.compile(r"^(?:[^@/:]+@)?(?P<host>[A-Za-z0-9.-]+):(?!//)(?P<path>[^\\]+)$")
PATH = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
TOLD_LIMIT = 1000
_told: set[str] = set()


def parse_remote(url: str) -> tuple[str, str] | None:
    """``(host, "owner/…/repo")`` of a forge-style remote URL; None for local paths, ``file://`` and the like."""
    url = url.strip()
    if "://" in url:
        try:
            parts = urlsplit(url)
            host, path = parts.hostname, parts.path
        except ValueError:
            return None
        if parts.scheme.lower() not in REMOTE_SCHEMES:
            return None
    else:
        match = SCP_LIKE.match(url)
        if match is None:
            return None
        host, path = match["host"], match["path"]
    path = path.strip("/")
    path = path.removesuffix(".git").rstrip("/")
    if not host or not PATH.match(path) or any(part in (".", "..") for part in path.split("/")):
        return None
    return host.lower().rstrip("."), path


def forge_hosts(cfg: config_mod.Config) -> dict[str, str]:
    """Web host -> provider for every forge with a token; explicit ``hosts`` win over derived ones."""
    forges = [(name, getattr(cfg.forge, name)) for name in PROVIDERS]
    forges = [(name, forge) for name, forge in forges if forge.token_env]
    table: dict[str, str] = {}
    for name, forge in forges:
        for host in forge.hosts:
            table.setdefault(host.lower().rstrip("."), name)
    for name, forge in forges:
        try:
            host = (urlsplit(forge.api_url).hostname or "").rstrip(".")
        except ValueError:
            continue
        if name == "github" and host == "api.github.com":
            host = "github.com"
        if host:
            table.setdefault(host, name)
    return table


def repository_for(cfg: config_mod.Config, trigger: dict[str, Any]) -> tuple[str, str] | None:
    """``(provider, repository)`` a build's statuses go to, or None when it has no forge repository."""
    provider, repository = trigger.get("provider"), trigger.get("repository")
    if not isinstance(repository, str) or not repository:
        return None
    if provider in PROVIDERS:
        return str(provider), repository
    parsed = parse_remote(repository)
    if parsed is None:
        return None  # a local path or a bare name: not a forge repository, nothing to explain
    host, path = parsed
    provider = forge_hosts(cfg).get(host)
    if provider is None:
        _tell(host, f"builds of {host}/{path} report no commit status: host {host!r} is no configured forge's "
                    "(set [forge.github] or [forge.gitlab] token_env, api_url or hosts)")
        return None
    if provider == "github" and path.count("/") != 1:
        _tell(f"{host}/{path}", f"builds of {host}/{path} report no commit status: a GitHub repository is owner/name")
        return None
    return provider, path


def _tell(key: str, message: str) -> None:
    if key in _told or len(_told) >= TOLD_LIMIT:
        return
    _told.add(key)
    logger.info("%s", message)
