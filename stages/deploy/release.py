"""Releases of a target on disk: write, check, swap ``current`` atomically, keep N, roll back.

Layout of a target root::

    releases/<name>/      one complete site per deploy (name = job id, ``-2`` on a retry)
    releases/.incoming-*  a release being written (never served, removed on failure)
    meta/<name>.json      who made the release and when (sequence number, job, source)
    current -> releases/<name>   swapped with one rename(2): readers see old or new, never half

Everything here is synchronous file work; the stage and the API call it through a thread.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from stages.base import StageError

CopyFn = Callable[[Path, Path], None]


@dataclass(frozen=True)
class ReleaseInfo:
    """One release as :func:`list_releases` reports it (also the API's JSON shape)."""

    name: str
    job_id: str
    seq: int
    created_at: str
    path: str
    current: bool
    files: int = 0
    pages: int = 0
    promoted_from: str | None = None
    language: str | None = None
    """Set on a release a translate job composed (its language replaced on the live one)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ReleaseNotFound(StageError):
    """No such release in this target (rollback to an unknown or pruned job)."""

    code = "release_not_found"


def releases_dir(root: Path) -> Path:
    return root / "releases"


def current_link(root: Path) -> Path:
    return root / "current"


def current_name(root: Path) -> str | None:
    """Name of the live release, or None before the first deploy."""
    try:
        target = os.readlink(current_link(root))
    except OSError:
        return None
    return Path(target).name


def current_path(root: Path) -> Path | None:
    name = current_name(root)
    return releases_dir(root) / name if name else None


@contextlib.contextmanager
def target_lock(root: Path) -> Iterator[None]:
    """Serialise swaps, rollbacks and pruning of one target across workers and daemons."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _os_error(exc: OSError, what: str) -> StageError:
    # exc.strerror, not str(exc): the latter ends with the absolute path, and job errors are shown
    # to whoever may read the job (the daemon log has the full exception).
    reason = exc.strerror or type(exc).__name__
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StageError(f"disk full while {what}: {reason}", code="disk_full")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST):
        return StageError(f"target is not writable while {what}: {reason}", code="deploy_not_writable")
    return StageError(f"file error while {what}: {reason}", code="deploy_not_writable")


def copy_file(src: Path, dst: Path) -> None:
    shutil.copyfile(src, dst)


