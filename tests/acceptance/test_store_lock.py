"""Another program holds a write lock on the SQLite file for 40 s.

Before: the event loop froze (store calls waited up to 30 s each on it), then the worker loop
died on ``database is locked`` with nothing logged, ``/healthz`` said ok again and jobs stayed
PENDING for good. Now: every ``/healthz`` is answered (503 ``store: locked`` while the lock is
held), a submit that waits too long gets ``503 store_unavailable`` with Retry-After, and the
jobs queued before the lock complete once it is released.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from pipeline.testing import DaemonProcess, until
from tests.conftest import tar_gz

pytestmark = pytest.mark.slow

LOCK_SECONDS = 40.0
GZ = {"Content-Type": "application/gzip"}


def _call(url: str, data: bytes | None = None, timeout: float = 2.0) -> tuple[int, dict[str, Any], dict[str, str]]:
    req = urllib.request.Request(url, data=data, headers=GZ if data is not None else {},
                                 method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.load(r), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e), dict(e.headers)


def _status(d: DaemonProcess, job_id: str) -> str:
    return str(_call(f"{d.url}/api/builds/{job_id}/status")[1]["status"])


def test_healthz_answers_through_a_40s_lock_and_queued_jobs_complete(tmp_path: Path) -> None:
    d = DaemonProcess(tmp_path, workers=1, lease=10, heartbeat=1)
    try:
        d.start()
        # count = 1: A runs (slowly), B waits behind it in the queue.
        a = _call(d.url + "/api/builds", tar_gz({"en/index.md": "# A\n", ".noop-delay": "2"}))[1]["job_id"]
        b = _call(d.url + "/api/builds", tar_gz({"en/index.md": "# B\n"}))[1]["job_id"]
        until(lambda: _status(d, a) == "PROCESSING", "job A to start", 30)
        assert _status(d, b) == "PENDING"

        locker = sqlite3.connect(tmp_path / "data" / "pressroom.db", isolation_level=None, timeout=5,
                                 check_same_thread=False)
        locker.execute("BEGIN EXCLUSIVE")  # what a sqlite3 shell or a backup tool does
        locked_at = time.monotonic()
        submit_answer: list[tuple[int, dict[str, Any], dict[str, str], float]] = []

        def submit_while_locked() -> None:
            started = time.monotonic()
            answer = _call(d.url + "/api/builds", tar_gz({"en/index.md": "# C\n"}), timeout=30)
            submit_answer.append((*answer, time.monotonic() - started))

        submitter = threading.Thread(target=submit_while_locked)
        submitter.start()
        samples: list[tuple[float, float, int, dict[str, Any]]] = []  # (sent at, latency, status, body)
        try:
            while time.monotonic() - locked_at < LOCK_SECONDS:
                sent = time.monotonic()
                status, body, _ = _call(d.url + "/healthz", timeout=2.0)  # raises if not answered
                samples.append((sent - locked_at, time.monotonic() - sent, status, body))
                if len(samples) % 20 == 0:
                    assert _status(d, b) == "PENDING"  # reads still work (WAL) while writes wait
                time.sleep(0.05)
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        released_at = time.monotonic()
        submitter.join(timeout=30)

        latencies = sorted(s[1] for s in samples)
        p99 = latencies[int(len(latencies) * 0.99)]
        print(f"\n/healthz while locked: {len(samples)} requests, all answered; max {latencies[-1] * 1000:.1f} ms, "
              f"p99 {p99 * 1000:.1f} ms, median {latencies[len(latencies) // 2] * 1000:.1f} ms")
        assert len(samples) > LOCK_SECONDS  # polled throughout, not stuck on one request
        for at, _latency, status, body in samples:
            assert status == 503, (at, status, body)
            assert body["store"] == "locked" and "store" in body["failing"], body
        assert latencies[-1] < 2.0  # generous (noisy 2-core machine); the target is 100 ms

        assert submit_answer, "the submit made while locked never got an answer"
        status, body, headers, waited = submit_answer[0]
        print(f"submit while locked: {status} {body.get('error', {}).get('code')} after {waited:.1f} s")
        assert status == 503 and body["error"]["code"] == "store_unavailable" and "Retry-After" in headers

        def healthy() -> bool:
            return _call(d.url + "/healthz")[0] == 200

        until(healthy, "/healthz to say ok after the release", 15)
        print(f"healthy again {time.monotonic() - released_at:.1f} s after the release")
        until(lambda: _status(d, b) == "COMPLETED", "job B (queued before the lock) to complete", 60)
        until(lambda: _status(d, a) == "COMPLETED", "job A (running when locked) to complete", 60)
        body = _call(d.url + "/healthz")[1]
        assert body["parts"]["worker"]["state"] == "running"
        log = d.log.read_text()
        assert "store stayed locked" in log  # said, not silent (the worker waited it out)
        assert "Traceback" not in log
    finally:
        d.stop()
