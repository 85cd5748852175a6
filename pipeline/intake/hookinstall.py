"""Install and remove pressroom's post-commit hook without disturbing anyone else's.

An existing ``post-commit`` that is not ours is renamed to ``post-commit.pressroom-chained`` and
run first by our script; ``uninstall`` deletes our script and puts the chained one back, and
removes the ``pressroom.*`` git config keys ``install`` wrote. Nothing else is touched. The
hook calls this venv's Python by absolute path, so it works from any shell and any PATH.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

MARKER = "# pressroom-post-commit-hook v1"
CHAINED = "post-commit.pressroom-chained"


class HookError(Exception):
    """The folder is not a git repository, or the hooks folder is in a state we will not guess about."""


@dataclass(frozen=True)
class HookPaths:
    hook: Path
    chained: Path


def _git(repo: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise HookError(f"git {' '.join(args)} failed in {repo}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def hook_paths(repo: Path) -> HookPaths:
    """Where git looks for hooks in ``repo`` (honours ``core.hooksPath``)."""
    if subprocess.run(["git", "-C", str(repo), "rev-parse", "--git-dir"], capture_output=True).returncode != 0:
        raise HookError(f"{repo} is not inside a git repository")
    hooks = Path(_git(repo, "rev-parse", "--git-path", "hooks"))
    if not hooks.is_absolute():
        hooks = repo / hooks
    return HookPaths(hooks / "post-commit", hooks / CHAINED)


def script(python: str = sys.executable) -> str:
    return f"""#!/bin/sh
{MARKER}: installed by `pressroom hook install`.
# `pressroom hook uninstall` removes it and restores the hook it chained ({CHAINED}).
# The commit is already made when this runs; if the daemon is down this reports it and exits 0.
status=0
chained="$(dirname "$0")/{CHAINED}"
if [ -x "$chained" ]; then
    "$chained" "$@"
    status=$?
fi
if [ "${{PRESSROOM_HOOK:-on}}" != "off" ]; then
    {shlex.quote(python)} -m pipeline.intake.hookrun || true
fi
exit $status
"""


def is_ours(path: Path) -> bool:
    try:
        return MARKER in path.read_text("utf-8", "replace")
    except (FileNotFoundError, IsADirectoryError):
        return False


def install(repo: Path, *, server: str, token: str | None = None) -> list[str]:
    """Install (or refresh) the hook; returns what was done, one line each."""
    paths = hook_paths(repo)
    done = []
    paths.hook.parent.mkdir(parents=True, exist_ok=True)
    if paths.hook.exists() and not is_ours(paths.hook):
        if paths.chained.exists():
            raise HookError(f"both {paths.hook} and {paths.chained} exist; move one away, then install again")
        os.replace(paths.hook, paths.chained)
        done.append(f"chained the existing hook: {paths.chained}")
    tmp = paths.hook.with_name(".post-commit.pressroom-tmp")
    tmp.write_text(script(), encoding="utf-8")
    tmp.chmod(0o755)
    os.replace(tmp, paths.hook)
    done.append(f"installed {paths.hook}")
    _git(repo, "config", "--local", "pressroom.server", server)
    if token:
        _git(repo, "config", "--local", "pressroom.token", token)
    done.append(f"the hook submits to {server}")
    return done


def uninstall(repo: Path) -> list[str]:
    paths = hook_paths(repo)
    done = []
    if is_ours(paths.hook):
        paths.hook.unlink()
        done.append(f"removed {paths.hook}")
        if paths.chained.exists():
            os.replace(paths.chained, paths.hook)
            done.append(f"restored the chained hook to {paths.hook}")
    elif paths.hook.exists():
        done.append(f"left {paths.hook} alone: it is not pressroom's")
    if _git(repo, "config", "--local", "--get-regexp", r"^pressroom\.", check=False):
        _git(repo, "config", "--local", "--remove-section", "pressroom")
        done.append("removed the pressroom.* git config keys")
    if not done:
        done.append("nothing to remove: the pressroom hook is not installed")
    return done
