"""Rendered page bodies by content, shared by every language and job of a site.

A translation's ``missing`` and ``stale`` pages show the source page's text, which the source
language's build has already parsed and rendered. A body (the analysis result: HTML, TOC, ids,
links, title, search text) is a function of the page's bytes and of what the parser is given
(:class:`~stages.markdown.analyze.PageJob`: path, include base, docs dir, Markdown options,
macros, URL style), never of the language template around it, so it is stored under a hash of
exactly those and reused by whichever language needs the same page next: the serial mode's
next language, or a translate job in another process with the same cache dir.

Two things are checked on reuse rather than hashed: the included files (their current hashes
must equal the ones the body was rendered with), and the page's language, which matters only
to a body with a root-absolute link into a language folder (``/en/x/``), so such a body is
reused only for the language it was rendered for.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

from stages.markdown.analyze import PageJob
from stages.render_html.cache import atomic_write, sha256
from stages.site.changes import DepHashes

VERSION = 1
MAX_AGE = 7 * 86400
"""Seconds an entry no build has used stays (a translate job may run days after its source)."""
class Bodies:
    """The body store of one site (``<cache>/render_html/<site>/_bodies``)."""

    def __init__(self, root: Path, deps: DepHashes, salt: str) -> None:
        self.root = root
        self.deps = deps
        self.salt = salt
        self.used: set[str] = set()

    def key(self, job: PageJob, text_hash: str) -> str:
        fields = dataclasses.asdict(job)
        fields.pop("lang")  # checked on reuse (see the module's docstring)
        fields.pop("fences")  # a memo of the highlighter's output, not an input
        return sha256(json.dumps([VERSION, self.salt, text_hash, fields], sort_keys=True, default=str).encode())

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str, job: PageJob) -> dict[str, Any] | None:
        path = self._path(key)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("lang") not in (None, job.lang):
            return None
        if not self.deps.unchanged(entry.get("deps", {})):
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # used: kept by :meth:`collect`
        self.used.add(key)
        result: dict[str, Any] = entry["result"]
        for finding in result.get("findings", []):
            finding["language"] = job.lang
        return result

    def put(self, key: str, job: PageJob, result: dict[str, Any], deps: dict[str, str]) -> None:
        entry = {"lang": job.lang if result.get("lang_bound") else None, "deps": deps, "result": result}
        atomic_write(self._path(key), json.dumps(entry).encode())
        self.used.add(key)

    def lookup(self, jobs: dict[str, PageJob], texts: dict[str, str]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """The bodies already rendered (by page) and the key of every page that has a text hash."""
        keys = {src: self.key(job, texts[src]) for src, job in jobs.items() if src in texts}
        found = {src: r for src, key in keys.items() if (r := self.get(key, jobs[src])) is not None}
        return found, keys

    def collect(self, max_age: float = MAX_AGE) -> None:
        """Drop entries no build used for ``max_age`` seconds (this build's are fresh); at most
        once an hour, so a one-page rebuild does not stat every entry."""
        stamp = self.root / ".collected"
        try:
            if time.time() - stamp.stat().st_mtime < 3600:
                return
        except OSError:
            pass
        if not self.root.is_dir():
            return
        stamp.touch()
        cutoff = time.time() - max_age
        for sub in self.root.iterdir():
            if not sub.is_dir():
                continue
            for entry in sub.iterdir():
                with contextlib.suppress(OSError):
                    if entry.stem not in self.used and entry.stat().st_mtime < cutoff:
                        entry.unlink()
