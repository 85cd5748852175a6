"""The dashboard's side of previews: builds show their pull request, ``/previews`` lists live
previews with age and state, and pull-request content is escaped, its links only http(s)."""

from __future__ import annotations

import json
from typing import Any

from pipeline.api.keys import store_key
from pipeline.app import create_app
from pipeline.intake import pullrequests
from tests.intake import helpers

HELD = {"concurrency": {"build": 0}}


async def _hook(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    return await helpers.post_github(client, body, "pull_request")


async def test_builds_show_their_pull_request_and_previews_are_listed(
        aiohttp_client: Any, make_config: Any, repos: helpers.Repos) -> None:
    client = await aiohttp_client(create_app(make_config(workers=HELD)))
    sha = repos.head()[0]
    hostile = helpers.github_pull_request(repos, 4, "opened", sha)
    hostile["pull_request"]["title"] = "<script>alert(1)</script>"
    hostile["pull_request"]["html_url"] = "javascript:alert(1)"
    await _hook(client, hostile)
    newer = repos.commit({"docs/index.md": "# Other\n"}, "other")[0]
    job = await _hook(client, helpers.github_pull_request(repos, 6, "opened", newer))
    # A merged pull request whose preview was removed is no longer listed.
    await _hook(client, helpers.github_pull_request(repos, 2, "opened", repos.commit({"x.md": "x"}, "x")[0]))
    await _hook(client, helpers.github_pull_request(repos, 2, "closed", sha, merged=True))
    store = client.app[store_key]
    record = json.loads(await store.ref_get(f"{pullrequests.REF_PREFIX}2") or "{}")
    await store.ref_set(f"{pullrequests.REF_PREFIX}2", json.dumps({**record, "state": "removed"}))

    builds = await (await client.get("/builds")).text()
    assert '<a class="pr" href="https://github.com/acme/docs/pull/6">PR #6</a>' in builds
    assert '<span class="pr">PR #4</span>' in builds and "javascript:alert" not in builds

    page = await (await client.get("/previews")).text()
    assert 'aria-current="page">Previews</a>' in page
    rows = page.split("<tbody>")[1]
    assert rows.index('data-pr="6"') < rows.index('data-pr="4"') and 'data-pr="2"' not in rows
    assert f'href="{job["preview_url"]}">preview-6</a>' in page
    assert f'href="/builds/{job["job_id"]}"' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "javascript:" not in page
    assert ' s</td>' in rows  # the age, in seconds for a preview this young
