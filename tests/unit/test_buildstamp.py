"""The no-change check of ``pressroom build``: what counts as a change, and when it gives up."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from pipeline.cli import buildstamp
from tests.conftest import make_tree


def stamped(root: Path, out: Path, key: str = "k") -> Path:
    """A marker as a build of ``root/docs`` into ``out`` leaves it."""
    record = buildstamp.record(key, root / "docs", [str(root)], [str(out), str(root / ".site.new-") + "*"])
    out.mkdir(exist_ok=True)
    (out / ".pressroom-build").write_text(json.dumps(record))
    return out / ".pressroom-build"


def test_nothing_changed_then_an_edit_a_new_file_or_a_removed_one(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "p", {"docs/index.md": "# A\n", "snippets/x.txt": "x\n"})
    marker = stamped(root, root / "site")
    assert buildstamp.unchanged(marker, root / "docs", "k") is not None
    (root / "site" / "en.html").write_text("output, not an input")  # the output is left out
    (root / ".site.new-abc").mkdir()  # so are a build's temporary folders
    assert buildstamp.unchanged(marker, root / "docs", "k") is not None
    assert buildstamp.unchanged(marker, root / "docs", "other key") is None

    st = (root / "snippets" / "x.txt").stat()
    os.utime(root / "snippets" / "x.txt", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert buildstamp.unchanged(marker, root / "docs", "k") is None
    marker = stamped(root, root / "site")
    (root / "docs" / "new.md").write_text("# New\n")
    assert buildstamp.unchanged(marker, root / "docs", "k") is None
    marker = stamped(root, root / "site")
    (root / "docs" / "new.md").unlink()
    assert buildstamp.unchanged(marker, root / "docs", "k") is None


def test_a_commit_counts_as_a_change(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "p", {"docs/index.md": "# A\n"})
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@localhost",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@localhost"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "one"]):
        subprocess.run(["git", *args], cwd=root, check=True, env=env)
    marker = stamped(root, tmp_path / "site")
    assert buildstamp.unchanged(marker, root / "docs", "k") is not None
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "two"], cwd=root, check=True, env=env)
    assert buildstamp.unchanged(marker, root / "docs", "k") is None


def test_the_key_follows_the_command_line_the_config_and_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(buildstamp, "_code_files", lambda: ["code"])  # others edit this tree meanwhile
    cfg = tmp_path / "config.toml"
    cfg.write_text('[site]\ntitle = "A"\n')
    base = buildstamp.key({"stages": None}, cfg)
    assert buildstamp.key({"stages": None}, cfg) == base
    assert buildstamp.key({"stages": "render_html"}, cfg) != base
    cfg.write_text('[site]\ntitle = "B"\n')
    assert buildstamp.key({"stages": None}, cfg) != base
    again = buildstamp.key({"stages": None}, cfg)
    monkeypatch.setenv("PRESSROOM_SITE__TITLE", "C")
    assert buildstamp.key({"stages": None}, cfg) != again


def test_it_gives_up_on_a_linked_folder_or_too_many_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_tree(tmp_path / "p", {"docs/index.md": "# A\n", "elsewhere/x.md": "x\n"})
    (root / "docs" / "linked").symlink_to(root / "elsewhere", target_is_directory=True)
    assert buildstamp.record("k", root / "docs", [str(root)], [])["digest"] is None
    (root / "docs" / "linked").unlink()
    assert buildstamp.record("k", root / "docs", [str(root)], [])["digest"] is not None
    monkeypatch.setattr(buildstamp, "MAX_FILES", 1)
    assert buildstamp.record("k", root / "docs", [str(root)], [])["digest"] is None


def test_an_old_plain_text_marker_means_build(tmp_path: Path) -> None:
    (tmp_path / ".pressroom-build").write_text("written by pressroom build; this folder is replaced by the next build\n")
    assert buildstamp.unchanged(tmp_path / ".pressroom-build", tmp_path, "k") is None
