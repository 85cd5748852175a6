"""Unpacking an uploaded archive into a job's snapshot, refusing anything that could escape it.

Archives are checked member by member before anything is written: absolute paths, ``..``,
links that leave the tree, device files, hostile names and bombs (too many members, too many
bytes) are refused with a stable error code, and ``dest`` is removed on any error. Messages name
members as the archive does, never by their path on this machine.
"""

from __future__ import annotations

import io
import os
import posixpath
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path

from pipeline import errors
from pipeline.intake.snapshot import IGNORED_NAMES

MAX_MEMBERS = 100_000
"""Files plus folders; a tar is refused while its headers stream in, a zip from its end record."""
NAME_PART_MAX_BYTES = 255
"""What Linux file systems allow for one path component; longer ones fail at write time."""
SHOWN_NAME_CHARS = 120


def _shown(name: str) -> str:
    """A member name for an error message: escaped (control characters visible) and clipped."""
    text = repr(name)
    return text if len(text) <= SHOWN_NAME_CHARS else text[: SHOWN_NAME_CHARS - 2] + "…'"


def _check_member_name(name: str) -> str:
    norm = name.replace("\\", "/")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        # One clear refusal instead of a file whose name breaks every link to it.
        raise errors.BadMemberName(f"archive member {_shown(name)} has a control character (newline, tab...) in its name",
                                   member=_shown(name))
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        raise errors.UnsafeArchive(f"archive member {_shown(name)} has an absolute path", member=_shown(name))
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise errors.UnsafeArchive(f"archive member {_shown(name)} climbs out of the archive with '..'", member=_shown(name))
    if any(len(p.encode("utf-8", "surrogateescape")) > NAME_PART_MAX_BYTES for p in parts):
        raise errors.BadMemberName(f"archive member {_shown(name)} has a file or folder name longer than "
                                   f"{NAME_PART_MAX_BYTES} bytes", member=_shown(name))
    return "/".join(parts)


def _check_link(member: str, target: str) -> None:
    if target.startswith("/"):
        raise errors.UnsafeArchive(f"archive member {_shown(member)} links to an absolute path", member=_shown(member))
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(member), target))
    if resolved == ".." or resolved.startswith("../"):
        raise errors.UnsafeArchive(f"archive member {_shown(member)} links outside the archive", member=_shown(member))


def sniff_archive(data: bytes) -> str | None:
    if data[:2] == b"\x1f\x8b":
        return "tar.gz"
    if data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
        return "zip"
    if len(data) > 262 and data[257:262] == b"ustar":
        return "tar"
    return None


def extract_archive(data: bytes, dest: Path, *, max_bytes: int) -> None:
    """Extract a tar.gz/tar/zip into ``dest`` (created), after checking every member.

    Error messages name members as the archive does, never by their path on this machine.
    """
    kind = sniff_archive(data)
    if kind is None:
        raise errors.InvalidArchive("the upload is not a tar.gz or zip archive")
    dest.mkdir(parents=True, exist_ok=False)
    try:
        if kind == "zip":
            _extract_zip(data, dest, max_bytes)
        else:
            _extract_tar(data, dest, max_bytes)
    except tarfile.FilterError as exc:
        # A link chain that only escapes when resolved on disk (``x -> .`` then ``b -> x/../..``):
        # the names looked fine, tarfile's "data" filter caught it at extraction.
        shutil.rmtree(dest, ignore_errors=True)
        raise errors.UnsafeArchive(f"archive member escapes the workspace: {_relative(str(exc), dest)}") from None
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        shutil.rmtree(dest, ignore_errors=True)
        raise errors.InvalidArchive(f"the archive is corrupt: {_relative(str(exc), dest)}") from None
    except errors.PressroomError:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    if not any(dest.iterdir()):
        shutil.rmtree(dest, ignore_errors=True)
        raise errors.InvalidArchive("the archive is empty")


def _relative(message: str, dest: Path) -> str:
    """Strip the workspace's location out of a library's message (it names files by full path)."""
    for base in {os.path.realpath(dest), str(dest)}:
        message = message.replace(base + os.sep, "").replace(base, ".")
    return message


def _too_many() -> errors.TooManyMembers:
    return errors.TooManyMembers(f"the archive has more than {MAX_MEMBERS} members (files and folders); "
                                 "split the site or leave generated files out")


