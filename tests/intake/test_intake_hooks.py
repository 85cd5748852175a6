"""The real post-commit hook in real repositories, talking to a real daemon on 127.0.0.1."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from pipeline.api.keys import store_key
from pipeline.app import create_app
from pipeline.cli import cli
from pipeline.intake import hookinstall
from pipeline.jobs.workspace import Workspace
from tests.conftest import free_port
from tests.intake import helpers
from tests.intake.helpers import dumps, github_headers, github_push


def hook(*args: str) -> Any:
    result = CliRunner().invoke(cli, ["hook", *args], catch_exceptions=False)
    return result


async def commit(repo: Path, files: dict[str, str], message: str) -> subprocess.CompletedProcess[str]:
    """``git commit`` as a writer runs it; the hook's output is in stdout/stderr."""
    def run() -> subprocess.CompletedProcess[str]:
        for rel, text in files.items():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            (repo / rel).write_text(text, encoding="utf-8")
        subprocess.run(["git", "add", *files], cwd=repo, check=True)
        return subprocess.run(["git", "commit", "-m", message], cwd=repo, capture_output=True, text=True)

    return await asyncio.to_thread(run)


def job_id_from(output: str) -> str:
    for line in output.splitlines():
        if line.startswith("pressroom: job "):
            return line.split()[2]
    raise AssertionError(f"no job ID in the hook's output:\n{output}")


async def test_commit_prints_a_job_id_for_the_committed_tree(aiohttp_client: Any, make_config: Any,
                                                             repos: helpers.Repos) -> None:
    cfg = make_config()
    client = await aiohttp_client(create_app(cfg, run_worker=False))
    server = str(client.make_url("")).rstrip("/")
    assert hook("install", str(repos.clone), "--server", server).exit_code == 0
    (repos.clone / "docs" / "draft.md").write_text("uncommitted work\n")
    proc = await commit(repos.clone, {"docs/index.md": "# Home, edited\n"}, "Edit the home page\n\nLonger body.")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    job_id = job_id_from(out)
    assert f"{server}/api/builds/{job_id}/status" in out
    sha, tree = repos.head()
    st = await (await client.get(f"/api/builds/{job_id}/status")).json()
    assert st["trigger"] == {"kind": "commit", "sha": sha, "tree": tree, "author": "Ada Writer <ada@example.com>",
                             "message": "Edit the home page\n\nLonger body.", "branch": "main",
                             "repository": str(repos.remote)}
    assert st["branch"] == "main"
    source = Path((await client.app[store_key].get(job_id)).source_path or "")
    assert (source / "docs" / "index.md").read_text() == "# Home, edited\n"
    assert not (source / "docs" / "draft.md").exists(), "the job must build the commit, not the working tree"
    assert source.is_relative_to(Workspace.for_job(cfg.data_path, job_id).root)


async def test_a_commit_and_its_push_are_one_job(aiohttp_client: Any, make_config: Any, repos: helpers.Repos) -> None:
    client = await aiohttp_client(create_app(make_config(), run_worker=False))
    assert hook("install", str(repos.clone), "--server", str(client.make_url("")).rstrip("/")).exit_code == 0
    proc = await commit(repos.clone, {"docs/new.md": "# New\n"}, "Add a page")
    job_id = job_id_from(proc.stdout + proc.stderr)
    await asyncio.to_thread(repos.push)
    sha, tree = repos.head()
    body = dumps(github_push(repos, "main", sha, tree))
    doc = await (await client.post("/hooks/github", data=body, headers=github_headers(body))).json()
    assert doc["job_id"] == job_id and doc["duplicate"] is True
    listed = await (await client.get("/api/builds")).json()
    assert [j["job_id"] for j in listed["jobs"]] == [job_id]


async def test_newer_commit_supersedes_the_pending_one(aiohttp_client: Any, make_config: Any, repos: helpers.Repos) -> None:
    client = await aiohttp_client(create_app(make_config(), run_worker=False))
    assert hook("install", str(repos.clone), "--server", str(client.make_url("")).rstrip("/")).exit_code == 0
    first = job_id_from((p := await commit(repos.clone, {"a.md": "a\n"}, "a")).stdout + p.stderr)
    second = job_id_from((p := await commit(repos.clone, {"b.md": "b\n"}, "b")).stdout + p.stderr)
    old = await (await client.get(f"/api/builds/{first}/status")).json()
    assert old["status"] == "CANCELLED" and old["error"]["code"] == "superseded"
    assert (await (await client.get(f"/api/builds/{second}/status")).json())["status"] == "PENDING"


