"""With no ``url`` under ``[store]`` the SQLite store went to
``<config dir>/.pressroom/`` whatever ``data_dir`` or ``serve --data-dir`` said, and so was missing
from ``pressroom_data_dir_bytes``. DESIGN §5: ``pressroom.db`` lives under the data folder."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tarfile
import urllib.request
from io import BytesIO
from pathlib import Path

import pytest

from pipeline import config as config_mod
from pipeline.testing import free_port, until

pytestmark = pytest.mark.slow

CONFIG = """
{data_dir}
[server]
host = "127.0.0.1"
port = {port}
sites_port = {sites_port}
auth = "none"
[workers]
processes = 0
[pipeline]
build = ["noop"]
"""


def _serve_and_scrape(config: Path, cwd: Path, *args: str) -> str:
    """Run ``pressroom --config <config> serve <args>`` from ``cwd`` until it answers; return /metrics."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSROOM_")}
    port = int(config.read_text().split("port = ")[1].split()[0])
    log = cwd / "daemon.log"
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "pipeline", "--config", str(config), "serve", *args],
                                cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        def answers() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(log.read_text()[-2000:])
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    return r.status == 200
            except OSError:
                return False

        until(answers, "the daemon to answer", 30, 0.1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            return r.read().decode()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _disk_bytes(metrics: str) -> float:
    line = next(x for x in metrics.splitlines() if x.startswith("pressroom_data_dir_bytes "))
    return float(line.split()[1])


def test_serve_data_dir_holds_the_store(tmp_path: Path) -> None:
    conf_dir, run_dir = tmp_path / "conf", tmp_path / "run"
    conf_dir.mkdir()
    run_dir.mkdir()
    config = conf_dir / "config.toml"
    config.write_text(CONFIG.format(data_dir="", port=free_port(), sites_port=free_port()))
    metrics = _serve_and_scrape(config, run_dir, "--data-dir", "state")  # relative to where the user is
    db = run_dir / "state" / "pressroom.db"
    assert db.is_file(), sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert not (conf_dir / ".pressroom").exists(), "the store ignored --data-dir"
    assert "Store:     sqlite:///" + str(db) in (run_dir / "daemon.log").read_text()
    assert _disk_bytes(metrics) >= db.stat().st_size > 0  # the store counts in the data folder's size


def test_data_dir_in_the_config_holds_the_store(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(data_dir='data_dir = "var/pressroom"', port=free_port(), sites_port=free_port()))
    _serve_and_scrape(config, tmp_path)
    assert (tmp_path / "var" / "pressroom" / "pressroom.db").is_file()
    assert not (tmp_path / ".pressroom").exists()


def test_an_explicit_store_url_still_wins(tmp_path: Path) -> None:
    cfg = config_mod.parse({"data_dir": "d", "store": {"url": "sqlite:///elsewhere/x.db"}}, path="c", root=tmp_path)
    assert cfg.store_url == f"sqlite:///{tmp_path / 'elsewhere' / 'x.db'}"
    cfg = config_mod.parse({"data_dir": "d"}, path="c", root=tmp_path)
    assert cfg.store_url == f"sqlite:///{tmp_path / 'd' / 'pressroom.db'}"


ADDRESS_CONFIG = """
[server]
host = "127.0.0.1"
port = 1
auth = "none"
[workers]
processes = 0
[pipeline]
build = ["render_html", "deploy"]
[site]
title = "Addresses"
default_language = "en"
languages = ["en"]
"""


def _free_pair() -> int:
    """A port whose next port is free too (the sites listener's default is port + 1)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free pair of ports")


def test_live_urls_follow_the_address_served_and_the_banner_names_every_place(tmp_path: Path) -> None:
    """No port in the config: ``serve --port`` decides, and ``live_url`` points at the sites
    listener actually started (port + 1), not at a sample URL; the banner prints store and data dir."""
    config = tmp_path / "config.toml"
    config.write_text(ADDRESS_CONFIG)
    port = _free_pair()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSROOM_")}
    log = tmp_path / "daemon.log"
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "pipeline", "--config", str(config), "serve",
                                 "--port", str(port), "--data-dir", "state"],
                                cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}"
    try:
        def answers() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(log.read_text()[-2000:])
            try:
                with urllib.request.urlopen(api + "/healthz", timeout=1) as r:
                    return r.status == 200
            except OSError:
                return False

        until(answers, "the daemon to answer", 30, 0.1)
        buf = BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            data = b"# Home\n\nHello.\n"
            info = tarfile.TarInfo("en/index.md")
            info.size = len(data)
            tar.addfile(info, BytesIO(data))
        req = urllib.request.Request(api + "/api/builds", data=buf.getvalue(), method="POST",
                                     headers={"Content-Type": "application/gzip"})
        with urllib.request.urlopen(req, timeout=10) as r:
            job_id = json.loads(r.read())["job_id"]

        def finished() -> dict[str, object] | None:
            with urllib.request.urlopen(f"{api}/api/builds/{job_id}/status", timeout=5) as r:
                st: dict[str, object] = json.loads(r.read())
            return st if st["status"] in ("COMPLETED", "FAILED", "CANCELLED") else None

        st = until(finished, "the build to finish", 60, 0.1)
        assert st["status"] == "COMPLETED", st
        sites = f"http://127.0.0.1:{port + 1}/sites/staging/"
        assert str(st["live_url"]).startswith(sites), st["live_url"]
        with urllib.request.urlopen(str(st["live_url"]) + "en/", timeout=5) as r:  # and really served there
            assert b"Hello." in r.read()
        banner = log.read_text()
        data_dir = (tmp_path / "state").resolve()
        assert f"Store:     sqlite:///{data_dir / 'pressroom.db'}" in banner
        assert f"Data:      {data_dir}" in banner
        assert f"Sites:     http://127.0.0.1:{port + 1}/sites/" in banner
    finally:
        proc.terminate()
        proc.wait(timeout=20)