def _extract_tar(data: bytes, dest: Path, max_bytes: int) -> None:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        # Stream the headers: a bomb of a million empty members is refused at member 100,001,
        # not after every header has been read into memory (``getmembers()`` would).
        members: list[tarfile.TarInfo] = []
        total = 0
        while (m := tar.next()) is not None:
            if len(members) >= MAX_MEMBERS:
                raise _too_many()
            name = _check_member_name(m.name)
            if m.issym() or m.islnk():
                _check_link(name, m.linkname if m.issym() else posixpath.relpath(_check_member_name(m.linkname), posixpath.dirname(name) or "."))
            elif not (m.isfile() or m.isdir()):
                raise errors.UnsafeArchive(f"archive member {_shown(m.name)} is a device or special file", member=_shown(m.name))
            total += max(m.size, 0)
            if total > max_bytes:
                raise errors.PayloadTooLarge(f"the archive unpacks to more than {max_bytes // 2**20} MB")
            members.append(m)
        for m in members:
            try:
                tar.extract(m, dest, filter="data")
            except OSError as exc:
                raise errors.InvalidArchive(f"archive member {_shown(m.name)} could not be written: "
                                            f"{exc.strerror or type(exc).__name__}", member=_shown(m.name)) from None


def zip_entry_count(data: bytes) -> int | None:
    """Entries the zip's end record announces, read before the central directory is parsed.

    ``ZipFile()`` builds an object per central-directory entry as it opens; this lets a zip that
    announces more than the limit be refused first. None when there is no end record (corrupt).
    """
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or end + 22 > len(data):
        return None
    count = int.from_bytes(data[end + 10:end + 12], "little")
    cd_size = int.from_bytes(data[end + 12:end + 16], "little")
    locator = end - 20
    if (count == 0xFFFF or cd_size == 0xFFFFFFFF) and locator >= 0 and data[locator:locator + 4] == b"PK\x06\x07":
        offset = int.from_bytes(data[locator + 8:locator + 16], "little")
        if data[offset:offset + 4] == b"PK\x06\x06":
            count = int.from_bytes(data[offset + 32:offset + 40], "little")
            cd_size = int.from_bytes(data[offset + 40:offset + 48], "little")
    # Each central-directory entry takes at least 46 bytes: a directory smaller than the count
    # claims is corrupt, but the larger of the two bounds what opening the zip would allocate.
    return max(count, cd_size // 46)


def _extract_zip(data: bytes, dest: Path, max_bytes: int) -> None:
    announced = zip_entry_count(data)
    if announced is not None and announced > MAX_MEMBERS:
        raise _too_many()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise _too_many()
        total = 0
        plan = []
        for info in infos:
            name = _check_member_name(info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                _check_link(name, zf.read(info).decode("utf-8", "replace"))
            total += info.file_size
            if total > max_bytes:
                raise errors.PayloadTooLarge(f"the archive unpacks to more than {max_bytes // 2**20} MB")
            plan.append((info, name, mode))
        root = os.path.realpath(dest)
        for info, name, mode in plan:
            if not name:
                continue
            target = dest / name
            # Resolve on disk, not just by name: links written earlier may point anywhere inside,
            # and a chain of them (``x -> .``, ``b -> x/../..``) can leave the tree.
            _inside(root, os.path.realpath(target.parent if not info.is_dir() else target), name)
            try:
                _write_zip_member(zf, info, target, mode, root, name)
            except OSError as exc:
                raise errors.InvalidArchive(f"archive member {_shown(info.filename)} could not be written: "
                                            f"{exc.strerror or type(exc).__name__}", member=_shown(info.filename)) from None


def _write_zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, mode: int, root: str, name: str) -> None:
    if info.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if stat.S_ISLNK(mode):
        os.symlink(zf.read(info).decode(), target)
        _inside(root, os.path.realpath(target), name)
        return
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o755 if mode & 0o100 else 0o644)
    with zf.open(info) as src, os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)


def _inside(root: str, resolved: str, member: str) -> None:
    if resolved != root and not resolved.startswith(root + os.sep):
        raise errors.UnsafeArchive(f"archive member {_shown(member)} escapes the workspace through links", member=_shown(member))


def unwrap_single_dir(root: Path) -> Path:
    """``docs.tar.gz`` often holds one top folder (``docs/`` or ``repo-sha/``): build inside it."""
    entries = [p for p in root.iterdir() if p.name not in IGNORED_NAMES]
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        return entries[0]
    return root
