"""A job's folder layout under ``<data_dir>/jobs/<job_id>/``: the snapshot, outputs, reports, log.

The intake creates the folder and writes ``source/`` before the job row exists
(:mod:`pipeline.intake.submitter`); the runner, retention, reviews and the dashboard find a job's
files through this one class, so the layout is named in one place. :func:`disk_usage` measures
the data folder these workspaces fill, for ``/metrics``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def for_job(cls, data_dir: Path, job_id: str) -> Workspace:
        return cls(data_dir / "jobs" / job_id)

    @property
    def source(self) -> Path:
        return self.root / "source"

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def log(self) -> Path:
        return self.root / "log.txt"

    def create(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)


def disk_usage(path: Path) -> int:
    """Bytes used under ``path`` (for /metrics); counts hard-linked files once."""
    total = 0
    seen: set[tuple[int, int]] = set()
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue
            seen.add(key)
            total += st.st_blocks * 512
    return total
