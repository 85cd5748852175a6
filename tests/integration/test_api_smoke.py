from __future__ import annotations

from typing import Any

from pipeline.api.keys import worker_key
from pipeline.app import create_app
from tests.conftest import tar_gz


async def test_submit_and_complete(aiohttp_client: Any, make_config: Any) -> None:
    cfg = make_config()
    app = create_app(cfg)
    client = await aiohttp_client(app)
    resp = await client.post("/api/builds", data=tar_gz({"en/index.md": "# Hi\n"}), headers={"Content-Type": "application/gzip"})
    assert resp.status == 202, await resp.text()
    body = await resp.json()
    assert resp.headers["Location"] == f"/api/builds/{body['job_id']}/status"
    async with client.get(body["events_url"]) as ev:
        text = await ev.text()
    assert "event: end" in text
    st = await (await client.get(body["status_url"])).json()
    assert st["status"] == "COMPLETED", st
    assert app[worker_key] is not None
