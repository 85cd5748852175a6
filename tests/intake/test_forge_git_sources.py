"""Commit statuses for builds that name only a git URL: a JSON git source and the post-commit hook.

The daemon runs in this process with its worker; the forge is a local stub on 127.0.0.1 whose
host is GitHub's (``api_url``), so ``http://127.0.0.1:<port>/acme/docs.git`` is the repository
``acme/docs``. git fetches that URL from the local bare repository through ``insteadOf`` in the
test's own git config, so nothing leaves the machine (``GIT_ALLOW_PROTOCOL=file``)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from typing import Any

import pytest

from pipeline.app import create_app
from tests.intake import helpers
from tests.intake.test_forge_statuses import GH_TOKEN, ForgeStub, _settled
from tests.intake.test_intake_hooks import commit, hook, job_id_from


@pytest.fixture
async def forge(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TEST_GH_TOKEN", GH_TOKEN)
    monkeypatch.setenv("GIT_ALLOW_PROTOCOL", "file")
    s = ForgeStub()
    await s.start()
    yield s
    assert s.runner is not None
    await s.runner.cleanup()


async def _finished(client: Any, job_id: str) -> None:
    deadline = time.monotonic() + 60
    while (await (await client.get(f"/api/builds/{job_id}/status")).json())["status"] not in ("COMPLETED", "FAILED"):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)


def _config(make_config: Any, stub: ForgeStub) -> Any:
    return make_config(notify={"backoff_base": 0.05, "backoff_max": 0.2, "max_attempts": 3},
                       server={"public_url": "https://docs.example.org"},
                       forge={"github": {"token_env": "TEST_GH_TOKEN", "api_url": stub.url}})


async def test_a_json_git_source_reports_pending_then_success(aiohttp_client: Any, make_config: Any,
                                                              repos: helpers.Repos, forge: ForgeStub) -> None:
    url = f"{forge.url}/acme/docs.git"
    subprocess.run(["git", "config", "--file", os.environ["GIT_CONFIG_GLOBAL"], f"url.{repos.url}.insteadOf", url],
                   check=True)
    client = await aiohttp_client(create_app(_config(make_config, forge)))
    sha = repos.head()[0]
    resp = await client.post("/api/builds", json={"source": {"git": url, "ref": sha}})
    assert resp.status == 202, await resp.text()
    job_id = (await resp.json())["job_id"]
    await _settled(client, 2)
    assert (await (await client.get(f"/api/builds/{job_id}/status")).json())["status"] == "COMPLETED"
    bodies = forge.accepted(f"/repos/acme/docs/statuses/{sha}")
    assert [b["state"] for b in bodies] == ["pending", "success"]
    assert bodies[-1]["target_url"] == f"https://docs.example.org/builds/{job_id}"
    headers = next(c[2] for c in forge.calls if c[1].endswith(sha))
    assert headers["Authorization"] == f"Bearer {GH_TOKEN}"


async def test_a_hook_build_reports_to_the_remotes_repository(aiohttp_client: Any, make_config: Any,
                                                              repos: helpers.Repos, forge: ForgeStub) -> None:
    client = await aiohttp_client(create_app(_config(make_config, forge)))
    server = str(client.make_url("")).rstrip("/")
    remote = f"http://ci:tok3n@127.0.0.1:{forge.port}/acme/docs.git"
    subprocess.run(["git", "remote", "set-url", "origin", remote], cwd=repos.clone, check=True)
    assert hook("install", str(repos.clone), "--server", server).exit_code == 0
    proc = await commit(repos.clone, {"docs/index.md": "# Home, edited\n"}, "Edit the home page")
    job_id = job_id_from(proc.stdout + proc.stderr)
    sha = repos.head()[0]
    await _settled(client, 2)
    status = await (await client.get(f"/api/builds/{job_id}/status")).json()
    assert status["trigger"]["repository"] == f"http://127.0.0.1:{forge.port}/acme/docs.git"  # no credentials sent
    assert [b["state"] for b in forge.accepted(f"/repos/acme/docs/statuses/{sha}")] == ["pending", "success"]


async def test_a_hook_build_of_a_local_remote_reports_nothing(aiohttp_client: Any, make_config: Any,
                                                             repos: helpers.Repos, forge: ForgeStub) -> None:
    client = await aiohttp_client(create_app(_config(make_config, forge)))
    server = str(client.make_url("")).rstrip("/")
    assert hook("install", str(repos.clone), "--server", server).exit_code == 0
    proc = await commit(repos.clone, {"docs/index.md": "# Local\n"}, "Edit locally")
    job_id = job_id_from(proc.stdout + proc.stderr)
    await _finished(client, job_id)
    assert forge.calls == []
    assert (await (await client.get("/api/deliveries")).json())["deliveries"] == []
