"""The one place that strips credentials from repository URLs.

Triggers, statuses, the dashboard, notifications, logs and the database all show repository URLs;
a URL may carry ``user:token@``. Every channel (API, hook, webhooks) and every display goes through
:func:`redact_url`, so there is one rule to review. Standard library only: the intake,
status and handler modules all import it without cycles.
"""

from __future__ import annotations

import urllib.parse

UNPARSEABLE = "<unparseable url>"


def has_credentials(url: str) -> bool:
    """True for ``scheme://user[:password]@host/...``; scp-like ``git@host:org/repo`` is not a secret."""
    if "@" not in url:
        return False
    try:
        parts = urllib.parse.urlsplit(url)
        return bool(parts.scheme) and "@" in parts.netloc
    except ValueError:
        return True  # cannot tell: treat as secret-bearing, never show it


def redact_url(url: str | None) -> str | None:
    """``https://user:token@host:8443/x`` -> ``https://host:8443/x``; anything else unchanged.

    The user name goes too (GitHub tokens are often passed as the user name alone). A URL that
    does not parse but contains ``@`` is replaced whole rather than shown half-redacted.
    """
    if not url or "@" not in url:
        return url
    try:
        parts = urllib.parse.urlsplit(url)
        if not parts.scheme or "@" not in parts.netloc:
            return url  # scp-like ``git@host:org/repo``: the user is not a secret
        host = parts.netloc.rpartition("@")[2]
        return urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    except ValueError:
        return UNPARSEABLE


def scrub(text: str, url: str) -> str:
    """Remove ``url``'s credentials from ``text`` (git's error messages quote the URL it fetched)."""
    if not has_credentials(url):
        return text
    text = text.replace(url, redact_url(url) or UNPARSEABLE)
    try:
        userinfo = urllib.parse.urlsplit(url).netloc.rpartition("@")[0]
    except ValueError:
        return text
    user, _, password = userinfo.partition(":")
    # With a password the user name is just a name (``ci``: replacing it would mangle the text);
    # without one, the "user name" is the token.
    for secret in (userinfo, password or user):
        if secret:
            text = text.replace(secret, "***")
    return text
