"""Pull-request events in the app: what builds, what is ignored, what closes, and a newer push
superseding a queued preview build. Builds are held in the queue (build concurrency 0) so every
outcome here is decided by intake alone; tests/intake/test_previews_daemon.py runs them."""

from __future__ import annotations

import json
from typing import Any

from pipeline.api.keys import store_key
from pipeline.app import create_app
from pipeline.intake import pullrequests
from tests.conftest import tar_gz
from tests.intake import helpers

HELD = {"concurrency": {"build": 0}}


async def _hook(client: Any, body: dict[str, Any], event: str) -> tuple[int, dict[str, Any]]:
    raw = json.dumps(body).encode()
    resp = await client.post("/hooks/github", data=raw, headers=helpers.github_headers(raw, event=event))
    return resp.status, await resp.json()


async def _gitlab(client: Any, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    headers = {**helpers.gitlab_headers(), "X-Gitlab-Event": "Merge Request Hook"}
    resp = await client.post("/hooks/gitlab", data=json.dumps(body).encode(), headers=headers)
    return resp.status, await resp.json()


async def test_pull_request_pushes_build_previews_and_a_newer_push_supersedes(
        aiohttp_client: Any, make_config: Any, repos: helpers.Repos) -> None:
    client = await aiohttp_client(create_app(make_config(workers=HELD)))
    git_sha = repos.head()[0]
    status, first = await _hook(client, helpers.github_pull_request(repos, 7, "opened", git_sha), "pull_request")
    assert status == 202 and first["pull_request"] == 7 and first["preview_url"].endswith("/sites/preview-7/")
    st = await (await client.get(first["status_url"])).json()
    assert st["target"] == "preview-7" and st["branch"] == "preview-7"
    assert st["trigger"]["pull_request"] == {"number": 7, "url": "https://github.com/acme/docs/pull/7",
                                             "title": "Explain <b>previews</b>", "fork": False}
    second_sha = repos.commit({"docs/index.md": "# Home, edited\n"}, "edit")[0]
    status, second = await _hook(client, helpers.github_pull_request(repos, 7, "synchronize", second_sha), "pull_request")
    assert status == 202 and second["superseded"] == [first["job_id"]]
    old = await (await client.get(first["status_url"])).json()
    assert old["status"] == "CANCELLED" and old["error"]["code"] == "superseded"
    # Editing the title builds nothing; a fork is refused unless [previews] forks = true.
    status, edited = await _hook(client, helpers.github_pull_request(repos, 7, "edited", second_sha), "pull_request")
    assert status == 202 and edited["ignored"] and "edited" in edited["reason"]
    status, fork = await _hook(client, helpers.github_pull_request(repos, 8, "opened", second_sha, fork=True), "pull_request")
    assert status == 202 and fork["ignored"] and "forks = true" in fork["reason"]
    # Closing records the state; the retention job removes the site later.
    status, closed = await _hook(client, helpers.github_pull_request(repos, 7, "closed", second_sha, merged=True),
                                 "pull_request")
    assert status == 202 and closed["ignored"] and "merged" in closed["reason"]
    listed = await pullrequests.previews(client.app[store_key])
    assert [(p["number"], p["state"], p["job_id"]) for p in listed] == [(7, "merged", second["job_id"])]
    # A client cannot aim its own upload at a pull request's preview.
    resp = await client.post("/api/builds?target=preview-7", data=tar_gz({"en/index.md": "# x"}),
                             headers={"Content-Type": "application/gzip"})
    assert resp.status == 400 and (await resp.json())["error"]["details"]["field"] == "target"


async def test_gitlab_merge_requests_build_on_new_commits_only_and_forks_when_allowed(
        aiohttp_client: Any, make_config: Any, repos: helpers.Repos) -> None:
    client = await aiohttp_client(create_app(make_config(workers=HELD, previews={"forks": True})))
    sha = repos.head()[0]
    status, opened = await _gitlab(client, helpers.gitlab_merge_request(repos, 3, "open", sha, fork=True))
    assert status == 202 and opened["job_id"] and opened["preview_url"].endswith("/sites/preview-3/")
    st = await (await client.get(opened["status_url"])).json()
    assert st["target"] == "preview-3" and st["trigger"]["pull_request"]["fork"] is True
    status, relabelled = await _gitlab(client, helpers.gitlab_merge_request(repos, 3, "update", sha))
    assert relabelled["ignored"] and "no new commits" in relabelled["reason"]
    newer = repos.commit({"docs/index.md": "# Home, edited\n"}, "edit")[0]
    status, pushed = await _gitlab(client, helpers.gitlab_merge_request(repos, 3, "update", newer, oldrev=sha))
    assert status == 202 and pushed["superseded"] == [opened["job_id"]]
    status, merged = await _gitlab(client, helpers.gitlab_merge_request(repos, 3, "merge", sha))
    assert merged["ignored"] and "merged" in merged["reason"]


async def test_previews_can_be_turned_off(aiohttp_client: Any, make_config: Any, repos: helpers.Repos) -> None:
    client = await aiohttp_client(create_app(make_config(workers=HELD, previews={"enabled": False})))
    status, body = await _hook(client, helpers.github_pull_request(repos, 9, "opened", repos.head()[0]), "pull_request")
    assert status == 202 and body["ignored"] and "[previews] enabled = false" in body["reason"]
