"""What a snapshot of a source folder takes, and its content hash.

A job never reads the live folder or an upload in place: the submitter copies a folder into the
job's workspace (:func:`copy_tree`), and the content hash (:func:`tree_hash`) is what dedupes
the same files arriving by any channel. The drop-folder watcher and ``pressroom submit`` skip the
same names (:data:`IGNORED_NAMES`, :func:`is_temp_file`) so a change a snapshot would not take
never starts a build.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

IGNORED_NAMES = frozenset({".git", ".pressroom", ".hg", ".svn", "__pycache__", ".DS_Store", "node_modules"})


def is_temp_file(name: str) -> bool:
    """Editor and partial-copy files that must never trigger or enter a build."""
    base = os.path.basename(name)
    return (
        base.startswith(".#") or base.endswith("~") or base.endswith((".swp", ".swx", ".swo", ".tmp", ".part", ".crdownload"))
        or (base.startswith("#") and base.endswith("#")) or base.startswith(".~lock.") or base == "4913"
    )


def copy_tree(src: Path, dest: Path) -> int:
    """Snapshot a live folder: skip VCS folders, editor temp files and links leaving the folder."""
    src = src.resolve()
    count = 0
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_NAMES)
        rel = Path(dirpath).relative_to(src)
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for d in list(dirnames):
            p = Path(dirpath) / d
            if p.is_symlink():
                dirnames.remove(d)
                _copy_link(p, src, dest / rel / d)
        for name in filenames:
            if is_temp_file(name) or name in IGNORED_NAMES:
                continue
            p = Path(dirpath) / name
            if p.is_symlink():
                _copy_link(p, src, dest / rel / name)
                continue
            try:
                shutil.copy2(p, dest / rel / name)
                count += 1
            except FileNotFoundError:
                continue  # deleted while we copied: the next trigger will pick up the change
    return count


def _copy_link(link: Path, root: Path, target: Path) -> None:
    """Links that stay inside the folder are copied as content; links leaving it are dropped."""
    try:
        real = link.resolve(strict=True)
    except (FileNotFoundError, RuntimeError):
        return
    if real != root and root not in real.parents:
        return
    if real.is_dir():
        shutil.copytree(real, target, symlinks=False, ignore=shutil.ignore_patterns(*IGNORED_NAMES))
    else:
        shutil.copy2(real, target)


def tree_hash(root: Path) -> str:
    """Content hash of a tree: same files, same hash, whichever channel delivered them."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_NAMES)
        for name in sorted(filenames):
            if is_temp_file(name):
                continue
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            h.update(rel.encode() + b"\0")
            if p.is_symlink():
                h.update(b"L" + os.readlink(p).encode())
                continue
            fh = hashlib.sha256()
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    fh.update(chunk)
            h.update(fh.digest())
    return h.hexdigest()


def signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    """(path, size, mtime) of every file a snapshot would take: equal twice in a row = settled."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in IGNORED_NAMES]
        for name in filenames:
            if is_temp_file(name):
                continue
            p = os.path.join(dirpath, name)
            try:
                st = os.lstat(p)
            except FileNotFoundError:
                continue
            out.append((p, st.st_size, st.st_mtime_ns))
    return tuple(sorted(out))


def new_staging_dir(data_dir: Path) -> Path:
    """A folder for a snapshot that has no job ID yet; moved into the workspace on submit."""
    base = data_dir / "incoming"
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=base))
