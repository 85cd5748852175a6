"""``git`` targets: one commit of the whole release on a branch, pushed to a remote.

A push that loses a race (someone else pushed to the branch in between) is redone on top of the
new head: the release replaces the tree, so the new commit simply gets the other head as parent.
A push refused for any other reason (hook, permissions, protected branch) fails at once with
``deploy_push_rejected``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from stages.base import StageError
from stages.deploy import procs
from stages.deploy.options import GitSpec

BeforePush = Callable[[int], Awaitable[None]]
"""Called before each push attempt (attempt number); tests use it to stage a race."""


@dataclass(frozen=True)
class Pushed:
    commit: str
    attempts: int


class _Git:
    def __init__(self, spec: GitSpec, work: Path) -> None:
        self.spec = spec
        self.work = work
        self.env = {
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": spec.author_name, "GIT_AUTHOR_EMAIL": spec.author_email,
            "GIT_COMMITTER_NAME": spec.author_name, "GIT_COMMITTER_EMAIL": spec.author_email,
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
        }

    async def __call__(self, *args: str, check: bool = True, cwd: Path | None = None) -> procs.Completed:
        done = await procs.run(["git", *args], cwd=cwd or self.work, env=self.env, seconds=self.spec.timeout)
        if done.timed_out:
            raise StageError(f"git {args[0]} timed out after {self.spec.timeout:g} s", code="deploy_timeout")
        if check and done.returncode != 0:
            raise StageError(f"git {' '.join(args[:2])} failed: {done.output.strip()[-800:]}",
                             code="deploy_push_rejected")
        return done


async def publish(
    release: Path, spec: GitSpec, work: Path, *, message: str, before_push: BeforePush | None = None,
) -> Pushed:
    """Commit ``release`` as the full content of ``spec.branch`` and push it."""
    await asyncio.to_thread(_fresh_dir, work)
    git = _Git(spec, work)
    ref = f"refs/heads/{spec.branch}"
    await git("init", "-q", "-b", spec.branch)
    await git("remote", "add", "origin", spec.repo)
    fetched = await git("fetch", "-q", "--depth", "1", "origin", ref, check=False)
    if fetched.timed_out:
        raise StageError("git fetch timed out", code="deploy_timeout")
    has_branch = fetched.returncode == 0
    if has_branch:
        await git("reset", "-q", "--soft", "FETCH_HEAD")
    await asyncio.to_thread(_replace_tree, release, work)
    await git("add", "-A", ".")
    await git("commit", "-q", "--allow-empty", "-m", message)
    for attempt in range(1, spec.push_attempts + 1):
        if before_push is not None:
            await before_push(attempt)
        pushed = await git("push", "-q", "origin", f"HEAD:{ref}", check=False)
        if pushed.returncode == 0:
            head = await git("rev-parse", "HEAD")
            return Pushed(head.output.strip(), attempt)
        if not _lost_race(pushed.output) or attempt == spec.push_attempts:
            raise StageError(f"the remote rejected the push to {spec.branch}: {pushed.output.strip()[-800:]}",
                             code="deploy_push_rejected")
        # someone pushed first: put the same tree on top of their head and try again
        await git("fetch", "-q", "--depth", "1", "origin", ref)
        await git("reset", "-q", "--soft", "FETCH_HEAD")
        await git("commit", "-q", "--allow-empty", "-m", message)
    raise AssertionError("unreachable")


def _lost_race(output: str) -> bool:
    text = output.lower()
    return any(s in text for s in ("non-fast-forward", "fetch first", "stale info", "[rejected]"))\
        and "hook declined" not in text and "pre-receive hook" not in text


def _fresh_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)


def _replace_tree(release: Path, work: Path) -> None:
    for entry in work.iterdir():
        if entry.name == ".git":
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    shutil.copytree(release, work, dirs_exist_ok=True, symlinks=False)
    (work / ".nojekyll").touch()
