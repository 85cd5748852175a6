"""Start the real daemon (``python -m pipeline serve``) as a subprocess, as a user would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port

CONFIG = """
data_dir = "{data}"
[server]
host = "127.0.0.1"
port = {port}
auth = "none"
rate_limit_per_token = 100000
rate_limit_overall = 100000
[store]
url = "sqlite:///{data}/pressroom.db"
[workers]
count = {workers}
processes = 0
lease_seconds = {lease}
heartbeat_seconds = {heartbeat}
poll_interval = 0.2
backoff_base = 0.1
backoff_max = 0.5
[workers.concurrency]
build = {workers}
[pipeline]
build = ["noop"]
"""


class Daemon:
    def __init__(self, root: Path, workers: int = 4, lease: float = 30, heartbeat: float = 5, extra: str = "",
                 env: dict[str, str] | None = None) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = root / "config.toml"
        self.config.write_text(CONFIG.format(data=root / "data", port=self.port, workers=workers, lease=lease,
                                             heartbeat=heartbeat) + extra)
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = root / "daemon.log"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSROOM_")}
        env["GIT_ALLOW_PROTOCOL"] = "file"  # fuzzed git URLs must never leave the machine
        env.update(self.env)
        out = self.log.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "pipeline", "--config", str(self.config), "serve"],
                                     stdout=out, stderr=subprocess.STDOUT, env=env, cwd=self.root)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("daemon did not become healthy in 30 s")

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


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    made: list[Daemon] = []

    def make(**kw: Any) -> Daemon:
        d = Daemon(tmp_path, **kw)  # type: ignore[arg-type]
        made.append(d)
        return d

    yield make
    for d in made:
        d.stop()
