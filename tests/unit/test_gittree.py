"""The daemon's git tree IDs agree with git's own (``git write-tree``), object format by format."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from pipeline import gittree, workspace
from pipeline.redact import redact_url, scrub


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
    workspace.extract_archive(archive, dest, max_bytes=10**7)
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


def test_one_redact_url() -> None:
    assert redact_url("https://x-access-token:s3cret@github.com:8443/acme/docs.git") == "https://github.com:8443/acme/docs.git"
    assert redact_url("https://ghp_token@github.com/acme/docs.git") == "https://github.com/acme/docs.git"
    assert redact_url("ssh://git@github.com/acme/docs.git") == "ssh://github.com/acme/docs.git"
    assert redact_url("git@github.com:acme/docs.git") == "git@github.com:acme/docs.git"
    assert redact_url("https://github.com/acme/docs.git") == "https://github.com/acme/docs.git"
    assert redact_url("https://u:p@[::1") == "<unparseable url>"
    assert redact_url(None) is None
    msg = "fatal: unable to access 'https://ci:s3cret@git.example.com/x.git/': ci said s3cret"
    assert scrub(msg, "https://ci:s3cret@git.example.com/x.git") == (
        "fatal: unable to access 'https://git.example.com/x.git/': ci said ***")


def _tar(names: list[str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in names:
            info = tarfile.TarInfo(name)
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
    return buf.getvalue()


@pytest.mark.parametrize("name", ["docs/a\nb.md", "docs/tab\there.md", "docs/esc\x1b[31m.md", "docs/del\x7f.md"])
def test_control_characters_in_member_names_are_refused_once(tmp_path: Path, name: str) -> None:
    with pytest.raises(workspace.errors.BadMemberName) as info:
        workspace.extract_archive(_tar(["docs/index.md", name]), tmp_path / "src", max_bytes=10**6)
    assert info.value.code == "bad_member_name" and repr(name)[1:-1] in info.value.message
    assert not (tmp_path / "src").exists()


def test_long_names_are_refused_without_a_server_path(tmp_path: Path) -> None:
    dest = tmp_path / "src"
    with pytest.raises(workspace.errors.BadMemberName) as info:
        workspace.extract_archive(_tar(["docs/" + "n" * 300 + ".md"]), dest, max_bytes=10**6)
    assert str(tmp_path) not in info.value.message and "docs/nnn" in info.value.message
    assert not dest.exists()
