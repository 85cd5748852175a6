"""URL handling: joining, normalising, deciding what is internal, checking ``mailto:`` syntax.

Normalisation decides what "the same URL" is, and so how often a URL is fetched: the fragment is
dropped, the host lower-cased, non-ASCII characters percent-encoded (as browsers and LinkChecker
send them) and existing escapes kept as written, so ``caf%C3%A9`` and ``café`` are one URL.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import re
import urllib.parse

# Schemes LinkChecker reports as "ignored" (valid) rather than unknown: the common ones docs use.
IGNORED_SCHEMES = frozenset({
    "javascript", "data", "tel", "sms", "callto", "about", "chrome", "irc", "ircs", "magnet",
    "news", "nntp", "sip", "sips", "skype", "ssh", "git", "svn", "urn", "xmpp", "geo", "market",
    "spotify", "steam", "webcal", "ws", "wss", "blob", "fax", "mms", "rtsp", "feed", "view-source",
    "bitcoin", "facetime", "facetime-audio", "maps", "msteams", "slack", "zoommtg", "whatsapp",
    "viber", "tg", "matrix", "ipfs", "ipns", "dav", "ldap", "ldaps", "vnc", "rdp", "telnet",
    "gopher", "imap", "pop", "smb", "nfs", "afp", "vscode", "jetbrains", "intent", "ftp", "sftp",
})
CHECKED_SCHEMES = frozenset({"http", "https", "file", "mailto"})

_SAFE_PATH = "/:@!$&'()*+,;=-._~%"
_SAFE_QUERY = _SAFE_PATH + "?/"
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.IGNORECASE)


def split_fragment(url: str) -> tuple[str, str]:
    """Split off ``#fragment``; the fragment comes back without the ``#``."""
    base, sep, frag = url.partition("#")
    return base, frag if sep else ""


_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):")


def scheme_of(url: str) -> str:
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else ""


def join(base: str, ref: str) -> str:
    """Resolve ``ref`` against ``base`` the way a browser does (``..``, ``//host``, ``?q``)."""
    ref = ref.strip()
    if not base or scheme_of(ref):
        return ref  # absolute as written: urljoin would turn "http://" into the base itself
    try:
        return urllib.parse.urljoin(base, ref)
    except ValueError:  # "http://[bad": left as written, reported by syntax_error()
        return ref


@functools.lru_cache(maxsize=65536)  # pure; the daemon checks the same URLs build after build
def normalize(url: str) -> str:
    """The key a URL is checked under: no fragment, lower-case scheme and host, encoded path."""
    url, _ = split_fragment(url.strip())
    scheme = scheme_of(url)
    if scheme not in ("http", "https", "file"):
        return url
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return url
    with contextlib.suppress(UnicodeError):
        host = host.encode("idna").decode("ascii") if host and not host.isascii() else host
    netloc = host.lower()
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if port is not None and not _default_port(scheme, port):
        netloc += f":{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    path = urllib.parse.quote(parts.path, safe=_SAFE_PATH) or ("/" if scheme != "file" else "")
    query = urllib.parse.quote(parts.query, safe=_SAFE_QUERY)
    return urllib.parse.urlunsplit((scheme, netloc, path, query, ""))


def _default_port(scheme: str, port: int) -> bool:
    return (scheme, port) in (("http", 80), ("https", 443))


@functools.lru_cache(maxsize=65536)
def syntax_error(url: str) -> str | None:
    """Why an http(s) URL cannot be requested at all, or ``None``."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as exc:
        return str(exc)
    try:
        port = parts.port
    except ValueError:
        return f"URL host {parts.netloc!r} has invalid port"
    if not parts.hostname:
        return "URL has empty hostname"
    if port == 0:
        return f"URL host {parts.netloc!r} has invalid port"
    if any(ch in url for ch in " \t\n\r<>\"{}|\\^`"):
        return "URL is unrecognized or has invalid syntax"
    return None


def intern_pattern(start_url: str) -> re.Pattern[str]:
    """LinkChecker's rule for "inside the site": same host (with or without ``www.``), either
    http or https, and under the start URL's folder."""
    parts = urllib.parse.urlsplit(start_url)
    scheme = parts.scheme.lower()
    domain = (parts.netloc or "").lower()
    if domain.startswith("www."):
        domain = domain[4:]
    path = parts.path.split(";")[0]
    folder = "/".join(path.split("/")[:-1])
    if start_url.endswith("/"):
        folder += "/"
    scheme_pat = "https?" if scheme in ("http", "https") else re.escape(scheme)
    return re.compile(f"^{scheme_pat}://(www\\.|){re.escape(domain)}{re.escape(folder)}")


def mailto_error(url: str) -> str | None:
    """Syntax-check every address of a ``mailto:`` URL, with LinkChecker's messages.

    No DNS lookup: the build machine may have no resolver, and a mail host's MX record says
    nothing about whether the docs link is right.
    """
    body = url[len("mailto:"):] if url.lower().startswith("mailto:") else url
    addrs, _, query = body.partition("?")
    found = [urllib.parse.unquote(a).strip() for a in addrs.split(",") if a.strip()]
    if not found:
        params = urllib.parse.parse_qs(query)
        if not any(k.lower() in ("to", "cc", "bcc", "subject") for k in params):
            return f"No mail addresses or email subject found in `{url}'."
    for addr in found:
        error = _address_error(addr)
        if error:
            return error
    return None


def _address_error(mail: str) -> str | None:
    if "@" not in mail:
        return f"Missing `@' in mail address `{mail}'."
    local, _, domain = mail.rpartition("@")
    if not local:
        return f"Missing local part of mail address `{mail}'."
    if not domain:
        return f"Missing domain part of mail address `{mail}'."
    if len(local) > 64 or len(domain) > 255:
        return f"Mail address `{mail}' too long."
    if local.startswith("."):
        return f"Local part of mail address `{mail}' may not start with a dot."
    if local.endswith("."):
        return f"Local part of mail address `{mail}' may not end with a dot."
    if ".." in local:
        return f"Local part of mail address `{mail}' may not contain two dots."
    if "@" in local and not (local.startswith('"') and local.endswith('"')):
        return f"Unquoted double quote or backslash in mail address `{mail}'."
    if domain.startswith("[") and domain.endswith("]"):
        try:
            ipaddress.ip_address(domain[1:-1].removeprefix("IPv6:"))
        except ValueError:
            return f"Domain part of mail address `{mail}' has invalid IP."
        return None
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return f"Invalid domain part of mail address `{mail}'."
    labels = ascii_domain.split(".")
    if not all(_LABEL.match(label) for label in labels):
        return f"Invalid domain part of mail address `{mail}'."
    if len(labels) > 1 and labels[-1].isdigit():
        return f"Invalid top level domain part of mail address `{mail}'."
    return None
