"""A job's folder layout under ``<data_dir>/jobs/<job_id>/``: the snapshot, outputs, reports, log.

The intake creates the folder and writes ``source/`` before the job row exists
(:mod:`pipeline.intake.submitter`); the runner, retention, reviews and the dashboard find a job's
files through this one class, so the layout is named in one place.
"""

from __future__ import annotations

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
