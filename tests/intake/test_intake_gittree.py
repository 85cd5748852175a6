"""The daemon's git tree IDs agree with git's own (``git write-tree``), object format by format."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pipeline.intake import archives, gittree


def _git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _awkward_repo(root: Path, object_format: str = "sha1") -> Path:
    """Names git sorts differently from a plain sort (``a-b``, ``a.c/``, ``a/``), an executable,
    a symlink, an empty folder (not in git), non-ASCII and nested trees."""
    repo = root / f"repo-{object_format}"
    _git(root, "init", "-q", f"--object-format={object_format}", str(repo))
    files = {"a/b/f.md": "x", "a.md": "y", "a-b": "", "a.c/z": "z\n", "docs/é ü.md": "# Umlaut\n",
             "run.sh": "#!/bin/sh\n", "deep/1/2/3/4.md": "deep\n"}
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text, encoding="utf-8")
    (repo / "run.sh").chmod(0o755)
    (repo / "link").symlink_to("a/b/f.md")
    (repo / "empty").mkdir()
    _git(repo, "add", "-A")
    return repo


@pytest.mark.parametrize("object_format", ["sha1", "sha256"])
def test_tree_id_matches_git_write_tree(tmp_path: Path, object_format: str) -> None:
    repo = _awkward_repo(tmp_path, object_format)
    expected = _git(repo, "write-tree")
    assert gittree.tree_id(repo, algo=gittree.algo_for(expected)) == expected


def test_tree_id_of_git_archive_round_trip(tmp_path: Path) -> None:
    """What the hook sends (``git archive`` of a commit), unpacked as the daemon does, has the commit's tree."""
    repo = _awkward_repo(tmp_path)
    _git(repo, "-c", "user.name=A", "-c", "user.email=a@example.com", "commit", "-q", "-m", "one")
    archive = subprocess.run(["git", "archive", "--format=tar.gz", "HEAD"], cwd=repo, capture_output=True, check=True).stdout
    dest = tmp_path / "unpacked"
    archives.extract_archive(archive, dest, max_bytes=10**7)
    assert gittree.tree_id(dest) == _git(repo, "rev-parse", "HEAD^{tree}")


def test_changing_a_mode_or_a_byte_changes_the_id(tmp_path: Path) -> None:
    repo = _awkward_repo(tmp_path)
    first = gittree.tree_id(repo)
    (repo / "run.sh").chmod(0o644)
    second = gittree.tree_id(repo)
    (repo / "a.md").write_text("Y")
    assert len({first, second, gittree.tree_id(repo)}) == 3


def test_empty_folder_is_the_empty_tree(tmp_path: Path) -> None:
    assert gittree.tree_id(tmp_path) == gittree.EMPTY_TREE_SHA1
