"""schemathesis fuzzes the real daemon against our OpenAPI document: no 500s, responses match it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow


def test_openapi_document_is_valid_3_1(daemon: Any) -> None:
    import urllib.request

    d = daemon()
    d.start()
    with urllib.request.urlopen(d.url + "/api/openapi.json") as r:
        doc = json.load(r)
    assert doc["openapi"].startswith("3.1")
    assert "/api/builds/{job_id}/status" in doc["paths"]


def test_schemathesis_against_the_daemon(daemon: Any, tmp_path: Path) -> None:
    d = daemon()
    d.start()
    exe = Path(sys.executable).with_name("schemathesis")
    proc = subprocess.run(
        [str(exe), "run", f"{d.url}/api/openapi.json", "--url", d.url, "-n", "15", "--seed", "1", "-w", "1",
         "--phases", "examples,coverage,fuzzing", "--checks", "not_a_server_error,status_code_conformance,"
         "content_type_conformance,response_schema_conformance", "--request-timeout", "10",
         "--exclude-path", "/api/builds/{job_id}/events", "--exclude-path", "/api/events"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