def link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link (a promotion shares the staging release's files) or copy across devices."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def copy_tree(src: Path, dst: Path, copy: CopyFn, skip: Callable[[Path], bool] = lambda rel: False) -> int:
    """``src`` into ``dst`` file by file with ``copy`` (symbolic links left out); the file count."""
    count = 0
    for dirpath, dirnames, filenames in os.walk(src):
        here = Path(dirpath)
        rel = here.relative_to(src)
        dirnames[:] = [d for d in dirnames if not skip(rel / d)]
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for name in filenames:
            if skip(rel / name) or (here / name).is_symlink():
                continue
            copy(here / name, dst / rel / name)
            count += 1
    return count


FILE_MODE = 0o644
DIR_MODE = 0o755


def publish_modes(root: Path) -> None:
    """Make a site readable by a web server running as another user: files 0644, folders 0755.

    Stages write through temp files (``mkstemp`` gives 0600) and the process umask may be strict;
    what is published must not depend on either. Symbolic links are left alone.
    """
    os.chmod(root, DIR_MODE)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                os.chmod(p, DIR_MODE)
        for name in filenames:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                os.chmod(p, FILE_MODE)


def write_release(
    root: Path,
    site_dir: Path,
    *,
    extra_files: dict[str, Path] | None = None,
    skip_top: frozenset[str] = frozenset(),
    copy: CopyFn = copy_file,
    reuse_from: Path | None = None,
    stats: dict[str, int] | None = None,
) -> tuple[Path, int]:
    """Copy a built site into a hidden incoming folder; return it and the file count.

    ``extra_files`` maps release-relative paths to files (the PDFs); ``skip_top`` names
    top-level entries of ``site_dir`` left out (``pdf`` - the PDFs are placed per language).
    With ``reuse_from`` (the live release), a file whose bytes are unchanged is hard-linked to
    it instead of written again, so a one-page change writes one page; ``stats["linked"]``
    counts those. Any error removes the partial folder, so nothing half-written is ever left.
    """
    incoming = releases_dir(root) / f".incoming-{uuid.uuid4().hex[:12]}"
    if reuse_from is not None:
        copy = _reusing(copy, incoming, reuse_from, stats if stats is not None else {})
    try:
        incoming.mkdir(parents=True)
        files = copy_tree(site_dir, incoming, copy, lambda rel: rel.parts[0] in skip_top)
        for rel, src in (extra_files or {}).items():
            dst = incoming / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            copy(src, dst)
            files += 1
        publish_modes(incoming)
    except OSError as exc:
        shutil.rmtree(incoming, ignore_errors=True)
        raise _os_error(exc, f"writing a release to target folder {root.name!r}") from exc
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    return incoming, files


def _reusing(copy: CopyFn, incoming: Path, previous: Path, stats: dict[str, int]) -> CopyFn:
    """``copy`` that hard-links the previous release's file when it holds the same bytes.

    Releases are never changed once finished, so sharing an inode between two of them is safe;
    comparing bytes (not times or sizes alone) keeps a same-size edit from being missed.
    """
    stats.setdefault("linked", 0)

    def reuse_or_copy(src: Path, dst: Path) -> None:
        old = previous / dst.relative_to(incoming)
        try:
            same = (old.is_file() and not old.is_symlink()
                    and old.stat().st_size == src.stat().st_size
                    and old.read_bytes() == src.read_bytes())
        except OSError:
            same = False
        if same:
            try:
                os.link(old, dst)
                stats["linked"] += 1
                return
            except OSError:  # another device or a file system without hard links
                pass
        copy(src, dst)

    return reuse_or_copy


def check_release(release: Path, pages: list[str], pdfs: list[str]) -> list[str]:
    """Paths (release-relative) that a complete release must have but this one lacks."""
    return [rel for rel in [*pages, *pdfs] if not (release / rel).is_file()]


def _meta_dir(root: Path) -> Path:
    return root / "meta"


def _read_meta(root: Path, name: str) -> dict[str, Any]:
    try:
        data = json.loads((_meta_dir(root) / f"{name}.json").read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _next_seq(root: Path) -> int:
    seqs = [int(_read_meta(root, p.stem).get("seq", 0)) for p in _meta_dir(root).glob("*.json")]
    return max(seqs, default=0) + 1


def finalize(
    root: Path, incoming: Path, *, job_id: str, created_at: str, files: int, pages: int,
    promoted_from: str | None = None, language: str | None = None,
) -> Path:
    """Give a checked incoming release its final name (still not live) and record it."""
    base = "".join(c if c.isalnum() or c in "-_." else "_" for c in job_id) or "release"
    with target_lock(root):
        name, n = base, 1
        while (releases_dir(root) / name).exists():
            n += 1
            name = f"{base}-{n}"
        try:
            os.rename(incoming, releases_dir(root) / name)
            _meta_dir(root).mkdir(exist_ok=True)
            meta = {"name": name, "job_id": job_id, "seq": _next_seq(root), "created_at": created_at,
                    "files": files, "pages": pages, "promoted_from": promoted_from, "language": language}
            tmp = _meta_dir(root) / f".{name}.json.tmp"
            tmp.write_text(json.dumps(meta))
            os.replace(tmp, _meta_dir(root) / f"{name}.json")
        except OSError as exc:
            shutil.rmtree(incoming, ignore_errors=True)
            raise _os_error(exc, "naming the release") from exc
    return releases_dir(root) / name


def swap_current(root: Path, name: str) -> None:
    """Point ``current`` at ``releases/<name>`` with a single rename (atomic for readers)."""
    if not (releases_dir(root) / name).is_dir():
        raise ReleaseNotFound(f"no release {name!r} in target folder {root.name!r}")
    tmp = root / f".current-{uuid.uuid4().hex[:12]}"
    try:
        os.symlink(os.path.join("releases", name), tmp)
        os.replace(tmp, current_link(root))
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise _os_error(exc, "swapping current") from exc


def discard(root: Path, release: Path) -> None:
    """Remove a release that never went live (failed check, lost lease, rejected push)."""
    shutil.rmtree(release, ignore_errors=True)
    with contextlib.suppress(OSError):
        (_meta_dir(root) / f"{release.name}.json").unlink()


def list_releases(root: Path) -> list[ReleaseInfo]:
    """Every release of a target, newest first, marking the live one.

    The API's ``GET /api/targets/{name}/releases`` and ``pressroom releases TARGET`` show this.
    """
    live = current_name(root)
    out = []
    directory = releases_dir(root)
    if not directory.is_dir():
        return []
    for path in directory.iterdir():
        if path.name.startswith(".") or not path.is_dir():
            continue
        meta = _read_meta(root, path.name)
        out.append(ReleaseInfo(
            name=path.name, job_id=str(meta.get("job_id", path.name)), seq=int(meta.get("seq", 0)),
            created_at=str(meta.get("created_at", "")), path=str(path), current=path.name == live,
            files=int(meta.get("files", 0)), pages=int(meta.get("pages", 0)),
            promoted_from=meta.get("promoted_from"), language=meta.get("language"),
        ))
    out.sort(key=lambda r: (r.seq, r.name), reverse=True)
    return out


def prune(root: Path, keep: int) -> list[str]:
    """Delete all but the newest ``keep`` releases; never the live one. Returns removed names.

    Releases a translate job composed do not count: each build fans out a release per language,
    and ``keep_releases = 5`` must still mean the last five builds can be rolled back to. A
    language release goes with the builds older than the ones kept.
    """
    with target_lock(root):
        releases = list_releases(root)
        removed = []
        kept = 0
        for info in releases:
            if info.current or kept < keep:
                kept += 0 if info.language else 1
                continue
            discard(root, Path(info.path))
            removed.append(info.name)
        for stale in releases_dir(root).glob(".incoming-*"):
            # an incoming folder survives only a killed process; an hour is far past any copy
            with contextlib.suppress(OSError):
                if stale.stat().st_mtime < (_now_ts() - 3600):
                    shutil.rmtree(stale, ignore_errors=True)
    return removed


def drop_earlier_attempts(root: Path, job_id: str, published: str) -> list[str]:
    """Delete the releases an earlier attempt of this job finalized, once ``published`` is live.

    A node that dies after naming its release leaves it behind, and the job's retry (on any node
    sharing the target) writes ``<job id>-2``: keeping both would list one build twice. The live
    release is never deleted. Returns removed names."""
    with target_lock(root):
        removed = []
        for info in list_releases(root):
            if info.job_id == job_id and info.name != published and not info.current:
                discard(root, Path(info.path))
                removed.append(info.name)
    return removed


def _now_ts() -> float:
    import time

    return time.time()


def rollback(root: Path, job_id: str | None = None) -> ReleaseInfo:
    """Make an older release live again at once: the given job's, else the one before current.

    The entry point for ``pressroom rollback TARGET [JOB_ID]`` and
    ``POST /api/targets/{name}/rollback``. Raises :class:`ReleaseNotFound` (404) when there is
    nothing to go back to.
    """
    with target_lock(root):
        chosen = rollback_choice(root, job_id)
        swap_current(root, chosen.name)
    return ReleaseInfo(**{**chosen.to_dict(), "current": True})


def rollback_choice(root: Path, job_id: str | None = None) -> ReleaseInfo:
    """The release a rollback would make live (see :func:`rollback`), without swapping."""
    releases = list_releases(root)
    if job_id is not None:
        matches = [r for r in releases if r.job_id == job_id or r.name == job_id]
        if not matches:
            raise ReleaseNotFound(f"target has no release of job {job_id!r} (kept: "
                                  f"{', '.join(r.job_id for r in releases) or 'none'})")
        return matches[0]
    live = next((i for i, r in enumerate(releases) if r.current), None)
    older = releases[live + 1:] if live is not None else releases
    if not older:
        raise ReleaseNotFound("no older release to roll back to")
    return older[0]
