"""A drop folder that becomes unreadable under a real ``pressroom serve`` process.

Root reads any folder, so when the tests run as root the daemon is started without the
CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH capabilities (``setpriv``): ``chmod 000`` then really makes the
folder unreadable to it, as it would be to an ordinary user's daemon.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.testing import DaemonProcess, until

INTAKE = """
[intake]
watch = ["{folder}"]
debounce_seconds = 0.3
stable_checks = 1
stable_interval_seconds = 0.1
recheck_seconds = 0.2
"""


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, Path, DaemonProcess]]:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "page.md").write_text("# one\n")
    prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    daemon = DaemonProcess(tmp_path, workers=2, extra=INTAKE.format(folder=folder), prefix=prefix)
    try:
        daemon.start()
        yield daemon.url, folder, daemon.log, daemon
    finally:
        folder.chmod(0o755)
        daemon.stop()


def test_unreadable_folder_is_logged_and_watched_again(served: tuple[str, Path, Path, DaemonProcess]) -> None:
    url, folder, log, daemon = served

    def folder_jobs() -> list[dict[str, Any]]:
        return list(get(url + "/api/builds?trigger=folder")["jobs"])

    first = until(folder_jobs, "the job for the initial content")
    assert len(first) == 1
    folder.chmod(0)
    until(lambda: "is not readable" in log.read_text(), "the daemon to log the unreadable folder")
    assert get(url + "/healthz")["status"] == "ok" and daemon.proc is not None and daemon.proc.poll() is None
    (folder / "page.md").write_text("# two, written while the daemon could not read it\n")
    folder.chmod(0o755)
    until(lambda: "back; watching again" in log.read_text(), "the daemon to watch the folder again")
    jobs = until(lambda: (j := folder_jobs()) and len(j) == 2 and j, "a job for the change made meanwhile")
    newest = jobs[0]["job_id"]
    until(lambda: f"job {newest}" in log.read_text(), "the job ID in the daemon log")
    until(lambda: (folder / ".pressroom" / "last-job").read_text().strip() == newest, "last-job to name it")
