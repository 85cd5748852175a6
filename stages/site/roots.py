"""The include root for a build on someone's own machine: the git work tree holding the source.

MkDocs sites include files from beside the docs folder (FastAPI's ``../../docs_src``), so the
folder a user builds is rarely the whole site. ``pressroom build`` lets includes read inside the
git work tree that holds the source (found by walking up to a ``.git`` entry, without running
git), else inside the current folder when it holds the source, else only the source itself. The
daemon never uses this: its root is the submission.
"""

from __future__ import annotations

from pathlib import Path


def work_tree(path: Path) -> Path | None:
    """The nearest folder at or above ``path`` with a ``.git`` entry (a folder, or a worktree's file)."""
    for folder in (path, *path.parents):
        if (folder / ".git").exists():
            return folder
    return None


def default_root(source: Path, cwd: Path) -> Path:
    """Where includes of a ``pressroom build`` of ``source`` may read from (see the module doc)."""
    source = source.resolve()
    tree = work_tree(source)
    if tree is not None:
        return tree
    cwd = cwd.resolve()
    return cwd if source.is_relative_to(cwd) else source
