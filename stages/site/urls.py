"""Where a page lands in the output and how one output file links to another."""

from __future__ import annotations

import posixpath
import re
from urllib.parse import quote, unquote, urlsplit

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
INDEX_NAMES = ("index", "README", "_index")
"""Page names that are their folder's index page (Hugo's section page is ``_index.md``)."""


def page_file(src: str, pretty: bool) -> str:
    """Output file of a page relative to the language root (``guide/install/index.html``)."""
    stem = src.rsplit(".", 1)[0]
    name = posixpath.basename(stem)
    if name in INDEX_NAMES:
        parent = posixpath.dirname(stem)
        return f"{parent}/index.html" if parent else "index.html"
    return f"{stem}/index.html" if pretty else f"{stem}.html"


def page_url(src: str, pretty: bool) -> str:
    """URL path of a page relative to the language root (``guide/install/``)."""
    file = page_file(src, pretty)
    return file[: -len("index.html")] if file.endswith("index.html") else file


def relative(from_file: str, to_path: str) -> str:
    """Relative URL from output file ``from_file`` to output path ``to_path`` (both root-relative).

    A target ending in ``/`` stays a directory URL, so pretty URLs work from ``file://`` too
    when the browser resolves ``index.html`` (and always on a web server).
    """
    start = posixpath.dirname(from_file) or "."
    is_dir = to_path.endswith("/") or to_path == ""
    target = to_path.rstrip("/") or "."
    rel = posixpath.relpath(target, start)
    if is_dir:
        rel = "./" if rel == "." else rel + "/"
    return quote(rel, safe="/#%:@!$&'()*+,;=-._~")


def is_external(href: str) -> bool:
    return bool(_SCHEME.match(href)) or href.startswith("//")


def own_path(site_url: str, href: str) -> str | None:
    """An absolute link into the site being built (``https://example.org/docs/x/#a`` when the
    site's URL is ``https://example.org/docs/``) as the root-absolute link ``/docs/x/#a``, else None.

    Writers link to their own published pages by full URL (FastAPI's docs do it 300 times). Read
    as root-absolute links, they resolve inside this build the way ``/x/`` does: a preview links to
    its own pages rather than to production, and the link checks see them as internal. http and
    https count as the same site; a link with a query stays external (it asks a server for more).
    """
    if not site_url or not href[:8].lower().startswith(("http://", "https://")):
        return None
    site, link = urlsplit(site_url), urlsplit(href)
    if link.query or site.scheme not in ("http", "https") or link.netloc.lower() != site.netloc.lower():
        return None
    base = site.path if site.path.endswith("/") else site.path + "/"
    path = link.path or "/"
    if not (path + "/").startswith(base) and path != base.rstrip("/"):
        return None
    return path + (f"#{link.fragment}" if link.fragment else "")


def split_link(href: str) -> tuple[str, str]:
    """``(path, fragment)`` of a link, path unquoted; empty path means the same page."""
    parts = urlsplit(href)
    return unquote(parts.path), parts.fragment


def resolve_src(page_src: str, link_path: str) -> str:
    """The docs-relative path a link from ``page_src`` points at (``..`` collapsed)."""
    if link_path.startswith("/"):
        joined = link_path.lstrip("/")
    else:
        joined = posixpath.join(posixpath.dirname(page_src), link_path)
    norm = posixpath.normpath(joined)
    return "" if norm == "." else norm
