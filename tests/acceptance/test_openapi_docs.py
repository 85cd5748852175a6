"""docs/openapi.json is what the daemon serves at /api/openapi.json.

Refresh it after changing a route: ``.venv/bin/python -m pipeline.api.openapi_document > docs/openapi.json``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from typing import Any

import pytest

from pipeline.api import openapi_document
from tests.conftest import REPO

pytestmark = pytest.mark.slow

REFRESH = "stale: run .venv/bin/python -m pipeline.api.openapi_document > docs/openapi.json"


def test_committed_document_is_what_the_daemon_serves(daemon: Any) -> None:
    committed = json.loads((REPO / "docs" / "openapi.json").read_text())
    d = daemon()
    d.start()
    with urllib.request.urlopen(d.url + "/api/openapi.json", timeout=30) as r:
        served = json.loads(r.read())
    assert served == openapi_document.build(), "the generator and the daemon disagree"
    assert committed == served, REFRESH


def test_refresh_command_writes_the_document() -> None:
    proc = subprocess.run([sys.executable, "-m", "pipeline.api.openapi_document"], capture_output=True, text=True,
                          cwd=REPO, timeout=120, check=True)
    assert json.loads(proc.stdout) == openapi_document.build()
