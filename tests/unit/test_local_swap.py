"""``pressroom build`` swaps its new output in and leaves the old one's deletion to a detached process."""

from __future__ import annotations

import time
from pathlib import Path

from pipeline.jobs import local


def _tree(root: Path, text: str) -> Path:
    (root / "en" / "a").mkdir(parents=True)
    (root / "en" / "a" / "index.html").write_text(text)
    return root


def _gone(path: Path) -> bool:
    for _ in range(200):  # the rm runs after the swap returns: wait for it, not for a time
        if not path.exists() or not any(path.iterdir()):
            return True
        time.sleep(0.05)
    return False


def test_old_output_goes_to_trash_and_is_removed(tmp_path: Path) -> None:
    out = _tree(tmp_path / "site", "old")
    new = _tree(tmp_path / ".site.new-x", "new")
    trash = tmp_path / "data" / "tmp" / "old-output"
    local._swap_in(new, out, {"ok": True}, trash)
    assert (out / "en" / "a" / "index.html").read_text() == "new"
    assert (out / local.MARKER).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "site"]  # nothing beside the output
    assert _gone(trash)


def test_trash_on_another_device_falls_back_to_deleting_here(tmp_path: Path) -> None:
    out = _tree(tmp_path / "site", "old")
    new = _tree(tmp_path / ".site.new-x", "new")
    blocker = tmp_path / "file"
    blocker.write_text("x")  # the trash cannot be made under a file: the old output is deleted in place
    local._swap_in(new, out, {"ok": True}, blocker / "trash")
    assert (out / "en" / "a" / "index.html").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "site"]


def test_first_build_just_renames(tmp_path: Path) -> None:
    new = _tree(tmp_path / ".site.new-x", "new")
    local._swap_in(new, tmp_path / "site", {}, tmp_path / "trash")
    assert (tmp_path / "site" / "en" / "a" / "index.html").read_text() == "new"
    assert not (tmp_path / "trash").exists()
