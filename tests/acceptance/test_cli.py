"""The `pressroom` command as a user runs it: subprocesses, real daemon, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_tree

pytestmark = pytest.mark.slow


def pressroom(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PRESSROOM_")}
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, cwd=cwd,
                          env={**base, **(env or {})}, timeout=timeout)


def test_bad_config_refuses_to_start_and_says_why(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[workers]\ncount = "two"\n[server]\nprot = 1\n')
    proc = pressroom("--config", str(cfg), "serve")
    assert proc.returncode == 3
    assert 'config.toml: [workers] count: expected an integer, got "two"' in proc.stderr.replace(str(tmp_path) + "/", "")
    assert "[server] prot: unknown key" in proc.stderr
    ok = pressroom("--config", str(cfg), "check-config")
    assert ok.returncode == 3


def test_init_then_check_config(tmp_path: Path) -> None:
    proc = pressroom("init", str(tmp_path / "site"))
    assert proc.returncode == 0, proc.stderr
    assert pressroom("--config", str(tmp_path / "site" / "config.toml"), "check-config").returncode == 0


def test_submit_wait_status_list_against_the_daemon(daemon: Any, tmp_path: Path) -> None:
    d = daemon()
    d.start()
    site = make_tree(tmp_path / "docs", {"en/index.md": "# Hello\n", ".noop-delay": "0.5"})
    env = {"PRESSROOM_SERVER": d.url}
    sub = pressroom("submit", str(site), "--wait", env=env)
    assert sub.returncode == 0, sub.stdout + sub.stderr
    job_id = sub.stdout.split()[0]
    assert job_id.startswith("bld_")
    assert "COMPLETED" in sub.stdout
    st = pressroom("status", job_id, "--json", env=env)
    assert st.returncode == 0 and json.loads(st.stdout)["status"] == "COMPLETED"
    follow = pressroom("status", job_id, "--follow", env=env)
    assert follow.returncode == 0
    listing = pressroom("list", env=env)
    assert job_id in listing.stdout
    missing = pressroom("status", "bld_nope", env=env)
    assert missing.returncode == 2 and "job_not_found" in missing.stderr
    unknown = pressroom("approve", "bld_nope", env=env)
    assert unknown.returncode == 2 and "not_found" in unknown.stderr, unknown.stderr
    late = pressroom("cancel", job_id, env=env)
    assert late.returncode == 1 and "invalid_transition" in late.stderr
    again = pressroom("retry", job_id, env=env)
    assert again.returncode == 1 and "invalid_transition" in again.stderr
    down = pressroom("status", job_id, env={"PRESSROOM_SERVER": "http://127.0.0.1:9"})
    assert down.returncode == 4 and "unreachable" in down.stderr


def test_build_without_a_daemon_exit_codes(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[pipeline]\nbuild = ["noop"]\n')
    site = make_tree(tmp_path / "docs", {"en/index.md": "# Hello\n"})
    ok = pressroom("--config", str(cfg), "build", str(site), "--out", str(tmp_path / "out"))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    cfg.write_text('[pipeline]\nbuild = ["noop", "no_such_stage"]\n')
    bad = pressroom("--config", str(cfg), "build", str(site), "--out", str(tmp_path / "out"))
    assert bad.returncode == 1 and "stage_not_found" in bad.stdout
