"""Deployed sites live on their own origin; whatever user content the API origin still serves is
sandboxed, and a NUL byte in a path is a 400 with a stable code."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from pipeline import config as config_mod
from pipeline.api.keys import config_key
from pipeline.app import create_app
from tests.conftest import GZ, tar_gz, wait_finished

pytestmark = pytest.mark.slow
EVIL = "# Hello\n\n<script>document.title = 'pwned'</script>\n\n<img src=x onerror=\"alert(1)\">\n"


@pytest.fixture
async def built(aiohttp_client: Any, make_config: Any) -> tuple[Any, dict[str, Any]]:
    cfg = make_config(pipeline={"build": ["render_html", "deploy"]}, site={"name": "t", "source": "unused"})
    client = await aiohttp_client(create_app(cfg))
    job = await (await client.post("/api/builds", data=tar_gz({"en/index.md": EVIL}), headers=GZ)).json()
    st = await wait_finished(client, job["job_id"])
    assert st["status"] == "COMPLETED", st["error"]
    return client, st


async def test_sites_are_served_on_their_own_origin_and_the_api_origin_redirects(built: tuple[Any, dict[str, Any]]) -> None:
    client, st = built
    cfg: config_mod.Config = client.app[config_key]
    sites = cfg.sites_url
    assert sites != str(client.make_url("")).rstrip("/")
    assert cfg.server.sites_port and cfg.server.sites_port != client.port  # port 0 settled to the bound one
    assert st["live_url"] == f"{sites}/sites/staging/"  # [site] base_url follows the sites origin by default

    moved = await client.get("/sites/staging/en/?q=1", allow_redirects=False)
    assert moved.status == 307 and moved.headers["Location"] == f"{sites}/sites/staging/en/?q=1"
    async with aiohttp.ClientSession() as http, http.get(f"{sites}/sites/staging/en/") as page:
        assert page.status == 200 and "<script>" in await page.text()  # raw_html = "allow" by default
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert "Set-Cookie" not in page.headers
    async with aiohttp.ClientSession() as http, http.get(f"{sites}/api/builds") as api:
        assert api.status == 404  # the sites origin has no API and no dashboard
    async with aiohttp.ClientSession() as http, http.get(f"{sites}/sites/staging", allow_redirects=False) as bare:
        assert bare.status == 301 and bare.headers["Location"] == "/sites/staging/"  # relative links resolve


async def test_user_content_on_the_api_origin_is_sandboxed(built: tuple[Any, dict[str, Any]]) -> None:
    client, st = built
    job_id = st["job_id"]
    page = await client.get(f"/api/builds/{job_id}/artifacts/out/en/index.html")
    assert page.status == 200 and "<script>" in await page.text()
    assert page.headers["Content-Security-Policy"] == "sandbox"  # no allow-same-origin, no allow-scripts
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    for path in ("/api/builds", f"/api/builds/{job_id}/status", f"/api/builds/{job_id}/log"):
        resp = await client.get(path)
        assert resp.headers["X-Content-Type-Options"] == "nosniff", path
        assert "sandbox" in resp.headers["Content-Security-Policy"], path
    dash = await client.get("/")
    assert dash.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert "frame-ancestors 'none'" in dash.headers["Content-Security-Policy"]
    assert dash.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_nul_byte_in_a_path_is_a_400_with_a_stable_code(built: tuple[Any, dict[str, Any]]) -> None:
    client, st = built
    sites = client.app[config_key].sites_url
    urls = [str(client.make_url("/sites/staging/en/%00.html")), str(client.make_url("/sites/stag%00ing/")),
            f"{sites}/sites/staging/en/%00.html", f"{sites}/sites/staging/%00/", f"{sites}/sites/%00",
            str(client.make_url(f"/api/builds/{st['job_id']}/artifacts/out/%00"))]
    async with aiohttp.ClientSession() as http:
        for url in urls:
            async with http.get(url, allow_redirects=False) as resp:
                assert resp.status == 400, url
                assert (await resp.json())["error"]["code"] == "invalid_path", url


def test_sites_origin_defaults_and_checks(make_config: Any) -> None:
    cfg = make_config(server={"port": 9000})
    assert cfg.server.effective_sites_port == 9001 and cfg.sites_url == "http://127.0.0.1:9001"
    assert cfg.site.base_url == "http://127.0.0.1:9001/sites/staging/"
    proxied = make_config(server={"port": 9000, "sites_base_url": "https://docs-preview.example.org/"})
    assert proxied.site.base_url == "https://docs-preview.example.org/sites/staging/"
    kept = make_config(site={"base_url": "https://docs.example.org/"})
    assert kept.site.base_url == "https://docs.example.org/"
    with pytest.raises(config_mod.ConfigError) as err:
        make_config(server={"port": 9000, "sites_port": 9000})
    assert "sites_port: must differ from port 9000" in str(err.value)
