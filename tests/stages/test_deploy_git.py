"""Git targets against real bare repositories in tmp_path."""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

import pytest
from deploy_fixtures import build, context, pages

from stages.base import StageError
from stages.deploy import stage as deploy_stage
from stages.deploy.options import GitSpec, Options, Target

ENV = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x",
       "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, capture_output=True, text=True, check=True).stdout.strip()


def bare(tmp_path: Path) -> Path:
    remote = tmp_path / "remote.git"
    git("init", "-q", "--bare", "-b", "main", str(remote))
    return remote


def opts(remote: Path, attempts: int = 3) -> Options:
    return Options(targets={
        "staging": Target(kind="git", git=GitSpec(repo=str(remote), push_attempts=attempts)),
        "production": Target(requires_approval=True),
    })


def show(remote: Path, path: str, ref: str = "gh-pages") -> str:
    return git("--git-dir", str(remote), "show", f"{ref}:{path}")


async def test_the_site_is_committed_to_the_branch_and_pushed(tmp_path: Path) -> None:
    remote = bare(tmp_path)
    first = await deploy_stage.run(context(tmp_path, build(tmp_path, "job1"), options=opts(remote)))
    second = await deploy_stage.run(
        context(tmp_path, build(tmp_path, "job2", pages(extra="<p>v2</p>")), options=opts(remote)))

    assert "v2" in show(remote, "en/guide/install/index.html")
    assert show(remote, "en/docs.pdf") == "%PDF-1.7 job2"
    assert second.outputs["git"]["commit"] == git("--git-dir", str(remote), "rev-parse", "gh-pages")
    parent = git("--git-dir", str(remote), "rev-parse", "gh-pages^")
    assert parent == first.outputs["git"]["commit"]
    assert git("--git-dir", str(remote), "log", "-1", "--format=%s", "gh-pages") == "Deploy job2"
    # the local release is live too (previews, /sites/, rollback)
    root = tmp_path / "sites" / "staging"
    assert os.readlink(root / "current") == "releases/job2"


async def test_a_push_race_is_retried_on_top_of_the_new_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = bare(tmp_path)
    await deploy_stage.run(context(tmp_path, build(tmp_path, "job1"), options=opts(remote)))
    other = tmp_path / "other-clone"
    git("clone", "-q", "-b", "gh-pages", str(remote), str(other))

    async def someone_pushes_first(attempt: int) -> None:
        if attempt == 1:
            (other / "CNAME").write_text("docs.example.org\n")
            git("add", "CNAME", cwd=other)
            git("commit", "-q", "-m", "someone else", cwd=other)
            git("push", "-q", "origin", "gh-pages", cwd=other)

    monkeypatch.setattr(deploy_stage.git_target, "publish",
                        functools.partial(deploy_stage.git_target.publish, before_push=someone_pushes_first))
    ws = build(tmp_path, "job2", pages(extra="<p>v2</p>"))
    result = await deploy_stage.run(context(tmp_path, ws, options=opts(remote)))

    assert result.outputs["git"]["attempts"] == 2
    assert git("--git-dir", str(remote), "log", "-1", "--format=%s", "gh-pages^") == "someone else"
    assert "v2" in show(remote, "en/guide/install/index.html")


async def test_a_remote_that_rejects_the_push(tmp_path: Path) -> None:
    remote = bare(tmp_path)
    await deploy_stage.run(context(tmp_path, build(tmp_path, "job1"), options=opts(remote)))
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'branch is protected' >&2\nexit 1\n")
    hook.chmod(0o755)

    with pytest.raises(StageError) as err:
        await deploy_stage.run(
            context(tmp_path, build(tmp_path, "job2", pages(extra="<p>v2</p>")), options=opts(remote)))

    assert err.value.code == "deploy_push_rejected"
    assert "branch is protected" in str(err.value)
    root = tmp_path / "sites" / "staging"
    assert os.readlink(root / "current") == "releases/job1"
    assert sorted(p.name for p in (root / "releases").iterdir()) == ["job1"]
    assert "v2" not in show(remote, "en/guide/install/index.html")


async def test_a_lost_lease_pushes_nothing(tmp_path: Path) -> None:
    remote = bare(tmp_path)

    async def lost() -> bool:
        return False

    with pytest.raises(StageError) as err:
        await deploy_stage.run(context(tmp_path, build(tmp_path, "job1"), options=opts(remote), lease=lost))
    assert err.value.code == "lease_lost"
    assert git("--git-dir", str(remote), "branch", "--list") == ""


async def test_rollback_pushes_the_older_release_again(tmp_path: Path) -> None:
    from stages.deploy import targets

    remote = bare(tmp_path)
    options = opts(remote)
    await deploy_stage.run(context(tmp_path, build(tmp_path, "job1"), options=options))
    await deploy_stage.run(context(tmp_path, build(tmp_path, "job2", pages(extra="<p>v2</p>")), options=options))

    back = await targets.rollback_and_publish(options, tmp_path / "sites", "staging", workdir=tmp_path / "rb")

    assert back.job_id == "job1"
    assert "v2" not in show(remote, "en/guide/install/index.html")
    assert show(remote, "en/docs.pdf") == "%PDF-1.7 job1"
    assert git("--git-dir", str(remote), "log", "-1", "--format=%s", "gh-pages") == "Roll back to job1"
    assert os.readlink(tmp_path / "sites" / "staging" / "current") == "releases/job1"
