"""What changed since the last build: content hashes of pages and the files they include, and
the fan-out of page parsing to the process pool. Shared by ``lint`` and ``render_html``."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stages.site_model import analyze


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


async def analyze_all(ctx: Any, jobs: list[analyze.PageJob], render: bool,
                      report: Callable[[int, int], None]) -> list[dict[str, Any]]:
    """Parse (and render) pages in the pool, a few per call so progress moves steadily;
    checks for cancellation between calls. Results come back in completion order."""
    if not jobs:
        return []
    workers = max(1, getattr(ctx.executor, "_max_workers", 1) or 1)
    size = max(1, min(8, math.ceil(len(jobs) / (workers * 4))))
    chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    tasks = [asyncio.ensure_future(ctx.in_pool(analyze.analyze_batch, c, render)) for c in chunks]
    results: list[dict[str, Any]] = []
    try:
        for fut in asyncio.as_completed(tasks):
            results.extend(await fut)
            report(len(results), len(jobs))
            ctx.raise_if_cancelled()
    finally:
        for t in tasks:
            t.cancel()
    return results
