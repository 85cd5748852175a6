"""The git tree object ID of a folder, computed the way ``git write-tree`` does.

Jobs are deduped on tree IDs (``gittree:<id>``): a post-commit hook's upload and the push of the
same commit fold into one job. The daemon therefore trusts only tree IDs it computed itself from
what was uploaded; a client's claim is checked against this, never stored as is.

Git's rules, as implemented here: a blob is ``sha("blob <size>\\0" + data)``; a tree lists its
entries as ``"<mode> <name>\\0" + raw id``, sorted by name bytes with ``/`` appended to folder
names; modes are ``100644``, ``100755`` (owner-executable), ``120000`` (symlink: the blob is the
link text) and ``40000`` (folder); folders with no files are not in git and are left out, as
is ``.git``.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

EMPTY_TREE_SHA1 = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def _object(kind: bytes, data: bytes, algo: str) -> bytes:
    h = hashlib.new(algo)
    h.update(kind + b" " + str(len(data)).encode() + b"\0")
    h.update(data)
    return h.digest()


def _blob_file(path: str, size: int, algo: str) -> bytes:
    h = hashlib.new(algo)
    h.update(b"blob " + str(size).encode() + b"\0")
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()


def _tree(path: str, algo: str) -> bytes | None:
    entries: list[tuple[bytes, bytes, bytes]] = []  # (sort key, mode, raw id)
    with os.scandir(path) as it:
        for entry in it:
            if entry.name == ".git":
                continue  # git never tracks a ``.git`` entry (and ``git archive`` has none)
            name = os.fsencode(entry.name)
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                entries.append((name, b"120000", _object(b"blob", os.fsencode(os.readlink(entry.path)), algo)))
            elif stat.S_ISDIR(st.st_mode):
                sub = _tree(entry.path, algo)
                if sub is not None:
                    entries.append((name + b"/", b"40000", sub))
            elif stat.S_ISREG(st.st_mode):
                mode = b"100755" if st.st_mode & stat.S_IXUSR else b"100644"
                entries.append((name, mode, _blob_file(entry.path, st.st_size, algo)))
    if not entries:
        return None
    entries.sort(key=lambda e: e[0])
    body = b"".join(mode + b" " + key.rstrip(b"/") + b"\0" + raw for key, mode, raw in entries)
    return _object(b"tree", body, algo)


def tree_id(root: Path, *, algo: str = "sha1") -> str:
    """The tree ID of ``root`` (``sha1``, or ``sha256`` for repositories in that object format)."""
    raw = _tree(str(root), algo)
    return raw.hex() if raw is not None else _object(b"tree", b"", algo).hex()


def algo_for(claimed: str) -> str:
    """A 64-hex ID comes from a SHA-256 repository; a 40-hex one from a SHA-1 repository."""
    return "sha256" if len(claimed) == 64 else "sha1"
