"""Checking against files on disk: a built site folder, and ``file:`` URLs.

A built site is checked with no HTTP server: each page gets the public URL it will have
(``base_url`` + its path), links are resolved the way a browser would resolve them there, and an
internal URL is mapped back to a file. Links written against the site root (``/en/guide/``) and
links written with the deploy base path (``/sites/staging/en/guide/``) both land inside the site.
"""

from __future__ import annotations

import functools
import mimetypes
import os
import stat
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from stages.linkcheck.model import PARSEABLE, Outcome

_HTML_SUFFIXES = (".html", ".htm", ".xhtml")


@dataclass(frozen=True)
class SiteRoot:
    """A built site folder and the URL it is (or will be) served at."""

    root: Path
    base_url: str
    """Ends with ``/``. ``file://<root>/`` when the site has no public URL."""
    _resolved: dict[str, tuple[Path | None, str]] = field(default_factory=dict, compare=False, repr=False)
    """``rel -> resolve()`` for one run: thousands of links name a few hundred files, and each
    lookup walks the path on disk (symbolic links included)."""

    @classmethod
    def create(cls, root: Path, base_url: str | None = None) -> SiteRoot:
        root = root.resolve()
        url = base_url or root.as_uri() + "/"
        if not url.endswith("/"):
            url += "/"
        return cls(root=root, base_url=url)

    @functools.cached_property
    def _origin(self) -> tuple[str, str]:
        parts = urllib.parse.urlsplit(self.base_url)
        return parts.scheme.lower(), parts.netloc.lower()

    @functools.cached_property
    def _prefix(self) -> str:
        """``scheme://netloc`` of the site, lower case: what :meth:`contains` compares first."""
        scheme, netloc = self._origin
        return f"{scheme}://{netloc}"

    @property
    def base_path(self) -> str:
        return urllib.parse.urlsplit(self.base_url).path or "/"

    def page_url(self, file: Path) -> str:
        """The public URL of one built file (``.../index.html`` shown as its folder)."""
        return self._url_of(self.rel_of(file))

    def rel_of(self, file: Path) -> str:
        """A file's path inside the site, symbolic links followed (``en/guide/index.html``)."""
        text = str(file)
        if not text.startswith(self._below) or file.is_symlink() or ".." in file.parts:
            # a path walk per call: only where a link may be on the way
            return file.resolve().relative_to(self.root).as_posix()
        return text[len(self._below):]

    @functools.cached_property
    def _below(self) -> str:
        """The root as a prefix of the paths inside it (``/srv/out/``)."""
        return os.path.join(str(self.root), "")

    def _url_of(self, rel: str) -> str:
        if rel == "index.html" or rel.endswith("/index.html"):
            rel = rel[: -len("index.html")]
        return self.base_url + urllib.parse.quote(rel)

    def contains(self, url: str) -> bool:
        """Whether a URL is on the site's origin (same scheme and host as ``base_url``)."""
        prefix = self._prefix
        if url[:1] > " " and "\t" not in url and "\r" not in url and "\n" not in url:
            # what urlsplit would find, without splitting: the check runs for every URL of a site
            if url[: len(prefix)].lower() != prefix:
                return False
            return url[len(prefix): len(prefix) + 1] in ("", "/", "?", "#")
        try:
            parts = urllib.parse.urlsplit(url)
        except ValueError:  # malformed ("http://[bad"): not ours, reported by the checker
            return False
        return (parts.scheme.lower(), parts.netloc.lower()) == self._origin

    def relpath(self, url: str) -> str:
        """The site-relative path a URL inside the site points at (may not exist)."""
        path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
        base = urllib.parse.unquote(self.base_path)
        if path.startswith(base):
            return path[len(base):]
        return path.lstrip("/")

    def canonical(self, url: str) -> str:
        """One URL per file: ``/en/``, ``/sites/staging/en/index.html`` and ``../en/`` from a
        sibling all name the same page, so it is read and parsed once."""
        path, rel = self.resolve(url)
        if path is not None:
            return self.page_url(path)
        return self.base_url + urllib.parse.quote(rel)

    def built_page(self, url: str) -> str:
        """The built file (relative to the site) a URL inside the site is, or the path it
        names when no file serves it; other URLs come back as they are."""
        if not url or not self.contains(url):
            return url
        path, rel = self.resolve(url)
        return self.rel_of(path) if path is not None else rel

    def resolve(self, url: str) -> tuple[Path | None, str]:
        """The file a URL inside the site serves, as a web server would pick it, or ``None``."""
        rel = self.relpath(url)
        found = self._resolved.get(rel)
        if found is None:
            found = self._resolved[rel] = self._resolve(rel)
        return found

    def _resolve(self, rel: str) -> tuple[Path | None, str]:
        candidate = self._real(rel)
        if candidate != self.root and not str(candidate).startswith(self._below):
            return None, rel
        try:
            mode = os.stat(candidate).st_mode
        except OSError:
            mode = 0
        if stat.S_ISDIR(mode):
            index = candidate / "index.html"
            return (index if index.is_file() else None), rel
        if stat.S_ISREG(mode):
            return candidate, rel
        if not rel.endswith("/") and (html := candidate.with_name(candidate.name + ".html")).is_file():
            return html, rel
        return None, rel

    def _real(self, rel: str) -> Path:
        """``(root / rel).resolve()``: the root is resolved already, so only the names below it
        are looked at, one ``lstat`` each, and a full resolve happens only when one of them is a
        symbolic link (or the path has ``..`` in it). A resolve walks every name from ``/`` and
        was most of the time a check spent on a site's few hundred files."""
        parts = [part for part in rel.split("/") if part]
        if rel.startswith("/") or "." in parts or ".." in parts:
            return (self.root / rel).resolve()
        path = str(self.root)
        for part in parts:
            path = os.path.join(path, part)
            try:
                if stat.S_ISLNK(os.lstat(path).st_mode):
                    return (self.root / rel).resolve()
            except OSError:  # missing: resolve() keeps the rest of the path as written
                pass
        return Path(path)


