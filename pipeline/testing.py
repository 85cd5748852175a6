"""Helpers for tests and benchmarks that run the real daemon as a user would (a subprocess).

Kept in the package (as procrastinate keeps ``procrastinate/testing.py``) so the test suite and
``bench/`` start daemons the same way instead of each carrying a copy.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

DAEMON_CONFIG = """
data_dir = "{data}"
[server]
host = "127.0.0.1"
port = {port}
sites_port = {sites_port}
auth = "{auth}"
rate_limit_per_token = 1000000
rate_limit_overall = 1000000
[store]
url = "{store_url}"
[workers]
count = {workers}
processes = 0
poll_interval = {poll}
lease_seconds = {lease}
heartbeat_seconds = {heartbeat}
backoff_base = 0.1
backoff_max = 0.5
[workers.concurrency]
build = {workers}
[pipeline]
build = {pipeline}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def until(check: Callable[[], T | None], what: str = "a condition", limit: float = 30.0, step: float = 0.05) -> T:
    """Poll ``check`` until it returns something truthy (for waiting on another process)."""
    deadline = time.monotonic() + limit
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(step)


class DaemonProcess:
    """``python -m pipeline --config <root>/config.toml serve`` on a free loopback port."""

    def __init__(self, root: Path, *, workers: int = 4, lease: float = 30, heartbeat: float = 5, extra: str = "",
                 env: dict[str, str] | None = None, prefix: Sequence[str] = (), auth: str = "none",
                 pipeline: Sequence[str] = ("noop",), store_url: str | None = None, poll: float = 0.2,
                 data: Path | None = None) -> None:
        """``store_url`` (default: a SQLite file in the daemon's data dir) lets several daemons share
        one PostgreSQL store; ``data`` lets them share a data dir (and so a ``directory`` target)."""
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.sites_port = free_port()
        while self.sites_port == self.port:
            self.sites_port = free_port()
        self.sites_url = f"http://127.0.0.1:{self.sites_port}"
        """The separate origin serving deployed sites (``/sites/<target>/``)."""
        self.config = root / "config.toml"
        data = data or root / "data"
        self.config.write_text(DAEMON_CONFIG.format(data=data, store_url=store_url or f"sqlite:///{data}/pressroom.db",
                                                    poll=poll, port=self.port, workers=workers, lease=lease,
                                                    heartbeat=heartbeat, sites_port=self.sites_port, auth=auth,
                                                    pipeline=json.dumps(list(pipeline))) + extra)
        self.env = dict(env or {})
        self.prefix = list(prefix)
        self.log = root / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSROOM_")}
        env["GIT_ALLOW_PROTOCOL"] = "file"  # git URLs in tests must never leave the machine
        env.update(self.env)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([*self.prefix, sys.executable, "-m", "pipeline", "--config", str(self.config), "serve"],
                                         stdout=out, stderr=subprocess.STDOUT, env=env, cwd=self.root)
        until(self._healthy, "the daemon to answer /healthz", timeout, 0.1)

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"daemon exited: {self.log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
