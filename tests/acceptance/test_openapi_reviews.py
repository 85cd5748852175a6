"""An API spec through the real daemon: the reference is published, non-breaking changes go live by
themselves, breaking ones wait for a reviewer with the summary, approval publishes, rejection keeps
the old reference live, an invalid spec or a ``$ref`` leaving the submission fails the build."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.testing import until
from tests.acceptance.test_api_abuse import call, tar_gz

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[1] / "stages" / "openapi_site"
EXTRA = """
[stages.openapi]
specs = ["openapi.yaml"]
[stages.deploy.targets.staging]
keep_releases = 5
[stages.deploy.targets.production]
requires_approval = true
"""


def _files(spec: dict[str, Any]) -> dict[str, str]:
    return {"index.md": "# Pet shop docs\n\nOur API reference is generated from openapi.yaml.\n", "openapi.yaml": yaml.safe_dump(spec, sort_keys=False),
            "schemas/pet.yaml": (SAMPLE / "schemas" / "pet.yaml").read_text()}


def _finished(d: Any, job_id: str) -> dict[str, Any] | None:
    status, doc, _ = call(d, "GET", f"/api/builds/{job_id}/status")
    assert status == 200, doc
    return doc if doc["status"] in ("COMPLETED", "FAILED", "CANCELLED") else None


def _build(d: Any, files: dict[str, str]) -> dict[str, Any]:
    status, doc, _ = call(d, "POST", "/api/builds?branch=main", body=tar_gz(files),
                          headers={"Content-Type": "application/gzip"})
    assert status == 202, doc
    result = until(lambda: _finished(d, doc["job_id"]), f"build {doc['job_id']}", 180)
    return result


def _promoted(d: Any, build_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        jobs = call(d, "GET", "/api/builds?kind=promote")[1]["jobs"]
        mine = [j for j in jobs if (j.get("trigger") or {}).get("build_id") == build_id]
        return mine[0] if mine and mine[0]["status"] in ("COMPLETED", "FAILED") else None
    job = until(done, f"the promotion of {build_id}", 120)
    assert job["status"] == "COMPLETED", job["error"]
    return job


def _live_spec(d: Any) -> dict[str, Any]:
    with urllib.request.urlopen(f"{d.sites_url}/sites/production/en/api/_spec/openapi.json", timeout=30) as r:
        data: dict[str, Any] = json.loads(r.read())
    return data


def test_spec_changes_through_review(daemon: Any) -> None:
    d = daemon(workers=1, extra=EXTRA, pipeline=["lint", "openapi", "render_html", "deploy"])
    d.start()
    spec = yaml.safe_load((SAMPLE / "openapi.yaml").read_text())

    first = _build(d, _files(spec))  # nothing published yet: the first reference goes live
    assert first["status"] == "COMPLETED", first["error"]
    assert first["review"] is None
    assert first["openapi"]["breaking"] == [] and first["openapi"]["specs"][0]["operations"] == 5
    _promoted(d, first["job_id"])
    assert "/pets/{id}" in _live_spec(d)["paths"]
    with urllib.request.urlopen(f"{d.sites_url}/sites/production/en/api/pets/", timeout=30) as r:
        assert "DELETE <code>/pets/{id}</code>" in r.read().decode()

    spec["paths"]["/owners"] = {"get": {"tags": ["owners"], "summary": "List owners",
                                        "responses": {"200": {"description": "ok"}}}}
    added = _build(d, _files(spec))  # non-breaking: published without review
    assert added["status"] == "COMPLETED" and added["review"] is None, added["review"]
    assert added["openapi"]["non_breaking"][0]["message"] == "GET /owners added"
    _promoted(d, added["job_id"])
    assert "/owners" in _live_spec(d)["paths"]

    del spec["paths"]["/pets/{id}"]["delete"]
    spec["paths"]["/pets"]["get"]["parameters"][0]["required"] = True
    broken = _build(d, _files(spec))  # breaking: waits for a reviewer, with the summary
    summary = "2 breaking changes: DELETE /pets/{id} removed; `limit` now required"
    assert broken["status"] == "COMPLETED", broken["error"]
    assert broken["review"]["state"] == "pending"
    assert broken["review"]["openapi"]["summary"] == summary
    assert broken["openapi"]["summary"] == summary
    assert [c["kind"] for c in broken["openapi"]["breaking"]] == ["operation-removed", "parameter-became-required"]
    with urllib.request.urlopen(f"{d.url}/reviews", timeout=30) as r:  # the queue shows the summary on top
        queue = r.read().decode()
    assert "API changes:</strong> 2 breaking changes: DELETE /pets/{id} removed; `limit` now required" in queue
    assert "<code>/paths/~1pets/get/parameters/limit</code> `limit` now required" in queue
    status, doc, _ = call(d, "POST", f"/api/builds/{broken['job_id']}/reject", body=b'{"reason": "not yet"}',
                          headers={"Content-Type": "application/json"})
    assert status == 200, doc
    assert "delete" in _live_spec(d)["paths"]["/pets/{id}"], "rejection keeps the old reference live"

    again = _build(d, {**_files(spec), "index.md": "# Pet shop docs\n\nStill breaking.\n"})
    assert again["review"]["state"] == "pending"
    status, doc, _ = call(d, "POST", f"/api/builds/{again['job_id']}/approve")
    assert status == 202, doc
    _promoted(d, again["job_id"])
    assert "delete" not in _live_spec(d)["paths"]["/pets/{id}"], "approval publishes the breaking change"


def test_invalid_spec_and_outside_ref_fail_the_build(daemon: Any) -> None:
    d = daemon(workers=1, extra=EXTRA, pipeline=["lint", "openapi", "render_html", "deploy"])
    d.start()
    spec = yaml.safe_load((SAMPLE / "openapi.yaml").read_text())
    spec["paths"]["/pets"]["get"]["responses"] = {}
    spec["components"]["schemas"]["Leak"] = {"$ref": "../../etc/passwd"}
    failed = _build(d, _files(spec))
    assert failed["status"] == "FAILED"
    assert failed["error"]["code"] == "openapi_invalid" and failed["error"]["stage"] == "openapi"
    stage = next(s for s in failed["stages"] if s["name"] == "openapi")
    messages = [f"{f['file']}: {f['message']}" for f in stage["findings"]]
    assert any(m.startswith("openapi.yaml: /components/schemas/Leak/$ref: '../../etc/passwd' points outside")
               for m in messages), messages
    assert call(d, "GET", "/api/builds?kind=promote")[1]["jobs"] == []
