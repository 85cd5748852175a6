"""The HTTP API against a real app, store and worker (aiohttp test client, SQLite in tmp_path)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from pipeline.app import create_app
from tests.conftest import tar_gz

GZ = {"Content-Type": "application/gzip"}
SITE = {"en/index.md": "# Hi\n"}


async def _client(aiohttp_client: Any, cfg: Any, **kw: Any) -> Any:
    return await aiohttp_client(create_app(cfg, **kw))


async def _wait_done(client: Any, job_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    async with client.get(f"/api/builds/{job_id}/events", headers=headers or {}) as ev:
        await ev.text()
    return await (await client.get(f"/api/builds/{job_id}/status", headers=headers or {})).json()  # type: ignore[no-any-return]


@pytest.fixture
def token_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("PRESSROOM_TOKENS", "reader:r-tok:read,writer:w-tok:submit,boss:a-tok:admin")
    return {"read": "Bearer r-tok", "submit": "Bearer w-tok", "admin": "Bearer a-tok"}


async def test_status_contract(aiohttp_client: Any, make_config: Any) -> None:
    client = await _client(aiohttp_client, make_config())
    resp = await client.post("/api/builds", data=tar_gz(SITE), headers=GZ)
    body = await resp.json()
    assert resp.status == 202 and body["status"] == "PENDING" and body["read_token"]
    st = await _wait_done(client, body["job_id"])
    for key in ("job_id", "kind", "status", "stage", "progress", "queue_position", "eta_seconds", "attempt", "created_at",
                "started_at", "finished_at", "trigger", "stages", "translations", "artifacts", "live_url", "error"):
        assert key in st, key
    assert st["status"] == "COMPLETED" and st["progress"] == 100.0 and st["stages"][0]["name"] == "noop"
    assert st["stages"][0]["status"] == "passed" and st["trigger"]["kind"] == "api"
    assert st["created_at"].endswith("Z") and st["error"] is None
    resp = await client.get(f"/api/builds/{body['job_id']}/status")
    assert "Retry-After" not in resp.headers
    log = await (await client.get(f"/api/builds/{body['job_id']}/log")).text()
    assert "[noop] started" in log and "build finished" in log


async def test_sse_stream_has_every_transition(aiohttp_client: Any, make_config: Any) -> None:
    client = await _client(aiohttp_client, make_config())
    job = await (await client.post("/api/builds", data=tar_gz(SITE), headers=GZ)).json()
    async with client.get(job["events_url"]) as ev:
        assert ev.headers["Content-Type"].startswith("text/event-stream")
        text = await ev.text()
    statuses = [json.loads(line[6:]).get("status") for line in text.splitlines()
                if line.startswith("data: ") and '"type": "status"' in line]
    assert statuses == ["PENDING", "PROCESSING", "COMPLETED"]
    assert text.rstrip().splitlines()[-2] == "event: end"
    # Resuming after the last id replays nothing but the end frame.
    last_id = [line for line in text.splitlines() if line.startswith("id: ")][-1][4:]
    async with client.get(job["events_url"], headers={"Last-Event-ID": last_id}) as ev:
        again = await ev.text()
    assert "event: status" not in again and "event: end" in again


async def test_zip_upload_and_multipart(aiohttp_client: Any, make_config: Any) -> None:
    client = await _client(aiohttp_client, make_config())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("en/index.md", "# Zip\n")
    resp = await client.post("/api/builds", data=buf.getvalue(), headers={"Content-Type": "application/zip"})
    assert resp.status == 202
    import aiohttp

    form = aiohttp.FormData()
    form.add_field("archive", tar_gz({"en/other.md": "# Other"}), filename="docs.tar.gz", content_type="application/gzip")
    resp = await client.post("/api/builds", data=form)
    assert resp.status == 202, await resp.text()


@pytest.mark.parametrize(("data", "ctype", "status", "code"), [
    (b"not an archive", "application/gzip", 400, "invalid_archive"),
    (b"{not json", "application/json", 400, "invalid_json"),
    (b'{"source": 3}', "application/json", 400, "invalid_source"),
    (b'{"source": {"svn": "x"}}', "application/json", 400, "invalid_source"),
    (b"hello", "text/plain", 400, "invalid_source"),
])
async def test_bad_submissions(aiohttp_client: Any, make_config: Any, data: bytes, ctype: str, status: int, code: str) -> None:
    cfg = make_config()
    client = await _client(aiohttp_client, cfg)
    resp = await client.post("/api/builds", data=data, headers={"Content-Type": ctype})
    assert resp.status == status
    assert (await resp.json())["error"]["code"] == code
    jobs = await (await client.get("/api/builds?kind=build")).json()
    assert jobs["jobs"] == []


async def test_unsafe_archive_writes_nothing_outside(aiohttp_client: Any, make_config: Any, tmp_path: Path) -> None:
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("../../../escaped.md")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    client = await _client(aiohttp_client, make_config())
    resp = await client.post("/api/builds", data=buf.getvalue(), headers=GZ)
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "unsafe_archive"
    assert not list(tmp_path.rglob("escaped.md"))
    assert not list((tmp_path / "data" / "jobs").glob("*")) if (tmp_path / "data" / "jobs").exists() else True


async def test_oversize_upload(aiohttp_client: Any, make_config: Any) -> None:
    client = await _client(aiohttp_client, make_config(server={"max_upload_mb": 0.01}))
    resp = await client.post("/api/builds", data=b"\x1f\x8b" + b"0" * 20000, headers=GZ)
    assert resp.status == 413 and (await resp.json())["error"]["code"] == "payload_too_large"


async def test_unknown_job(aiohttp_client: Any, make_config: Any) -> None:
    client = await _client(aiohttp_client, make_config())
    for path in ("/api/builds/bld_nope/status", "/api/builds/bld_nope/log", "/api/builds/bld_nope/events"):
        resp = await client.get(path)
        assert resp.status == 404 and (await resp.json())["error"]["code"] == "job_not_found", path
    resp = await client.post("/api/builds/bld_nope/cancel")
    assert resp.status == 404


async def test_idempotency(aiohttp_client: Any, make_config: Any) -> None:
    client = await _client(aiohttp_client, make_config())
    data = tar_gz(SITE)
    a = await (await client.post("/api/builds", data=data, headers={**GZ, "Idempotency-Key": "k-1"})).json()
    b = await (await client.post("/api/builds", data=data, headers={**GZ, "Idempotency-Key": "k-1"})).json()
    assert a["job_id"] == b["job_id"] and b["duplicate"]
    resp = await client.post("/api/builds", data=tar_gz({"en/x.md": "# other"}), headers={**GZ, "Idempotency-Key": "k-1"})
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "idempotency_conflict"


async def test_tokens_scopes_and_read_token(aiohttp_client: Any, make_config: Any, token_env: dict[str, str]) -> None:
    client = await _client(aiohttp_client, make_config(server={"auth": "token"}))
    assert (await client.get("/api/builds")).status == 401
    assert (await client.get("/api/builds", headers={"Authorization": "Bearer wrong"})).status == 401
    resp = await client.post("/api/builds", data=tar_gz(SITE), headers={**GZ, "Authorization": token_env["read"]})
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "forbidden"
    resp = await client.post("/api/builds", data=tar_gz(SITE), headers={**GZ, "Authorization": token_env["submit"]})
    job = await resp.json()
    assert resp.status == 202
    # The per-job read token reads that job and nothing else.
    rt = {"Authorization": f"Bearer {job['read_token']}"}
    assert (await client.get(job["status_url"], headers=rt)).status == 200
    assert (await client.get("/api/builds", headers=rt)).status == 403  # valid token, not for this (docs/api.md)
    assert (await client.post(f"/api/builds/{job['job_id']}/cancel", headers=rt)).status == 403
    # Raising priority needs admin.
    resp = await client.post("/api/builds?priority=99&force=1", data=tar_gz(SITE), headers={**GZ, "Authorization": token_env["submit"]})
    assert resp.status == 403
    resp = await client.post("/api/builds?priority=99&force=1", data=tar_gz(SITE), headers={**GZ, "Authorization": token_env["admin"]})
    assert resp.status == 202
    # Path sources need admin.
    body = json.dumps({"source": {"path": "/tmp"}})
    resp = await client.post("/api/builds", data=body, headers={"Content-Type": "application/json", "Authorization": token_env["submit"]})
    assert resp.status == 403
    assert (await client.get("/healthz")).status == 200


async def test_rate_limit(aiohttp_client: Any, make_config: Any, token_env: dict[str, str]) -> None:
    client = await _client(aiohttp_client, make_config(server={"auth": "token", "rate_limit_per_token": 1}))
    statuses = []
    for _ in range(4):
        resp = await client.get("/api/builds", headers={"Authorization": token_env["read"]})
        statuses.append(resp.status)
        if resp.status == 429:
            assert int(resp.headers["Retry-After"]) >= 1
            assert (await resp.json())["error"]["code"] == "rate_limited"
    assert statuses[:2] == [200, 200] and 429 in statuses
    # Another token has its own bucket.
    assert (await client.get("/api/builds", headers={"Authorization": token_env["admin"]})).status == 200


async def test_cancel_running_job_is_cooperative(aiohttp_client: Any, make_config: Any) -> None:
    from pipeline.api.keys import submitter_key
    from pipeline.intake.submitter import SubmitOptions

    app = create_app(make_config())
    client = await aiohttp_client(app)
    res = await app[submitter_key].submit_archive(tar_gz(SITE), SubmitOptions())
    store = app[submitter_key].store
    # Make the noop stage slow through a ``.noop-delay`` file in a copy of the source.
    from pipeline.store import JobSpec

    slow_source = Path(res.job.source_path).parent / "slow-source"
    shutil.copytree(res.job.source_path, slow_source)
    (slow_source / ".noop-delay").write_text("30")
    slow = (await store.submit(JobSpec(kind="build", source_path=str(slow_source)))).job
    async with client.get(f"/api/builds/{slow.id}/events") as ev:
        async for raw in ev.content:
            if b'"PROCESSING"' in raw:
                break
    resp = await client.post(f"/api/builds/{slow.id}/cancel")
    assert resp.status == 202
    st = await _wait_done(client, slow.id)
    assert st["status"] == "CANCELLED"
    assert (await client.post(f"/api/builds/{slow.id}/cancel")).status == 409


async def test_failed_stage_then_retry(aiohttp_client: Any, make_config: Any) -> None:
    client = await _client(aiohttp_client, make_config(pipeline={"build": ["noop", "no_such_stage"]}))
    job = await (await client.post("/api/builds", data=tar_gz(SITE), headers=GZ)).json()
    st = await _wait_done(client, job["job_id"])
    assert st["status"] == "FAILED" and st["error"]["code"] == "stage_not_found" and st["error"]["stage"] == "no_such_stage"
    assert st["error"]["runbook"].endswith("#stage_not_found")
    resp = await client.post(f"/api/builds/{job['job_id']}/retry")
    assert resp.status == 202 and (await resp.json())["status"] == "PENDING"
    assert (await client.post(f"/api/builds/{job['job_id']}/retry")).status in (202, 409)


async def test_supersede_by_branch(aiohttp_client: Any, make_config: Any) -> None:
    client = await _client(aiohttp_client, make_config(), run_worker=False)
    a = await (await client.post("/api/builds?branch=main", data=tar_gz({"en/a.md": "# A"}), headers=GZ)).json()
    b = await (await client.post("/api/builds?branch=main", data=tar_gz({"en/b.md": "# B"}), headers=GZ)).json()
    assert b["superseded"] == [a["job_id"]]
    st = await (await client.get(a["status_url"])).json()
    assert st["status"] == "CANCELLED" and st["error"]["code"] == "superseded"
    pending = await (await client.get(b["status_url"])).json()
    assert pending["queue_position"] == 1 and pending["branch"] == "main"


async def test_list_filters_and_pagination(aiohttp_client: Any, make_config: Any) -> None:
    client = await _client(aiohttp_client, make_config(), run_worker=False)
    for i in range(5):
        await client.post("/api/builds", data=tar_gz({f"en/{i}.md": f"# {i}"}), headers=GZ)
    page1 = await (await client.get("/api/builds?limit=2")).json()
    page2 = await (await client.get(f"/api/builds?limit=2&cursor={page1['next']}")).json()
    page3 = await (await client.get(f"/api/builds?limit=2&cursor={page2['next']}")).json()
    ids = [j["job_id"] for j in page1["jobs"] + page2["jobs"] + page3["jobs"]]
    assert len(ids) == 5 == len(set(ids)) and page3["next"] is None
    assert (await (await client.get("/api/builds?status=COMPLETED")).json())["jobs"] == []
    assert (await client.get("/api/builds?cursor=%%%")).status == 400
    assert (await client.get("/api/builds?limit=x")).status == 400


async def test_git_source_fetch_and_failure(aiohttp_client: Any, make_config: Any, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "en").mkdir()
    (repo / "en" / "index.md").write_text("# From git\n")
    env = {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@x", "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@x",
           "PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(tmp_path)}
    for cmd in (["git", "init", "-q", "-b", "main"], ["git", "add", "."], ["git", "commit", "-qm", "docs"]):
        subprocess.run(cmd, cwd=repo, check=True, env=env)
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True, env=env).stdout.strip()
    client = await _client(aiohttp_client, make_config())
    ok = await (await client.post("/api/builds", json={"source": {"git": f"file://{repo}", "ref": sha}})).json()
    st = await _wait_done(client, ok["job_id"])
    assert st["status"] == "COMPLETED", st
    bad = await (await client.post("/api/builds", json={"source": {"git": f"file://{tmp_path}/missing"}})).json()
    st = await _wait_done(client, bad["job_id"])
    assert st["status"] == "FAILED" and st["error"]["code"] == "source_fetch_failed"
    assert "missing" in st["error"]["message"]


async def test_metrics_and_health(aiohttp_client: Any, make_config: Any) -> None:
    client = await _client(aiohttp_client, make_config())
    job = await (await client.post("/api/builds", data=tar_gz(SITE), headers=GZ)).json()
    await _wait_done(client, job["job_id"])
    text = await (await client.get("/metrics")).text()
    assert 'pressroom_jobs{kind="build",status="COMPLETED"} 1.0' in text
    assert "pressroom_data_dir_bytes" in text and "pressroom_job_duration_seconds" in text
    health = await (await client.get("/healthz")).json()
    assert health["status"] == "ok"


async def test_uploads_unpack_in_the_process_pool(aiohttp_client: Any, make_config: Any) -> None:
    """With a process pool, unpacking runs there; its errors still come back as stable codes."""
    import tarfile

    client = await _client(aiohttp_client, make_config(workers={"processes": 1}))
    ok = await (await client.post("/api/builds", data=tar_gz(SITE), headers=GZ)).json()
    assert (await _wait_done(client, ok["job_id"]))["status"] == "COMPLETED"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("/etc/evil.md")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    resp = await client.post("/api/builds", data=buf.getvalue(), headers=GZ)
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "unsafe_archive"
    resp = await client.post("/api/builds", data=b"\x1f\x8bnot really gzip", headers=GZ)
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "invalid_archive"
