"""Push webhooks against a real bare repository, with the real worker fetching the pushed commit."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pipeline.api.keys import store_key
from pipeline.app import create_app
from pipeline.jobs.workspace import Workspace
from tests.intake import helpers
from tests.intake.helpers import (
    dumps,
    generic_headers,
    github_headers,
    github_push,
    gitlab_headers,
    gitlab_push,
)


async def _jobs(client: Any) -> list[dict[str, Any]]:
    body = await (await client.get("/api/builds?kind=all")).json()
    return [j for j in body["jobs"] if j["kind"] == "build"]


async def _finished(client: Any, job_id: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        st = await (await client.get(f"/api/builds/{job_id}/status")).json()
        return st if st["status"] in ("COMPLETED", "FAILED", "CANCELLED") else None

    return await helpers.wait_for(check, f"job {job_id} to finish")


async def test_github_push_builds_the_pushed_commit(aiohttp_client: Any, make_config: Any, repos: helpers.Repos) -> None:
    cfg = make_config()
    client = await aiohttp_client(create_app(cfg))
    sha, tree = await asyncio.to_thread(repos.commit, {"docs/guide.md": "# Guide\n"}, "Add the guide")
    await asyncio.to_thread(repos.push)
    body = dumps(github_push(repos, "main", sha, tree, "Add the guide"))
    resp = await client.post("/hooks/github", data=body, headers=github_headers(body, delivery="d-1"))
    assert resp.status == 202, await resp.text()
    doc = await resp.json()
    assert doc["ignored"] is False and doc["duplicate"] is False
    st = await _finished(client, doc["job_id"])
    assert st["status"] == "COMPLETED", st
    assert st["trigger"] == {"kind": "webhook", "provider": "github", "delivery_id": "d-1", "repository": "acme/docs",
                             "url": repos.url, "sha": sha, "tree": tree, "author": "Ada Writer <ada@example.com>",
                             "message": "Add the guide", "branch": "main"}
    source = Workspace.for_job(cfg.data_path, doc["job_id"]).source
    assert (source / "docs" / "guide.md").read_text() == "# Guide\n"
    listed = await (await client.get("/api/builds?trigger=webhook")).json()
    assert [j["job_id"] for j in listed["jobs"]] == [doc["job_id"]]


async def test_github_ping_is_answered_and_creates_nothing(aiohttp_client: Any, make_config: Any) -> None:
    client = await aiohttp_client(create_app(make_config(), run_worker=False))
    body = dumps({"zen": "Keep it logically awesome.", "hook_id": 42, "hook": {"type": "Repository"}})
    resp = await client.post("/hooks/github", data=body, headers=github_headers(body, event="ping"))
    assert resp.status == 200
    assert (await resp.json())["pong"] is True
    assert await _jobs(client) == []


async def test_bad_signatures_get_401_and_create_nothing(aiohttp_client: Any, make_config: Any, repos: helpers.Repos) -> None:
    client = await aiohttp_client(create_app(make_config(), run_worker=False))
    sha, tree = repos.head()
    body = dumps(github_push(repos, "main", sha, tree))
    cases = {
        "missing": {k: v for k, v in github_headers(body, delivery="bad-1").items() if k != "X-Hub-Signature-256"},
        "wrong secret": github_headers(body, secret="not-the-secret", delivery="bad-2"),
        "other body": github_headers(body + b" "),
        "not hex": {**github_headers(body), "X-Hub-Signature-256": "sha256=zz"},
        "sha1 scheme": {**github_headers(body), "X-Hub-Signature-256": "sha1=" + "0" * 40},
    }
    for name, headers in cases.items():
        resp = await client.post("/hooks/github", data=body, headers=headers)
        assert resp.status == 401, name
        assert (await resp.json())["error"]["code"] == "invalid_signature", name
    gl = dumps(gitlab_push(repos, "main", sha))
    for headers in ({k: v for k, v in gitlab_headers().items() if k != "X-Gitlab-Token"}, gitlab_headers(token="nope")):
        assert (await client.post("/hooks/gitlab", data=gl, headers=headers)).status == 401
    gen = dumps({"repository": repos.url, "branch": "main", "sha": sha})
    for headers in (generic_headers(gen, secret="nope"), {**generic_headers(gen), "webhook-signature": ""},
                    generic_headers(gen, timestamp=int(time.time()) - 3600)):
        assert (await client.post("/hooks/generic", data=gen, headers=headers)).status == 401
    assert await _jobs(client) == []
    store = client.app[store_key]
    for delivery in ("bad-1", "bad-2"):
        assert await store.ref_get(f"intake:delivery:github:{delivery}") is None, "no delivery recorded"


async def test_replayed_deliveries_get_401(aiohttp_client: Any, make_config: Any, repos: helpers.Repos) -> None:
    client = await aiohttp_client(create_app(make_config(), run_worker=False))
    sha, tree = repos.head()
    body = dumps(github_push(repos, "main", sha, tree))
    headers = github_headers(body, delivery="same-delivery")
    first = await client.post("/hooks/github", data=body, headers=headers)
    assert first.status == 202
    again = await client.post("/hooks/github", data=body, headers=headers)
    assert again.status == 401
    assert "already received" in (await again.json())["error"]["message"]

    gl = dumps(gitlab_push(repos, "main", sha))
    gh = gitlab_headers(uuid_="gl-uuid-1")
    assert (await client.post("/hooks/gitlab", data=gl, headers=gh)).status == 202
    assert (await client.post("/hooks/gitlab", data=gl, headers=gh)).status == 401

    gen = dumps({"repository": repos.url, "branch": "main", "sha": sha, "tree": tree})
    genh = generic_headers(gen, delivery="msg_1")
    assert (await client.post("/hooks/generic", data=gen, headers=genh)).status == 202
    assert (await client.post("/hooks/generic", data=gen, headers=genh)).status == 401
    # one job: the three channels carried the same tree
    assert len(await _jobs(client)) == 1


async def test_unconfigured_branch_is_ignored(aiohttp_client: Any, make_config: Any, repos: helpers.Repos) -> None:
    client = await aiohttp_client(create_app(make_config(intake={"branches": ["main", "release/*"]}), run_worker=False))
    sha, tree = repos.head()
    body = dumps(github_push(repos, "feature/x", sha, tree))
    resp = await client.post("/hooks/github", data=body, headers=github_headers(body))
    assert resp.status == 202
    doc = await resp.json()
    assert doc["ignored"] is True and "feature/x" in doc["reason"]
    gl = dumps(gitlab_push(repos, "wip", sha))
    doc = await (await client.post("/hooks/gitlab", data=gl, headers=gitlab_headers())).json()
    assert doc["ignored"] is True
    tag = dumps({**github_push(repos, "main", sha, tree), "ref": "refs/tags/v1"})
    doc = await (await client.post("/hooks/github", data=tag, headers=github_headers(tag))).json()
    assert doc["ignored"] is True
    assert await _jobs(client) == []
    release = dumps(github_push(repos, "release/2.0", sha, tree))
    doc = await (await client.post("/hooks/github", data=release, headers=github_headers(release))).json()
    assert doc["ignored"] is False and doc["job_id"]


async def test_unfetchable_repository_fails_the_job_with_gits_message(aiohttp_client: Any, make_config: Any,
                                                                     repos: helpers.Repos, tmp_path: Any) -> None:
    client = await aiohttp_client(create_app(make_config()))
    sha, tree = repos.head()
    doc = github_push(repos, "main", sha, tree)
    doc["repository"]["clone_url"] = (tmp_path / "no-such-repo.git").as_uri()
    body = dumps(doc)
    resp = await client.post("/hooks/github", data=body, headers=github_headers(body))
    assert resp.status == 202
    st = await _finished(client, (await resp.json())["job_id"])
    assert st["status"] == "FAILED"
    assert st["error"]["code"] == "source_fetch_failed"
    assert "does not appear to be a git repository" in st["error"]["message"]


async def test_gitlab_push_learns_the_tree_and_builds(aiohttp_client: Any, make_config: Any, repos: helpers.Repos) -> None:
    cfg = make_config()
    client = await aiohttp_client(create_app(cfg))
    sha, tree = await asyncio.to_thread(repos.commit, {"docs/index.md": "# Home v2\n"}, "Home v2")
    await asyncio.to_thread(repos.push)
    body = dumps(gitlab_push(repos, "main", sha, "Home v2"))
    resp = await client.post("/hooks/gitlab", data=body, headers=gitlab_headers(uuid_="u-1"))
    assert resp.status == 202, await resp.text()
    job_id = (await resp.json())["job_id"]
    st = await _finished(client, job_id)
    assert st["status"] == "COMPLETED"
    assert st["trigger"]["provider"] == "gitlab" and st["trigger"]["tree"] == tree and st["trigger"]["sha"] == sha
    assert st["trigger"]["repository"] == "acme/docs" and st["trigger"]["message"] == "Home v2"
    # the same tree announced by GitHub (a mirror) is the same job
    gh = dumps(github_push(repos, "main", sha, tree))
    again = await (await client.post("/hooks/github", data=gh, headers=github_headers(gh))).json()
    assert again["job_id"] == job_id and again["duplicate"] is True


async def test_gitlab_unfetchable_still_gives_a_failed_job(aiohttp_client: Any, make_config: Any,
                                                          repos: helpers.Repos, tmp_path: Any) -> None:
    client = await aiohttp_client(create_app(make_config()))
    sha, _ = repos.head()
    doc = gitlab_push(repos, "main", sha)
    doc["project"]["git_http_url"] = (tmp_path / "gone.git").as_uri()
    body = dumps(doc)
    resp = await client.post("/hooks/gitlab", data=body, headers=gitlab_headers())
    assert resp.status == 202
    st = await _finished(client, (await resp.json())["job_id"])
    assert st["status"] == "FAILED" and st["error"]["code"] == "source_fetch_failed"


async def test_newer_push_supersedes_a_pending_build_of_the_branch(aiohttp_client: Any, make_config: Any,
                                                                   repos: helpers.Repos) -> None:
    client = await aiohttp_client(create_app(make_config(), run_worker=False))
    ids = []
    for n in range(2):
        sha, tree = await asyncio.to_thread(repos.commit, {"docs/index.md": f"# v{n}\n"}, f"v{n}")
        body = dumps(github_push(repos, "main", sha, tree))
        doc = await (await client.post("/hooks/github", data=body, headers=github_headers(body))).json()
        ids.append(doc["job_id"])
    assert doc["superseded"] == [ids[0]]
    old = await (await client.get(f"/api/builds/{ids[0]}/status")).json()
    assert old["status"] == "CANCELLED" and old["error"]["code"] == "superseded"


async def test_generic_webhook_builds(aiohttp_client: Any, make_config: Any, repos: helpers.Repos) -> None:
    client = await aiohttp_client(create_app(make_config()))
    sha, tree = repos.head()
    body = dumps({"repository": repos.url, "name": "acme/docs", "branch": "main", "sha": sha, "tree": tree,
                  "author": "CI", "message": "nightly"})
    resp = await client.post("/hooks/generic", data=body, headers=generic_headers(body, delivery="msg_x"))
    assert resp.status == 202, await resp.text()
    st = await _finished(client, (await resp.json())["job_id"])
    assert st["status"] == "COMPLETED"
    assert st["trigger"]["provider"] == "generic" and st["trigger"]["delivery_id"] == "msg_x"
    ping = dumps({"event": "ping"})
    assert (await client.post("/hooks/generic", data=ping, headers=generic_headers(ping))).status == 200


async def test_openapi_lists_the_hooks(aiohttp_client: Any, make_config: Any) -> None:
    client = await aiohttp_client(create_app(make_config(), run_worker=False))
    doc = await (await client.get("/api/openapi.json")).json()
    for path in ("/hooks/github", "/hooks/gitlab", "/hooks/generic", "/hooks/commit"):
        assert "post" in doc["paths"][path]


async def test_form_encoded_github_delivery_and_unset_secret(aiohttp_client: Any, make_config: Any,
                                                            repos: helpers.Repos, monkeypatch: Any) -> None:
    import urllib.parse

    client = await aiohttp_client(create_app(make_config(), run_worker=False))
    sha, tree = repos.head()
    body = urllib.parse.urlencode({"payload": dumps(github_push(repos, "main", sha, tree)).decode()}).encode()
    headers = {**github_headers(body), "Content-Type": "application/x-www-form-urlencoded"}
    resp = await client.post("/hooks/github", data=body, headers=headers)
    assert resp.status == 202 and (await resp.json())["job_id"]
    monkeypatch.delenv("PRESSROOM_GITHUB_SECRET")
    again = dumps(github_push(repos, "main", sha, tree))
    resp = await client.post("/hooks/github", data=again, headers=github_headers(again))
    assert resp.status == 401
    assert "PRESSROOM_GITHUB_SECRET is not set" in (await resp.json())["error"]["message"]


async def test_credentials_in_repository_urls_never_reach_the_status(aiohttp_client: Any, make_config: Any,
                                                                     repos: helpers.Repos) -> None:
    from pipeline.redact import redact_url

    assert redact_url("git@github.com:acme/docs.git") == "git@github.com:acme/docs.git"
    assert redact_url("https://x-access-token:s3cret@github.com:8443/acme/docs.git") == "https://github.com:8443/acme/docs.git"
    client = await aiohttp_client(create_app(make_config(), run_worker=False))
    sha, tree = repos.head()
    body = dumps({"repository": "https://ci:s3cret@git.example.com/acme/docs.git", "branch": "main", "sha": sha})
    doc = await (await client.post("/hooks/generic", data=body, headers=generic_headers(body))).json()
    status = await (await client.get(f"/api/builds/{doc['job_id']}/status")).text()
    assert "s3cret" not in status and "https://git.example.com/acme/docs.git" in status
