"""Serving a target's live release over HTTP (the daemon's /sites/<target>/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web
from deploy_fixtures import build, context, pages

from stages.deploy import release, serve
from stages.deploy import stage as deploy_stage


async def make_client(tmp_path: Path, aiohttp_client: Any) -> Any:
    await deploy_stage.run(context(tmp_path, build(tmp_path, "job1")))
    app = web.Application()
    app.router.add_get("/sites/{target}/{path:.*}", serve.make_handler(serve.sites_root_for(tmp_path / "sites")))
    return await aiohttp_client(app)


async def test_pretty_urls_content_types_and_404(tmp_path: Path, aiohttp_client: Any) -> None:
    client = await make_client(tmp_path, aiohttp_client)

    page = await client.get("/sites/staging/en/guide/install/")
    assert page.status == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Run the installer." in await page.text()

    css = await client.get("/sites/staging/assets/site.css")
    assert css.status == 200 and css.headers["Content-Type"].startswith("text/css")
    pdf = await client.get("/sites/staging/en/docs.pdf")
    assert pdf.headers["Content-Type"] == "application/pdf"

    bare = await client.get("/sites/staging/en/guide/install", allow_redirects=False)
    assert bare.status == 301 and bare.headers["Location"] == "/sites/staging/en/guide/install/"

    missing = await client.get("/sites/staging/en/nope/")
    assert missing.status == 404
    assert "Page not found" in await missing.text()


async def test_nothing_outside_the_release_is_served(tmp_path: Path, aiohttp_client: Any) -> None:
    client = await make_client(tmp_path, aiohttp_client)
    (tmp_path / "sites" / "staging" / "secret.txt").write_text("TOP-SECRET-CONTENT")
    for path in ("/sites/staging/../secret.txt", "/sites/staging/%2e%2e/secret.txt",
                 "/sites/staging/..%2Fsecret.txt", "/sites/.lock/x", "/sites/production/"):
        response = await client.get(path)
        assert response.status == 404, path
        assert "TOP-SECRET-CONTENT" not in await response.text()


async def test_a_swap_is_visible_on_the_next_request(tmp_path: Path, aiohttp_client: Any) -> None:
    client = await make_client(tmp_path, aiohttp_client)
    await deploy_stage.run(context(tmp_path, build(tmp_path, "job2", pages(extra="<p>v2</p>"))))
    assert "v2" in await (await client.get("/sites/staging/en/guide/install/")).text()
    release.rollback(tmp_path / "sites" / "staging")
    assert "v2" not in await (await client.get("/sites/staging/en/guide/install/")).text()
