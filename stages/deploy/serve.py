"""Serve a target's live release over HTTP: the handler factory the daemon's sites origin mounts
at ``/sites/{target}/{path}`` (``pipeline/api/sites.py``), and the lookup it uses.

Reads go through the ``current`` symlink on every request, so a swap or a rollback is visible
at once and a request never mixes two releases' files (each request resolves ``current`` once).
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from stages.deploy import release

RootFor = Callable[[str], Path | None]
"""Maps a target name to its root folder (the one holding ``current``); None if unknown."""

_TEXT_TYPES = ("text/", "application/javascript", "application/json", "application/xml", "image/svg+xml")
mimetypes.add_type("application/javascript", ".js")
mimetypes.add_type("image/svg+xml", ".svg")
mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("font/woff2", ".woff2")


def content_type(path: Path) -> str:
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith(_TEXT_TYPES) else kind


def resolve(live: Path, rel: str) -> tuple[Path | None, str | None]:
    """File to send for ``rel`` inside ``live``, or a redirect location (directory without /)."""
    rel = rel.lstrip("/")
    candidate = (live / rel).resolve()
    if not candidate.is_relative_to(live):
        return None, None
    if candidate.is_dir():
        if rel and not rel.endswith("/"):
            return None, rel.rsplit("/", 1)[-1] + "/"
        candidate = candidate / "index.html"
    if candidate.is_file():
        return candidate, None
    if not rel.endswith((".html", "/")) and candidate.with_suffix(".html").is_file():
        return candidate.with_suffix(".html"), None  # page.html URLs without the suffix
    return None, None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_handler(root_for: RootFor, *, target_param: str = "target", path_param: str = "path") -> Handler:
    """An aiohttp handler for ``/sites/{target}/{path:.*}``.

    Missing files get the release's own ``404.html`` (status 404); directories get their
    ``index.html`` (pretty URLs); a directory URL without a trailing slash is redirected.
    """

    async def handler(request: web.Request) -> web.StreamResponse:
        name = request.match_info.get(target_param, "")
        if "\x00" in request.path:  # no file name has one; Path.resolve() would raise on it
            raise web.HTTPBadRequest(text="the path contains a NUL byte")
        root = root_for(name)
        if root is None:
            raise web.HTTPNotFound(text=f"no target named {name!r}")
        current = release.current_link(root)
        try:
            live = (root / os.readlink(current)).resolve()
        except OSError:
            raise web.HTTPNotFound(text=f"target {name!r} has no live release yet") from None
        rel = request.match_info.get(path_param, "")
        path, redirect = resolve(live, rel)
        if redirect is not None:
            location = request.path + "/"
            if request.query_string:
                location += "?" + request.query_string
            raise web.HTTPMovedPermanently(location)
        if path is None:
            missing = live / "404.html"
            if missing.is_file():
                return web.Response(status=404, body=missing.read_bytes(),
                                    content_type="text/html", charset="utf-8")
            raise web.HTTPNotFound()
        response = web.FileResponse(path, headers={
            "Content-Type": content_type(path),
            "Cache-Control": "no-cache" if path.suffix == ".html" else "public, max-age=300",
        })
        return response

    return handler


def sites_root_for(sites_dir: Path, paths: dict[str, Path] | None = None) -> RootFor:
    """Default :data:`RootFor`: ``<sites_dir>/<target>``, or an explicit path per target.

    Only names in ``paths`` (when given) are served, so ``/sites/../`` tricks find nothing.
    """

    def root_for(name: str) -> Path | None:
        if paths is not None:
            return paths.get(name)
        if not name or name.startswith(".") or "/" in name:
            return None
        return sites_dir / name

    return root_for

