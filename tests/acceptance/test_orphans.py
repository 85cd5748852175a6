"""``kill -9`` of the daemon left its process-pool workers and PDF render children
running forever (they wait on a pipe they hold open themselves). They must exit with the daemon."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from pipeline.testing import DaemonProcess, until
from tests.conftest import tar_gz

pytestmark = pytest.mark.slow


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (ppid, state) for every process, from /proc."""
    out: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # the command name may hold spaces
        out[int(entry)] = (int(fields[1]), fields[0])
    return out


def _descendants(root: int) -> set[int]:
    procs = _processes()
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, (ppid, _) in procs.items() if ppid in frontier} - found
        found |= frontier
    return found


def _alive(pids: set[int]) -> set[int]:
    procs = _processes()
    return {pid for pid in pids if pid in procs and procs[pid][1] not in ("Z", "X")}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_kill_9_takes_the_pool_and_the_pdf_children_with_it(tmp_path: Path) -> None:
    d = DaemonProcess(tmp_path, workers=1)
    text = d.config.read_text()
    assert "processes = 0" in text and 'build = ["noop"]' in text
    d.config.write_text(text.replace("processes = 0", "processes = 2")
                        .replace('build = ["noop"]', 'build = ["render_html", "render_pdf"]'))
    try:
        d.start()
        assert d.proc is not None
        daemon_pid = d.proc.pid

        def warm_pool() -> set[int] | None:
            kids = _descendants(daemon_pid)
            return kids if sum("spawn_main" in _cmdline(pid) for pid in kids) >= 2 else None

        pool = until(warm_pool, "the two pool processes", 30)
        pages = {f"en/page{i}.md": f"# Page {i}\n\n" + "\n\n".join(f"Paragraph {j} " + "lorem ipsum " * 40
                                                               for j in range(150)) for i in range(6)}
        pages["en/index.md"] = "# Book\n\nA long book so the PDF children live for a while.\n"
        req = urllib.request.Request(d.url + "/api/builds", data=tar_gz(pages),  # type: ignore[arg-type]
                                     headers={"Content-Type": "application/gzip"}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            job_id = json.load(r)["job_id"]

        def pdf_children() -> set[int] | None:
            extra = _descendants(daemon_pid) - pool
            spawned = {pid for pid in extra if "spawn_main" in _cmdline(pid)}
            return spawned or None

        pdf = until(pdf_children, f"a PDF render child of job {job_id}", 90, 0.02)
        everyone = _descendants(daemon_pid)
        print(f"\ndaemon {daemon_pid}: pool {sorted(pool)}, PDF children {sorted(pdf)}, all {sorted(everyone)}")
        os.kill(daemon_pid, signal.SIGKILL)
        d.proc.wait(timeout=10)
        killed_at = time.monotonic()
        deadline = killed_at + 15
        while _alive(everyone) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = _alive(everyone)
        print(f"children gone {time.monotonic() - killed_at:.2f} s after the kill; left: {sorted(left)}")
        for pid in left:  # do not leak them into the rest of the run
            os.kill(pid, signal.SIGKILL)
        assert not left, {pid: _cmdline(pid) for pid in left}
    finally:
        d.stop()
