"""Each source file's last commit time, from one ``git log`` walk, for staleness and sitemaps.

A file's mtime says when it was copied (every snapshot and checkout is new), not when a writer
last changed it; the commit history does. One ``git log --name-only`` over the tree is parsed
once (never one process per page), bounded in time, and every failure means "no git dates":
no git installed, not a work tree, a shallow clone (whose one commit would date every file
today), a timeout. git runs only when a ``.git`` entry is found above the folder, so a plain
folder never starts a process.

The daemon's jobs build a snapshot without ``.git``; the submission records the dates beside
the snapshot in :data:`SIDECAR` (the job's workspace), and the render reads them from there.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from stages.site.roots import work_tree

SIDECAR = "git-lastmod.json"
"""In a job's workspace: ``{"files": {source-relative path: unix time}, "note": why none}``."""


@dataclass(kw_only=True)
class GitDates:
    """Last commit time per file, relative to the folder asked about; ``note`` says why empty."""

    files: dict[str, float] = field(default_factory=dict)
    note: str = ""

    def to_json(self) -> bytes:
        return json.dumps({"files": self.files, "note": self.note}, sort_keys=True).encode()


def _env() -> dict[str, str]:
    """No prompts, no system config: only the repository's own history is read."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
            "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}


def parse_log(text: str) -> dict[str, float]:
    """``git log --format=%x00%ct --name-only`` output -> newest commit time per repo path.

    The log is newest first, so the first time a path appears is its last change.
    """
    out: dict[str, float] = {}
    when = 0.0
    for line in text.splitlines():
        if line.startswith("\x00"):
            try:
                when = float(line[1:])
            except ValueError:
                when = 0.0
        elif line and line not in out and when:
            out[line] = when
    return out


def collect(folder: Path, timeout: float = 30.0) -> GitDates:
    """Last commit times of the files under ``folder``, keyed relative to it."""
    folder = folder.resolve()
    top = work_tree(folder)
    if top is None:
        return GitDates(note="not a git work tree")

    def git(*args: str) -> str:
        proc = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, timeout=timeout, env=_env())
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.decode("utf-8", "replace").strip()[-300:])
        return proc.stdout.decode("utf-8", "surrogateescape")

    try:
        root, shallow = git("rev-parse", "--show-toplevel", "--is-shallow-repository").split("\n")[:2]
        if shallow.strip() == "true":
            return GitDates(note="shallow clone: its history does not say when files changed")
        prefix = folder.relative_to(Path(root).resolve()).as_posix()
        log = git("-c", "core.quotepath=off", "log", "--format=%x00%ct", "--name-only", "--no-renames",
                  "HEAD", "--", ".")
    except (OSError, subprocess.SubprocessError, RuntimeError, ValueError) as exc:
        return GitDates(note=f"git history unavailable: {exc}"[:300])
    lead = "" if prefix == "." else prefix + "/"
    files = {p[len(lead):]: t for p, t in parse_log(log).items() if p.startswith(lead)}
    return GitDates(files=files, note="" if files else "no commits touch these files")


def record(folder: Path, dest: Path) -> GitDates:
    """Collect for ``folder`` and write :data:`SIDECAR` at ``dest`` (the job's workspace)."""
    dates = collect(folder)
    dest.write_bytes(dates.to_json())
    return dates


def for_build(source: Path, workspace: Path) -> GitDates:
    """What the job's submission recorded, else git on ``source`` itself when it is not inside
    the workspace (``pressroom build`` builds the work tree in place; a job's snapshot has no
    ``.git``, and git must not find some enclosing repository of the data folder instead)."""
    try:
        data = json.loads((workspace / SIDECAR).read_text("utf-8"))
        return GitDates(files={str(k): float(v) for k, v in data.get("files", {}).items()},
                        note=str(data.get("note", "")))
    except FileNotFoundError:
        pass
    except (OSError, ValueError, TypeError, AttributeError):
        return GitDates(note="the recorded git dates are unreadable")
    if source.resolve().is_relative_to(workspace.resolve()):
        return GitDates(note="a snapshot without git history")
    return collect(source)