async def test_daemon_down_the_commit_succeeds_and_the_hook_says_so(repos: helpers.Repos) -> None:
    server = f"http://127.0.0.1:{free_port()}"
    assert hook("install", str(repos.clone), "--server", server).exit_code == 0
    proc = await commit(repos.clone, {"docs/index.md": "# offline edit\n"}, "Offline edit")
    assert proc.returncode == 0
    out = proc.stdout + proc.stderr
    assert f"daemon unreachable at {server}" in out and "the commit is saved" in out
    assert helpers.git(repos.clone, "log", "-1", "--format=%s") == "Offline edit"


async def test_unconfigured_branch_and_detached_head_are_not_built(aiohttp_client: Any, make_config: Any,
                                                                   repos: helpers.Repos) -> None:
    client = await aiohttp_client(create_app(make_config(), run_worker=False))
    assert hook("install", str(repos.clone), "--server", str(client.make_url("")).rstrip("/")).exit_code == 0
    helpers.git(repos.clone, "checkout", "-q", "-b", "feature")
    proc = await commit(repos.clone, {"f.md": "f\n"}, "feature work")
    assert "not built: branch 'feature' is not in [intake] branches" in proc.stdout + proc.stderr
    helpers.git(repos.clone, "checkout", "-q", "--detach")
    proc = await commit(repos.clone, {"g.md": "g\n"}, "detached work")
    assert proc.returncode == 0 and "detached HEAD" in proc.stdout + proc.stderr
    assert (await (await client.get("/api/builds")).json())["jobs"] == []


async def test_existing_hook_is_chained_and_restored(aiohttp_client: Any, make_config: Any, repos: helpers.Repos) -> None:
    client = await aiohttp_client(create_app(make_config(), run_worker=False))
    hooks = repos.clone / ".git" / "hooks"
    original = "#!/bin/sh\necho ran >> \"$(git rev-parse --git-dir)/their-hook-ran\"\n"
    (hooks / "post-commit").write_text(original)
    (hooks / "post-commit").chmod(0o755)
    helpers.git(repos.clone, "config", "user.signingkey", "keep-me")
    result = hook("install", str(repos.clone), "--server", str(client.make_url("")).rstrip("/"), "--token", "t0k")
    assert result.exit_code == 0 and "chained the existing hook" in result.output
    assert hookinstall.is_ours(hooks / "post-commit")
    proc = await commit(repos.clone, {"c.md": "c\n"}, "chained")
    job_id_from(proc.stdout + proc.stderr)
    assert (repos.clone / ".git" / "their-hook-ran").read_text() == "ran\n"
    assert helpers.git(repos.clone, "config", "pressroom.token") == "t0k"

    result = hook("uninstall", str(repos.clone))
    assert result.exit_code == 0 and "restored the chained hook" in result.output
    assert (hooks / "post-commit").read_text() == original
    assert not (hooks / hookinstall.CHAINED).exists()
    assert "pressroom" not in helpers.git(repos.clone, "config", "--local", "--list")
    assert helpers.git(repos.clone, "config", "user.signingkey") == "keep-me"
    assert "it is not pressroom's" in hook("uninstall", str(repos.clone)).output
    assert (hooks / "post-commit").read_text() == original


async def test_uninstall_leaves_a_foreign_hook_alone(repos: helpers.Repos) -> None:
    hooks = repos.clone / ".git" / "hooks"
    (hooks / "post-commit").write_text("#!/bin/sh\nexit 0\n")
    assert "not pressroom's" in hook("uninstall", str(repos.clone)).output
    assert (hooks / "post-commit").read_text() == "#!/bin/sh\nexit 0\n"


async def test_install_outside_a_repository_is_a_usage_error(tmp_path: Path) -> None:
    result = hook("install", str(tmp_path), "--server", "http://127.0.0.1:1")
    assert result.exit_code == 2 and "not inside a git repository" in result.output


async def test_install_honours_core_hooks_path(repos: helpers.Repos) -> None:
    helpers.git(repos.clone, "config", "core.hooksPath", ".githooks")
    assert hook("install", str(repos.clone), "--server", "http://127.0.0.1:1").exit_code == 0
    assert hookinstall.is_ours(repos.clone / ".githooks" / "post-commit")
    assert "removed" in hook("uninstall", str(repos.clone)).output
    assert not (repos.clone / ".githooks" / "post-commit").exists()
    assert "nothing to remove" in hook("uninstall", str(repos.clone)).output


async def test_a_hung_daemon_does_not_hold_the_commit(repos: helpers.Repos) -> None:
    import socket

    with socket.socket() as listener:  # accepts connections (kernel backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        server = f"http://127.0.0.1:{listener.getsockname()[1]}"
        assert hook("install", str(repos.clone), "--server", server).exit_code == 0
        proc = await commit(repos.clone, {"docs/index.md": "# edit\n"}, "Edit while the daemon hangs")
    assert proc.returncode == 0
    assert f"daemon at {server} is not answering" in proc.stdout + proc.stderr
    assert helpers.git(repos.clone, "log", "-1", "--format=%s") == "Edit while the daemon hangs"
