"""Our own docs/ are built by pressroom: lint clean of errors, rendered, no broken links."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_pressroom_builds_its_own_docs(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSROOM_")}
    proc = subprocess.run([sys.executable, "-m", "pipeline", "--config", str(REPO / "docs" / ".pressroom.toml"), "build",
                           str(REPO / "docs"), "--out", str(tmp_path / "site"),
                           "--stages", "lint,openapi,render_html,linkcheck"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    pages = list((tmp_path / "site").rglob("index.html"))
    assert len(pages) >= 10
    api = next(p for p in pages if p.parent.name == "api")
    assert "Retry-After" in api.read_text()
    # the API reference, rendered by the openapi stage from docs/openapi.json
    reference = (tmp_path / "site" / "en" / "reference" / "default" / "index.html").read_text()
    assert "GET <code>/api/builds/{job_id}/status</code>" in reference
