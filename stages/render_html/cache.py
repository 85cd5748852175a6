"""The incremental cache of one site and language, and the content-addressed output store.

Every output file is written once into ``objects/`` under its sha256 and hard-linked into the
job's ``out`` folder. A new job (a fresh ``out``) therefore gets unchanged files by linking,
and a rebuild into the same ``out`` touches nothing whose inode already matches. Files are never
modified in place, so a link shared with an older job's output can never change under it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from stages.site.changes import atomic_write, sha256

__all__ = ["STATE_VERSION", "Store", "atomic_write", "remove_stale", "sha256"]

STATE_VERSION = 3


class Store:
    """State JSON, page fragments and output objects for one (site, language)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self.fragments = root / "fragments"
        self.state_file = root / "state.json"
        self.referenced: set[str] = set()
        self.written = 0
        self.linked = 0
        self._dirs: set[Path] = set()
        """Folders of ``out`` this store has made, so a new file costs no ``mkdir`` call."""

    def load_state(self) -> dict[str, Any]:
        try:
            state = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return state if state.get("version") == STATE_VERSION else {}

    def save_state(self, state: dict[str, Any]) -> None:
        state["version"] = STATE_VERSION
        atomic_write(self.state_file, json.dumps(state, sort_keys=True).encode())

    def _frag_path(self, lang: str, src: str) -> Path:
        return self.fragments / f"{sha256(f'{lang}/{src}'.encode())[:32]}.json"

    def save_fragment(self, lang: str, src: str, data: dict[str, Any]) -> None:
        atomic_write(self._frag_path(lang, src), json.dumps(data).encode())

    def load_fragment(self, lang: str, src: str) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self._frag_path(lang, src).read_text(encoding="utf-8"))
            return data
        except (OSError, ValueError):
            return None

    def load_fences(self, lang: str, src: str, salt: str) -> dict[str, str]:
        """The page's highlighted code blocks from its last render (empty when the code changed since)."""
        try:
            data = json.loads(self._frag_path(lang, src).with_suffix(".fences").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        fences = data.get("fences") if isinstance(data, dict) and data.get("salt") == salt else None
        return fences if isinstance(fences, dict) else {}

    def save_fences(self, lang: str, src: str, salt: str, fences: dict[str, str]) -> None:
        atomic_write(self._frag_path(lang, src).with_suffix(".fences"), json.dumps({"salt": salt, "fences": fences}).encode())

    def object_path(self, digest: str) -> Path:
        return self.objects / digest[:2] / digest

    def publish(self, out: Path, rel: str, data: bytes | None = None, *, digest: str | None = None,
                source: Path | None = None) -> str:
        """Make ``out/rel`` hold the content (given as bytes, or an existing file to copy in).

        Returns the content's sha256. Nothing is written when ``out/rel`` already is a link to
        the stored object (the no-change rebuild case).
        """
        if digest is None:
            digest = sha256(data if data is not None else source.read_bytes())  # type: ignore[union-attr]
        obj = self.object_path(digest)
        self.referenced.add(digest)
        if not obj.exists():
            if data is not None:
                atomic_write(obj, data)
            else:
                obj.parent.mkdir(parents=True, exist_ok=True)
                tmp = obj.with_name(f".tmp-{os.getpid()}-{digest}")
                shutil.copyfile(source, tmp)  # type: ignore[arg-type]
                os.replace(tmp, obj)
            self.written += 1
        dest = out / rel
        try:
            st_dest = dest.stat()
        except OSError:
            st_dest = None
        if st_dest is None:  # a new name (every file of a fresh out): one link, nothing to replace
            if dest.parent not in self._dirs:
                dest.parent.mkdir(parents=True, exist_ok=True)
                self._dirs.add(dest.parent)
            try:
                os.link(obj, dest)
                self.linked += 1
                return digest
            except OSError:
                pass  # another file got there first, or no hard links here: the general way below
        else:
            st_obj = obj.stat()
            if (st_dest.st_ino, st_dest.st_dev) == (st_obj.st_ino, st_obj.st_dev):
                return digest
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".tmp-{os.getpid()}-{dest.name}")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        try:
            os.link(obj, tmp)
        except OSError:
            shutil.copyfile(obj, tmp)
        os.replace(tmp, dest)
        self.linked += 1
        return digest

    def collect_garbage(self) -> None:
        """Drop objects this build no longer references (old outputs keep their own links)."""
        if not self.objects.is_dir():
            return
        for sub in self.objects.iterdir():
            for obj in sub.iterdir():
                if obj.name not in self.referenced:
                    with contextlib.suppress(OSError):
                        obj.unlink()


def remove_stale(out: Path, old_files: dict[str, str], new_files: dict[str, str]) -> int:
    """Delete outputs of the previous build that this build no longer produces."""
    removed = 0
    for rel in sorted(set(old_files) - set(new_files)):
        path = out / rel
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed += 1
        parent = path.parent
        while parent != out and parent.is_dir():
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent
    return removed
