"""``pressroom build --out`` never deletes what pressroom did not write, and publishes readable files.

Every case runs the command a user types (a subprocess) and checks the disk afterwards.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_tree

pytestmark = pytest.mark.slow

SITE: dict[str, str | bytes] = {"en/index.md": "# Home\n\nSee [the guide](guide.md).\n", "en/guide.md": "# Guide\n\nText.\n"}


def build(*args: str, cwd: Path, umask: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSROOM_")}
    pre = (lambda: os.umask(umask) and None) if umask is not None else None
    proc = subprocess.run([sys.executable, "-m", "pipeline", "build", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120, preexec_fn=pre)
    # rich wraps long lines at the terminal width: compare words, not line breaks
    return subprocess.CompletedProcess(proc.args, proc.returncode, " ".join(proc.stdout.split()), " ".join(proc.stderr.split()))


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_out_is_the_source_is_refused_and_nothing_touched(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "docs", SITE)
    before = snapshot(src)
    proc = build(str(src), "--out", str(src), cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "is the source folder" in proc.stderr
    assert snapshot(src) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs"]  # no half-written folder beside it


def test_out_holding_the_source_is_refused(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "project" / "docs", SITE)
    make_tree(tmp_path / "project", {"README.md": "mine\n"})
    before = snapshot(tmp_path / "project")
    proc = build(str(src), "--out", str(tmp_path / "project"), cwd=tmp_path)
    assert proc.returncode == 2 and "holds the source folder" in proc.stderr
    assert snapshot(tmp_path / "project") == before


def test_non_empty_folder_without_marker_is_refused_empty_one_is_used(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "docs", SITE)
    make_tree(tmp_path / "out", {"notes.txt": "someone's work\n", "sub/keep.md": "x\n"})
    proc = build(str(src), "--out", str(tmp_path / "out"), "--stages", "render_html", cwd=tmp_path)
    assert proc.returncode == 2 and ".pressroom-build" in proc.stderr
    assert snapshot(tmp_path / "out") == {"notes.txt": b"someone's work\n", "sub/keep.md": b"x\n"}
    (tmp_path / "empty").mkdir()
    ok = build(str(src), "--out", str(tmp_path / "empty"), "--stages", "render_html", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert (tmp_path / "empty" / "en" / "guide" / "index.html").is_file()
    (tmp_path / "file").write_text("x")
    assert build(str(src), "--out", str(tmp_path / "file"), cwd=tmp_path).returncode == 2
    (tmp_path / "link").symlink_to(tmp_path / "empty")
    link = build(str(src), "--out", str(tmp_path / "link"), cwd=tmp_path)
    assert link.returncode == 2 and "symbolic link" in link.stderr


def test_rebuild_replaces_own_output_and_failed_build_keeps_it(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "docs", SITE)
    out = tmp_path / "site"
    first = build(str(src), "--out", str(out), "--stages", "render_html", cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert (out / ".pressroom-build").is_file() and (out / "en" / "guide" / "index.html").is_file()
    (src / "en" / "guide.md").unlink()
    make_tree(src, {"en/index.md": "# Home\n\nChanged.\n"})
    failed = build(str(src), "--out", str(out), "--stages", "render_html,no_such_stage", cwd=tmp_path)
    assert failed.returncode == 1 and "stage_not_found" in failed.stdout
    assert "left as it was" in failed.stdout
    assert (out / "en" / "guide" / "index.html").is_file()  # the previous output, untouched
    assert "Changed." not in (out / "en" / "index.html").read_text()
    again = build(str(src), "--out", str(out), "--stages", "render_html", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Changed." in (out / "en" / "index.html").read_text()
    assert not (out / "en" / "guide" / "index.html").exists()  # a stale page of our own build is gone
    assert sorted(p.name for p in tmp_path.iterdir()) == [".pressroom", "docs", "site"]  # nothing left beside


def test_output_modes_are_0644_and_0755_whatever_the_umask(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "docs", SITE)
    out = tmp_path / "site"
    proc = build(str(src), "--out", str(out), "--stages", "lint,render_html", cwd=tmp_path, umask=0o077)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    modes = {p.relative_to(out).as_posix(): stat.S_IMODE(p.lstat().st_mode) for p in [out, *out.rglob("*")]}
    assert len(modes) > 10
    wrong = {k: oct(m) for k, m in modes.items() if m != (0o755 if (out / k).is_dir() else 0o644)}
    assert wrong == {}
