"""Lint reports, it does not hide the site: ``pressroom build`` writes the site and exits per the rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CORPUS, make_tree

pytestmark = pytest.mark.slow

def build(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSROOM_")}
    proc = subprocess.run([sys.executable, "-m", "pipeline", "build", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, " ".join(proc.stdout.split()), " ".join(proc.stderr.split()))


def test_fastapi_corpus_is_written_although_lint_fails(tmp_path: Path) -> None:
    assert CORPUS.is_dir(), f"the FastAPI corpus is missing: {CORPUS} (shared/ beside the repo)"
    out = tmp_path / "site"
    proc = build(str(CORPUS), "--out", str(out), "--stages", "lint,render_html,linkcheck", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "build failed: lint_failed" in proc.stdout
    assert "include-missing" in proc.stdout  # an integrity check is an error ...
    assert "linkcheck ..." in proc.stdout  # ... and the stages after lint still ran
    assert len(list(out.rglob("index.html"))) > 100
    never = build(str(CORPUS), "--out", str(out), "--stages", "lint,render_html", "--fail-on", "never", cwd=tmp_path)
    assert never.returncode == 0, never.stdout[-3000:]


def test_markdownlint_rules_warn_unless_strict_or_the_site_says_so(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "docs", {"en/index.md": "# Home\n\n### Jump\n\nText.\n"})  # MD001 only
    out = tmp_path / "site"
    ok = build(str(src), "--out", str(out), "--stages", "lint,render_html", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout
    assert "warning en/index.md:3 MD001" in ok.stdout
    strict = build(str(src), "--out", str(out), "--stages", "lint,render_html", "--strict", cwd=tmp_path)
    assert strict.returncode == 1 and "lint_failed" in strict.stdout and "strict" in strict.stdout
    assert (out / "en" / "index.html").is_file()
    warn = build(str(src), "--out", str(out), "--stages", "lint,render_html", "--fail-on", "warning", cwd=tmp_path)
    assert warn.returncode == 1 and "lint_failed" in warn.stdout
    make_tree(src, {".markdownlint.json": '{"MD001": {"severity": "error"}}'})
    site_says = build(str(src), "--out", str(out), "--stages", "lint,render_html", cwd=tmp_path)
    assert site_says.returncode == 1 and "error en/index.md:3 MD001" in site_says.stdout


def test_daemon_lint_failed_build_runs_every_stage_and_deploys_nothing(daemon: Any, tmp_path: Path) -> None:
    d = daemon(workers=1, pipeline=["lint", "render_html", "linkcheck", "deploy"])
    d.start()
    site = make_tree(tmp_path / "docs", {"en/index.md": "# Home\n\n[gone](missing.md)\n", "en/guide.md": "# Guide\n"})
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PRESSROOM_")}, "PRESSROOM_SERVER": d.url}
    sub = subprocess.run([sys.executable, "-m", "pipeline", "submit", str(site), "--wait"], capture_output=True,
                         text=True, env=env, timeout=180)
    assert sub.returncode == 1, sub.stdout + sub.stderr
    job_id = sub.stdout.split()[0]
    st = json.loads(subprocess.run([sys.executable, "-m", "pipeline", "status", job_id, "--json"], capture_output=True,
                                   text=True, env=env, timeout=60).stdout)
    assert st["status"] == "FAILED" and st["error"]["code"] == "lint_failed" and st["error"]["stage"] == "lint"
    stages = {s["name"]: s["status"] for s in st["stages"]}
    assert stages == {"lint": "failed", "render_html": "passed", "linkcheck": "failed", "deploy": "skipped"}
    assert not list((tmp_path / "data" / "sites").glob("*/current"))  # nothing deployed
