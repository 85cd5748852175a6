"""What changed since the last build: content hashes of pages and of the files they include, and
the atomic writes of the incremental caches that keep them. Shared by ``lint`` and ``render_html``."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temp file beside ``path`` and rename it over: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class DepHashes:
    """Hashes of included files (relative to the source root), each read once per build.

    ``missing:<path>`` entries stand for an include that did not exist: they change to
    ``present`` when the file appears, so the including page is parsed again.
    """

    def __init__(self, source: Path) -> None:
        self.source = source
        self._memo: dict[str, str] = {}

    def __call__(self, rel: str) -> str:
        if rel not in self._memo:
            if rel.startswith("missing:"):
                self._memo[rel] = "present" if (self.source / rel[8:]).exists() else "missing"
            else:
                try:
                    self._memo[rel] = sha256((self.source / rel).read_bytes())
                except OSError:
                    self._memo[rel] = "missing"
        return self._memo[rel]

    def unchanged(self, deps: dict[str, str]) -> bool:
        return all(self(d) == v for d, v in deps.items())

    def of(self, deps: list[str]) -> dict[str, str]:
        return {d: self(d) for d in deps}
