"""Results kept between runs, so a rebuild does not re-fetch every external URL.

Only external URLs that were fine are kept (a broken one is re-checked next time: it may have
been fixed, and a false "still broken" is worse than a slow build). The file is small JSON,
written once at the end of a run through a temp file and a rename.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from stages.linkcheck.model import Outcome
from stages.site.changes import atomic_write

logger = logging.getLogger(__name__)

_FILE = "results.json"
_VERSION = 1


def load_json(path: Path, version: int, what: str) -> dict[str, Any] | None:
    """A cache file written with ``{"version": version, ...}``, or ``None`` when it is missing,
    unreadable (logged) or of another version."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("ignoring unreadable %s %s: %s", what, path, exc)
        return None
    return data if isinstance(data, dict) and data.get("version") == version else None


class ResultCache:
    """``url -> outcome`` with a time to live; ``ttl <= 0`` turns it off."""

    def __init__(self, folder: Path | None, ttl: float, *, clock: Any = time.time) -> None:
        self._folder = folder
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[str, dict[str, Any]] = {}
        self._dirty = False
        if folder is not None and ttl > 0:
            self._load(folder / _FILE)

    @property
    def enabled(self) -> bool:
        return self._folder is not None and self._ttl > 0

    def _load(self, path: Path) -> None:
        data = load_json(path, _VERSION, "link cache")
        if data is None:
            return
        now = self._clock()
        entries = data.get("entries", {})
        if isinstance(entries, dict):
            self._entries = {k: v for k, v in entries.items()
                             if isinstance(v, dict) and now - float(v.get("at", 0)) < self._ttl}

    def get(self, url: str) -> Outcome | None:
        if not self.enabled:
            return None
        entry = self._entries.get(url)
        if entry is None or self._clock() - float(entry["at"]) >= self._ttl:
            return None
        age = int(self._clock() - float(entry["at"]))
        return Outcome(url=entry["url"], valid=True, result=entry["result"],
                       content_type=entry.get("content_type", ""), size=int(entry.get("size", -1)),
                       info=[f"Result cached {age} seconds ago."], cached=True)

    def put(self, url: str, outcome: Outcome) -> None:
        """Remember a good result (valid and without warnings); anything else is forgotten."""
        if not self.enabled or outcome.cached:
            return
        if outcome.valid and not outcome.warnings:
            self._entries[url] = {"url": outcome.url, "result": outcome.result, "at": self._clock(),
                                  "content_type": outcome.content_type, "size": outcome.size}
        else:
            self._entries.pop(url, None)
        self._dirty = True

    def save(self) -> None:
        if not self.enabled or not self._dirty or self._folder is None:
            return
        atomic_write(self._folder / _FILE, json.dumps({"version": _VERSION, "entries": self._entries}).encode())
        self._dirty = False
