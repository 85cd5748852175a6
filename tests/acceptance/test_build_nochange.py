"""``pressroom build`` with nothing changed decides so from file stats and touches nothing.

Each case runs the command a user types (a subprocess) in a project folder with no config file,
so the cache (``.pressroom``) and the output both live inside the folder that is stamped.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_tree

pytestmark = pytest.mark.slow

UNCHANGED = "nothing changed since the last build"
SITE: dict[str, str | bytes] = {
    "docs/en/index.md": "# Home\n\nSee [the guide](guide.md).\n",
    "docs/en/guide.md": "# Guide\n\n{!snippets/note.txt!}\n",
    "snippets/note.txt": "First note.\n",
}


def build(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSROOM_")}
    proc = subprocess.run([sys.executable, "-m", "pipeline", "build", "docs", "--out", "site", *args],
                          capture_output=True, text=True, cwd=project, env=env, timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, " ".join(proc.stdout.split()), " ".join(proc.stderr.split()))


def state(out: Path) -> dict[str, tuple[int, int]]:
    """Inode and mtime of everything in the output, the folder itself included."""
    return {p.relative_to(out.parent).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in [out, *sorted(out.rglob("*"))]}


def test_nothing_changed_touches_nothing_and_says_what_the_last_build_said(tmp_path: Path) -> None:
    project = make_tree(tmp_path / "project", SITE)
    first = build(project, "--stages", "render_html")
    assert first.returncode == 0 and UNCHANGED not in first.stdout, first.stdout + first.stderr
    for _ in range(3):  # pressroom's own files count as an input: a tree being edited may take a retry
        before = state(project / "site")
        again = build(project, "--stages", "render_html")
        assert again.returncode == 0, again.stdout + again.stderr
        if UNCHANGED in again.stdout:
            break
    assert UNCHANGED in again.stdout, again.stdout
    assert "render_html" in again.stdout and "passed" in again.stdout  # the last build's report, again
    assert state(project / "site") == before


def test_a_changed_page_include_config_or_command_line_builds_again(tmp_path: Path) -> None:
    project = make_tree(tmp_path / "project", SITE)
    assert build(project, "--stages", "render_html").returncode == 0
    guide = project / "site" / "en" / "guide" / "index.html"

    (project / "snippets" / "note.txt").write_text("Second note.\n")  # outside the source, inside the root
    proc = build(project, "--stages", "render_html")
    assert proc.returncode == 0 and UNCHANGED not in proc.stdout and "Second note." in guide.read_text()

    (project / "docs" / "en" / "new.md").write_text("# New page\n")
    proc = build(project, "--stages", "render_html")
    assert UNCHANGED not in proc.stdout and (project / "site" / "en" / "new" / "index.html").is_file()

    (project / "config.toml").write_text('[site]\ntitle = "Renamed"\n')
    proc = build(project, "--stages", "render_html")
    assert UNCHANGED not in proc.stdout and "Renamed" in guide.read_text()

    proc = build(project, "--stages", "lint,render_html")
    assert UNCHANGED not in proc.stdout and "lint" in proc.stdout


def test_a_failed_lint_is_reported_again_with_the_same_exit_code(tmp_path: Path) -> None:
    project = make_tree(tmp_path / "project", {**SITE, "docs/en/guide.md": "# Guide\n\n{!snippets/missing.txt!}\n"})
    first = build(project, "--stages", "lint,render_html")
    assert first.returncode == 1 and "lint_failed" in first.stdout, first.stdout + first.stderr
    for _ in range(3):  # as above: a retry when pressroom's own files changed meanwhile
        again = build(project, "--stages", "lint,render_html")
        if UNCHANGED in again.stdout:
            break
    assert again.returncode == 1 and UNCHANGED in again.stdout and "lint_failed" in again.stdout, again.stdout
    assert "include-missing" in again.stdout
