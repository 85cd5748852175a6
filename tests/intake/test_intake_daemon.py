"""A drop folder that becomes unreadable under a real ``pressroom serve`` process.

Root reads any folder, so when the tests run as root the daemon is started without the
CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH capabilities (``setpriv``): ``chmod 000`` then really makes the
folder unreadable to it, as it would be to an ordinary user's daemon.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.conftest import free_port

T = TypeVar("T")
CONFIG = """
data_dir = "{data}"
[server]
host = "127.0.0.1"
port = {port}
auth = "none"
[store]
url = "sqlite:///{data}/pressroom.db"
[workers]
processes = 0
poll_interval = 0.2
[pipeline]
build = ["noop"]
[intake]
watch = ["{folder}"]
debounce_seconds = 0.3
stable_checks = 1
stable_interval_seconds = 0.1
recheck_seconds = 0.2
"""


def until(check: Callable[[], T | None], what: str, limit: float = 30.0) -> T:
    deadline = time.monotonic() + limit
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, Path, subprocess.Popen[bytes]]]:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "page.md").write_text("# one\n")
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(data=tmp_path / "data", port=port, folder=folder))
    log = tmp_path / "daemon.log"
    prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSROOM_")}
    with log.open("ab") as out:
        proc = subprocess.Popen([*prefix, sys.executable, "-m", "pipeline", "--config", str(config), "serve"],
                                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert proc.poll() is None, log.read_text()
        try:
            return bool(get(url + "/healthz")["status"] == "ok")
        except OSError:
            return False

    try:
        until(healthy, "the daemon to start")
        yield url, folder, log, proc
    finally:
        folder.chmod(0o755)
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_unreadable_folder_is_logged_and_watched_again(served: tuple[str, Path, Path, subprocess.Popen[bytes]]) -> None:
    url, folder, log, proc = served

    def folder_jobs() -> list[dict[str, Any]]:
        return list(get(url + "/api/builds?trigger=folder")["jobs"])

    first = until(folder_jobs, "the job for the initial content")
    assert len(first) == 1
    folder.chmod(0)
    until(lambda: "is not readable" in log.read_text(), "the daemon to log the unreadable folder")
    assert get(url + "/healthz")["status"] == "ok" and proc.poll() is None
    (folder / "page.md").write_text("# two, written while the daemon could not read it\n")
    folder.chmod(0o755)
    until(lambda: "back; watching again" in log.read_text(), "the daemon to watch the folder again")
    jobs = until(lambda: (j := folder_jobs()) and len(j) == 2 and j, "a job for the change made meanwhile")
    newest = jobs[0]["job_id"]
    until(lambda: f"job {newest}" in log.read_text(), "the job ID in the daemon log")
    until(lambda: (folder / ".pressroom" / "last-job").read_text().strip() == newest, "last-job to name it")
