"""The no-change check of ``pressroom build``: decide from file stats, before loading anything.

A rebuild whose inputs did not change must cost less than ``mkdocs build --dirty``, which means
less than the imports of the config schema, the runner and the stages. So the previous build
writes, into its output's marker file, a *key* (the command line, the config file's bytes, the
``PRESSROOM_*`` environment, the current folder, pressroom's own files and installed packages)
and a *digest* of the stats (size, mtime, ctime, inode) of every file the build could have read:
everything under the include root and the source, the git metadata the page dates come from.
The next run recomputes both with this module alone (standard library only) and, when they
match, replays what the previous build printed and touches nothing. The output itself is not
checked: a file edited or deleted in ``--out`` stays so until an input changes (delete ``--out``
to force a build).

Anything uncertain falls back to a real build: a stage whose result depends on more than the
files (external link checks, an API spec compared with a live release), a symbolic link to a
folder, a tree of more than :data:`MAX_FILES` files, an unreadable marker.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import stat
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MAX_FILES = 20_000
"""Above this many files the walk costs about as much as an incremental build: just build."""
STAMP_VERSION = 1
SKIP_DIRS = frozenset({".git", "__pycache__"})
"""Never inputs of a build (git's metadata is stamped through :func:`_git_files` instead)."""


class GiveUp(Exception):
    """The inputs cannot be stamped safely; build instead."""


def _hash(parts: Iterable[str]) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    return h.hexdigest()


def _code_files() -> list[str]:
    """pressroom's own files and the folder of installed packages (an install or upgrade changes
    its mtime), so a new pressroom, theme or Pygments never reuses an old output."""
    import click  # already loaded: this runs inside the click command

    here = Path(__file__).resolve().parents[2]
    parts = [sys.version, str(Path(click.__file__).resolve().parents[1].stat().st_mtime_ns)]
    for package in ("pipeline", "stages"):
        parts.extend(_walk(here / package, (), MAX_FILES))
    return parts


def key(params: dict[str, Any], config_file: Path | None) -> str:
    """What, besides the files, decides a build's output. The day is part of it: the PDF's cover
    carries the build date, so the first build of a new day is a real (incremental) one."""
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    parts = [f"v{STAMP_VERSION}", today, os.getcwd(), json.dumps(params, sort_keys=True, default=str)]
    if config_file is not None:
        try:
            parts.append(hashlib.sha256(config_file.read_bytes()).hexdigest())
        except OSError:
            parts.append("unreadable config")
    parts.extend(f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("PRESSROOM_"))
    parts.extend(_code_files())
    return _hash(parts)


def _walk(root: Path, skip: Iterable[str], limit: int) -> list[str]:
    """``relpath size mtime ctime inode`` of every file under ``root``, sorted. ``skip`` holds
    paths left out, or path prefixes ending in ``*`` (a build's temporary folders)."""
    skipped = {os.path.normpath(s) for s in skip if not s.endswith("*")}
    prefixes = tuple(s[:-1] for s in skip if s.endswith("*"))
    out: list[str] = []
    stack = [str(root)]
    base = len(str(root)) + 1
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        for e in entries:
            if e.path in skipped or (prefixes and e.path.startswith(prefixes)):
                continue
            if e.is_dir(follow_symlinks=False):
                if e.name not in SKIP_DIRS:
                    stack.append(e.path)
                continue
            try:
                st = e.stat()  # follows a file link: the build reads what it points to
            except OSError:
                out.append(f"{e.path[base:]} missing")
                continue
            if stat.S_ISDIR(st.st_mode):  # the stat above followed the link: no second stat
                raise GiveUp(f"{e.path} is a link to a folder")
            out.append(f"{e.path[base:]} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} {st.st_ino}")
            if len(out) > limit:
                raise GiveUp(f"more than {limit} files under {root}")
    out.sort()
    return out


def _git_files(source: Path) -> list[str]:
    """The files a commit, checkout or reset changes: page dates come from git history."""
    from stages.site import roots

    tree = roots.work_tree(source)
    if tree is None:
        return ["no git"]
    git = tree / ".git"
    if git.is_file():  # a worktree: "gitdir: <path>"
        text = git.read_text("utf-8", "replace").strip()
        git = (tree / text.removeprefix("gitdir:").strip()).resolve()
    parts = [str(git)]
    for name in ("HEAD", "index", "packed-refs", "logs/HEAD"):
        try:
            st = (git / name).stat()
            parts.append(f"{name} {st.st_size} {st.st_mtime_ns} {st.st_ino}")
        except OSError:
            parts.append(f"{name} -")
    return parts


def digest(source: Path, roots: list[str], skip: list[str]) -> str:
    """The stats of every input file; raises :class:`GiveUp` when that cannot be trusted."""
    parts: list[str] = []
    for root in roots:
        parts.append(f"root {root}")
        parts.extend(_walk(Path(root), skip, MAX_FILES))
    parts.extend(_git_files(source))
    return _hash(parts)


def read(marker: Path) -> dict[str, Any] | None:
    """The record an earlier build left in its marker, or None (an old plain-text marker)."""
    try:
        data = json.loads(marker.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("stamp_version") == STAMP_VERSION else None


def unchanged(marker: Path, source: Path, build_key: str) -> dict[str, Any] | None:
    """The earlier build's record when nothing it read has changed since, else None."""
    rec = read(marker)
    if not rec or rec.get("key") != build_key or not rec.get("digest"):
        return None
    try:
        now = digest(source, list(rec["roots"]), list(rec["skip"]))
    except (GiveUp, OSError, KeyError, TypeError):
        return None
    return rec if now == rec["digest"] else None


def record(build_key: str, source: Path, roots: list[str], skip: list[str]) -> dict[str, Any]:
    """The record for a build about to run (stats taken *before* it reads anything, so an edit
    made while it runs makes the next run build again); ``digest`` is None when it gave up."""
    try:
        value: str | None = digest(source, roots, skip)
    except (GiveUp, OSError):
        value = None
    return {"stamp_version": STAMP_VERSION, "key": build_key, "roots": roots, "skip": skip, "digest": value}
