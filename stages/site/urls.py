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
