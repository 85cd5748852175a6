"""The seed flow end to end: submit → lint → HTML → link check → deploy to staging → review →
approve → promote to production, served by the daemon; plus rollback and the 409 rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.app import create_app
from pipeline.cli.client import pack_folder
from tests.conftest import GZ, SAMPLES, wait_finished

pytestmark = pytest.mark.slow


def _cfg(make_config: Any) -> Any:
    return make_config(
        pipeline={"build": ["lint", "render_html", "linkcheck", "deploy"]},
        site={"name": "samples", "source": str(SAMPLES), "title": "Samples", "languages": ["en", "es", "de"],
              "base_url": "http://127.0.0.1:8080/sites/staging/"},
    )


async def test_submit_deploy_review_approve_promote(aiohttp_client: Any, make_config: Any, tmp_path: Path) -> None:
    client = await aiohttp_client(create_app(_cfg(make_config)))
    job = await (await client.post("/api/builds?branch=main", data=pack_folder(SAMPLES), headers=GZ)).json()
    st = await wait_finished(client, job["job_id"])
    assert st["status"] == "COMPLETED", (st["error"], [(s["name"], s["status"], s["message"]) for s in st["stages"]])
    assert [s["status"] for s in st["stages"]] == ["passed"] * 4
    assert st["live_url"] == "http://127.0.0.1:8080/sites/staging/"
    # The staging site is served by the daemon.
    page = await client.get("/sites/staging/en/")
    assert page.status == 200 and "<main" in await page.text()
    missing = await client.get("/sites/staging/en/no-such-page/")
    assert missing.status == 404
    # Production needs approval: the build waits in the review queue with a diff preview.
    assert st["review"]["state"] == "pending" and st["review"]["target"] == "production"
    reviews = await (await client.get("/api/reviews")).json()
    assert [r["job_id"] for r in reviews["reviews"]] == [job["job_id"]]
    preview = await client.get(st["review"]["preview_url"])
    assert preview.status == 200
    assert st["review"]["changes"]["added"] > 0  # nothing is live on production yet
    # Approve: a promote job deploys the same release to production.
    resp = await client.post(f"/api/builds/{job['job_id']}/approve")
    assert resp.status == 202, await resp.text()
    promote = await resp.json()
    pst = await wait_finished(client, promote["promote_job"])
    assert pst["status"] == "COMPLETED", pst
    assert (await client.get("/sites/production/en/")).status == 200
    build = await (await client.get(f"/api/builds/{job['job_id']}/status")).json()
    assert build["review"]["state"] == "promoted" and "production" in build["live_urls"]
    # Approving again, or rejecting now, is a conflict.
    again = await client.post(f"/api/builds/{job['job_id']}/approve")
    assert again.status == 409 and (await again.json())["error"]["code"] == "not_awaiting_review"
    assert (await client.post(f"/api/builds/{job['job_id']}/reject", json={"reason": "late"})).status == 409
    releases = await (await client.get("/api/targets/production/releases")).json()
    assert releases["releases"][0]["current"] is True
    assert (await client.get("/api/targets/nope/releases")).status == 404


async def test_reject_and_supersede(aiohttp_client: Any, make_config: Any, tmp_path: Path) -> None:
    import shutil

    client = await aiohttp_client(create_app(_cfg(make_config)))
    site = tmp_path / "site"
    shutil.copytree(SAMPLES, site)
    first = await (await client.post("/api/builds?branch=main", data=pack_folder(site), headers=GZ)).json()
    await wait_finished(client, first["job_id"])
    index = site / "en" / "index.md"
    index.write_text(index.read_text() + "\nOne more paragraph.\n")
    second = await (await client.post("/api/builds?branch=main", data=pack_folder(site), headers=GZ)).json()
    await wait_finished(client, second["job_id"])
    old = await (await client.get(f"/api/builds/{first['job_id']}/status")).json()
    assert old["review"]["state"] == "superseded"
    reviews = await (await client.get("/api/reviews")).json()
    assert [r["job_id"] for r in reviews["reviews"]] == [second["job_id"]]
    resp = await client.post(f"/api/builds/{second['job_id']}/reject", json={"reason": "typo on the home page"})
    assert resp.status == 200 and (await resp.json())["review"]["reason"] == "typo on the home page"
    assert (await (await client.get("/api/reviews")).json())["reviews"] == []
    # Rollback of staging goes back to the first release at once.
    rb = await client.post(f"/api/targets/staging/rollback?job_id={first['job_id']}")
    assert rb.status == 200 and (await rb.json())["current"]["job_id"] == first["job_id"]


async def test_auto_promote_when_clean(aiohttp_client: Any, make_config: Any) -> None:
    cfg = make_config(
        pipeline={"build": ["lint", "render_html", "linkcheck", "deploy"]},
        site={"name": "samples", "source": str(SAMPLES), "languages": ["en", "es", "de"],
              "base_url": "http://127.0.0.1:8080/sites/staging/"},
        stages={"deploy": {"auto_promote": "when-clean"}},
    )
    client = await aiohttp_client(create_app(cfg))
    job = await (await client.post("/api/builds", data=pack_folder(SAMPLES), headers=GZ)).json()
    st = await wait_finished(client, job["job_id"])
    assert st["status"] == "COMPLETED" and st["review"] is None
    promotes = await (await client.get("/api/builds?kind=promote")).json()
    assert len(promotes["jobs"]) == 1 and promotes["jobs"][0]["trigger"]["approved_by"] == "auto_promote"
    await wait_finished(client, promotes["jobs"][0]["job_id"])
    assert (await client.get("/sites/production/en/")).status == 200
