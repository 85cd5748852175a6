"""Commit statuses, check runs and the preview comment, sent to local stubs of the GitHub and
GitLab REST APIs that check the paths, headers and bodies those APIs document. Builds come from
signed webhooks and run in the app's worker; each report is a retried, dead-lettered delivery."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from aiohttp import web

from pipeline.app import create_app
from tests.intake import helpers

GH_TOKEN = "ghs_test-installation-token"
GL_TOKEN = "glpat-test-token"


class ForgeStub:
    """Answers like GitHub (``/repos/...``) and GitLab (``/api/v4/projects/...``).

    ``faults`` maps a status ``state`` to the HTTP status its first report gets; ``answered``
    holds the HTTP status each call in ``calls`` got."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, str], dict[str, Any]]] = []
        self.answered: list[int] = []
        self.faults: dict[str, int] = {}
        self.next_id = 100
        self.port = 0
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append((request.method, request.path_qs, dict(request.headers), body))
        fault = self.faults.pop(str(body.get("state")), None)
        if fault is not None:
            self.answered.append(fault)
            return web.json_response({"message": "try later"}, status=fault)
        self.next_id += 1
        status = 200 if request.method in ("PATCH", "PUT") else 201
        self.answered.append(status)
        return web.json_response({"id": self.next_id, **body}, status=status)

    def accepted(self, path: str) -> list[dict[str, Any]]:
        """Bodies the stub accepted at ``path``, in order."""
        return [c[3] for c, code in zip(self.calls, self.answered, strict=True) if c[1] == path and code < 300]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, handle_signals=False)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.port = self.runner.addresses[0][1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
async def stub(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TEST_GH_TOKEN", GH_TOKEN)
    monkeypatch.setenv("TEST_GL_TOKEN", GL_TOKEN)
    s = ForgeStub()
    await s.start()
    yield s
    assert s.runner is not None
    await s.runner.cleanup()


def _config(make_config: Any, stub: ForgeStub, check_runs: bool = False) -> Any:
    return make_config(notify={"backoff_base": 0.05, "backoff_max": 0.2, "max_attempts": 3},
                       server={"public_url": "https://docs.example.org"},
                       forge={"github": {"token_env": "TEST_GH_TOKEN", "api_url": stub.url, "check_runs": check_runs},
                              "gitlab": {"token_env": "TEST_GL_TOKEN", "api_url": stub.url + "/api/v4"}})


async def _settled(client: Any, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 60
    while True:
        body = await (await client.get("/api/deliveries")).json()
        done = [d for d in body["deliveries"] if d["status"] in ("COMPLETED", "FAILED")]
        if len(body["deliveries"]) >= count and len(done) == len(body["deliveries"]):
            return list(body["deliveries"])
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.05)


async def test_a_github_push_reports_pending_then_success_retrying_a_5xx(
        aiohttp_client: Any, make_config: Any, repos: helpers.Repos, stub: ForgeStub) -> None:
    client = await aiohttp_client(create_app(_config(make_config, stub)))
    sha, tree = repos.head()
    stub.faults = {"pending": 502}  # the first "pending" fails; its delivery is retried
    job = await helpers.post_github(client, helpers.github_push(repos, "main", sha, tree), "push")
    await _settled(client, 2)
    statuses = [c for c in stub.calls if c[1] == f"/repos/acme/docs/statuses/{sha}"]
    # The refused "pending" is retried, but never accepted after "success": the commit ends green.
    accepted = [b["state"] for b in stub.accepted(f"/repos/acme/docs/statuses/{sha}")]
    assert accepted[-1] == "success" and accepted.count("success") == 1
    assert 502 in stub.answered
    method, _, headers, body = next(c for c in statuses if c[3]["state"] == "success")
    assert method == "POST" and headers["Authorization"] == f"Bearer {GH_TOKEN}"
    assert headers["Accept"] == "application/vnd.github+json" and headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert body == {"state": "success", "target_url": f"https://docs.example.org/builds/{job['job_id']}",
                    "description": "The docs built", "context": "pressroom"}
    listed = await (await client.get("/api/deliveries")).json()
    assert all(d["status"] == "COMPLETED" for d in listed["deliveries"])
    assert GH_TOKEN not in json.dumps(listed)


async def test_a_pull_request_preview_reports_its_url_and_edits_one_comment(
        aiohttp_client: Any, make_config: Any, repos: helpers.Repos, stub: ForgeStub) -> None:
    client = await aiohttp_client(create_app(_config(make_config, stub, check_runs=True)))
    first = repos.head()[0]
    await helpers.post_github(client, helpers.github_pull_request(repos, 5, "opened", first), "pull_request")
    await _settled(client, 3)
    second = repos.commit({"docs/index.md": "# Edited\n"}, "edit")[0]
    repos.push()
    await helpers.post_github(client, helpers.github_pull_request(repos, 5, "synchronize", second), "pull_request")
    await _settled(client, 6)
    runs = [c for c in stub.calls if c[1] == "/repos/acme/docs/check-runs"]
    done = [c[3] for c in runs if c[3]["status"] == "completed"]
    assert [r["head_sha"] for r in done] == [first, second]
    assert done[-1]["conclusion"] == "success" and done[-1]["details_url"].endswith("/sites/preview-5/")
    assert done[-1]["name"] == "pressroom"
    created = [c for c in stub.calls if c[0] == "POST" and c[1] == "/repos/acme/docs/issues/5/comments"]
    edited = [c for c in stub.calls if c[0] == "PATCH" and c[1].startswith("/repos/acme/docs/issues/comments/")]
    assert len(created) == 1 and len(edited) == 1  # one comment, updated on the second push
    assert "/sites/preview-5/" in edited[0][3]["body"] and second[:12] in edited[0][3]["body"]


async def test_gitlab_statuses_and_a_refusal_is_dead_lettered_then_replayable(
        aiohttp_client: Any, make_config: Any, repos: helpers.Repos, stub: ForgeStub) -> None:
    client = await aiohttp_client(create_app(_config(make_config, stub)))
    sha = repos.head()[0]
    stub.faults = {"running": 403}
    resp = await client.post("/hooks/gitlab", data=json.dumps(helpers.gitlab_push(repos, "main", sha)).encode(),
                             headers=helpers.gitlab_headers())
    assert resp.status == 202
    deliveries = await _settled(client, 2)
    path = f"/api/v4/projects/acme%2Fdocs/statuses/{sha}"
    calls = [c for c in stub.calls if c[1] == path]
    assert calls and all(c[2]["PRIVATE-TOKEN"] == GL_TOKEN for c in calls)
    done = next(c[3] for c in calls if c[3]["state"] == "success")
    assert done == {"state": "success", "name": "pressroom", "description": "The docs built",
                    "target_url": f"https://docs.example.org/builds/{(await resp.json())['job_id']}"}
    dead = [d for d in deliveries if d["dead"]]
    assert len(dead) == 1 and dead[0]["error"]["code"] == "forge_refused"
    replay = await client.post(f"/api/deliveries/{dead[0]['job_id']}/retry")
    assert replay.status == 202
    after = {d["job_id"]: d for d in await _settled(client, 2)}
    assert after[dead[0]["job_id"]]["status"] == "COMPLETED" and not after[dead[0]["job_id"]]["dead"]
    # The replayed "running" came after "success" was reported, so it is not posted over it.
    assert [b["state"] for b in stub.accepted(path)] == ["success"]
