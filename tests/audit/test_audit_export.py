"""New critical/high findings exported as issues to a local GitHub-compatible stub, never twice."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from pipeline import config as config_mod
from pipeline.jobs import auditexport
from pipeline.store import Store


def finding(check: str, severity: str) -> dict[str, Any]:
    return {"fingerprint": f"fp-{check}", "check": check, "severity": severity, "page": "en/index.html",
            "url": "gone/", "subject": "x", "message": f"{check} <b>here</b>"}


async def test_new_high_findings_become_one_issue_each(aiohttp_server: Any, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    issues: list[dict[str, Any]] = []
    auth: list[str] = []

    async def create(request: web.Request) -> web.Response:
        await asyncio.sleep(0.05)  # slow enough for two exporters to overlap
        issues.append(await request.json())
        auth.append(request.headers.get("Authorization", ""))
        return web.json_response({"html_url": f"http://tracker.test/o/r/issues/{len(issues)}"}, status=201)

    app = web.Application()
    app.router.add_post("/repos/o/r/issues", create)
    server = await aiohttp_server(app)
    monkeypatch.setenv("TEST_TRACKER_TOKEN", "tkn")
    cfg = config_mod.Config.model_validate({"audit": {"export": {
        "url": str(server.make_url("/")), "repo": "o/r", "token_env": "TEST_TRACKER_TOKEN"}}})
    store = await Store.open(f"sqlite:///{tmp_path / 's.db'}")
    try:
        found = [finding("broken-link", "high"), finding("page-missing", "critical"), finding("stale-page", "low")]
        await store.record_audit("aud_1", "staging", found, covers=["broken-link", "page-missing", "stale-page"],
                                 started_at=0, notes=[], keep_days=90)
        run = (await store.audit_run("aud_1"))["findings"]
        made = await asyncio.gather(*(auditexport.export(store, cfg, run, run_id=f"aud_1.{i}", report_url="r")
                                      for i in range(2)))  # two daemons at once
        assert sorted(u for urls in made for u in urls) == ["http://tracker.test/o/r/issues/1",
                                                            "http://tracker.test/o/r/issues/2"]
        assert sorted(i["title"] for i in issues) == ["[critical] page-missing: en/index.html",
                                                      "[high] broken-link: en/index.html"]
        assert auth == ["Bearer tkn", "Bearer tkn"]
        # fixed, then back: the finding is "new" again but keeps its issue
        await store.record_audit("aud_2", "staging", [], covers=["broken-link", "page-missing"], started_at=0,
                                 notes=[], keep_days=90)
        await store.record_audit("aud_3", "staging", found, covers=["broken-link", "page-missing"], started_at=0,
                                 notes=[], keep_days=90)
        again = (await store.audit_run("aud_3"))["findings"]
        assert {f["state"] for f in again if f["severity"] == "high"} == {"new"}
        assert await auditexport.export(store, cfg, again, run_id="aud_3", report_url="r") == []
        assert len(issues) == 2
        assert (await store.audit_finding("fp-broken-link"))["exported_url"].startswith("http://tracker.test/")
    finally:
        await store.close()


async def test_a_refused_export_is_released_and_tried_again(aiohttp_server: Any, tmp_path: Path) -> None:
    answers = [web.json_response({"message": "Bad credentials"}, status=401),
               web.json_response({"html_url": "http://tracker.test/1"}, status=201)]

    async def create(request: web.Request) -> web.Response:
        return answers.pop(0)

    app = web.Application()
    app.router.add_post("/repos/o/r/issues", create)
    server = await aiohttp_server(app)
    cfg = config_mod.Config.model_validate({"audit": {"export": {"url": str(server.make_url("/")), "repo": "o/r"}}})
    store = await Store.open(f"sqlite:///{tmp_path / 's.db'}")
    try:
        await store.record_audit("aud_1", "staging", [finding("broken-link", "high")], covers=[], started_at=0,
                                 notes=[], keep_days=90)
        run = (await store.audit_run("aud_1"))["findings"]
        assert await auditexport.export(store, cfg, run, run_id="aud_1", report_url="r") == []
        assert (await store.audit_finding("fp-broken-link"))["exported_url"] is None
        assert await auditexport.export(store, cfg, run, run_id="aud_1b", report_url="r") == ["http://tracker.test/1"]
    finally:
        await store.close()