def check_site_file(site: SiteRoot, url: str, *, read_body: bool, max_bytes: int) -> tuple[Outcome, bytes | None]:
    """Check an internal URL of a built site from disk."""
    started = time.monotonic()
    path, rel = site.resolve(url)
    if path is None:
        outcome = Outcome(url=url, valid=False, result=f"404 Not Found (no file for `{rel or '/'}' in the built site)")
        outcome.checktime = time.monotonic() - started
        return outcome, None
    outcome, body = _read(path, url, read_body=read_body, max_bytes=max_bytes)
    outcome.checktime = time.monotonic() - started
    return outcome, body


def check_file_url(url: str, *, read_body: bool, max_bytes: int) -> tuple[Outcome, bytes | None]:
    """A ``file:`` URL outside any site folder: it must exist on this machine."""
    try:
        path = Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))
    except (ValueError, OSError) as exc:
        return Outcome(url=url, valid=False, result=f"URL is unrecognized or has invalid syntax: {exc}"), None
    if path.is_dir():
        index = path / "index.html"
        if index.is_file():
            return _read(index, url, read_body=read_body, max_bytes=max_bytes)
        return Outcome(url=url, result="directory"), None
    if not path.is_file():
        return Outcome(url=url, valid=False, result=f"Could not find file `{path}'."), None
    return _read(path, url, read_body=read_body, max_bytes=max_bytes)


@dataclass(frozen=True)
class FileRead:
    """A file of the site read once, ahead of the crawl: what :func:`check_site_file` would
    have found (size, mtime, and the first ``max_bytes + 1`` bytes)."""

    path: Path
    size: int
    mtime: float
    body: bytes
    dltime: float


def read_file(path: Path, max_bytes: int) -> FileRead | None:
    """Read a file as :func:`check_site_file` reads it; ``None`` when it cannot be (the crawl
    then reads it itself and reports the error)."""
    started = time.monotonic()
    try:
        with path.open("rb") as handle:
            st = os.fstat(handle.fileno())
            body = handle.read(max_bytes + 1)
    except OSError:
        return None
    return FileRead(path, st.st_size, st.st_mtime, body, time.monotonic() - started)


def read_outcome(read: FileRead, url: str, *, read_body: bool, max_bytes: int) -> tuple[Outcome, bytes | None]:
    """The outcome of a file read ahead, as :func:`check_site_file` gives it."""
    outcome = _good(read.path, url, read.size, read.mtime)
    if not read_body or outcome.content_type not in PARSEABLE:
        return outcome, None
    outcome.dltime = read.dltime
    return outcome, _within(outcome, read.body, max_bytes)


def _good(path: Path, url: str, size: int, mtime: float) -> Outcome:
    # LinkChecker leaves the result of a good file empty; so do we, for identical CSV rows
    return Outcome(url=url, result="", content_type=content_type_of(path), size=size,
                   modified=time.strftime("%Y-%m-%d %H:%M:%S.000000Z", time.gmtime(mtime)))


def _within(outcome: Outcome, body: bytes, max_bytes: int) -> bytes:
    if len(body) > max_bytes:
        outcome.warnings.append(("url-content-size-too-large",
                                 f"Content size is larger than {max_bytes} bytes; parsed only the first {max_bytes}."))
        body = body[:max_bytes]
    return body


def _read(path: Path, url: str, *, read_body: bool, max_bytes: int) -> tuple[Outcome, bytes | None]:
    try:
        st = path.stat()
    except OSError as exc:
        return Outcome(url=url, valid=False, result=f"Could not read file: {exc}"), None
    outcome = _good(path, url, st.st_size, st.st_mtime)
    if not read_body or outcome.content_type not in PARSEABLE:  # a script or image is not parsed (nor read)
        return outcome, None
    started = time.monotonic()
    try:
        with path.open("rb") as handle:
            body = handle.read(max_bytes + 1)
    except OSError as exc:
        outcome.valid = False
        outcome.result = f"Could not read file: {exc}"
        return outcome, None
    body = _within(outcome, body, max_bytes)
    outcome.dltime = time.monotonic() - started
    return outcome, body


def content_type_of(path: Path) -> str:
    if path.suffix.lower() in _HTML_SUFFIXES:
        return "text/html"
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def html_files(root: Path) -> list[Path]:
    """Every page of a built site, in a stable order."""
    found: list[Path] = []
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        found.extend(Path(folder) / n for n in sorted(names) if n.lower().endswith(_HTML_SUFFIXES))
    return found
