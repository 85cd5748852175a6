"""The real daemon with a multilingual site, for the translation acceptance tests.

Translate jobs run ``noop`` first, which waits for a gate file per language (``.noop-wait`` in the
source names ``<gates>/{language}``), so a test decides when a language may go on instead of
guessing how long anything takes.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from pipeline.testing import DaemonProcess, until
from tests.conftest import SAMPLES, tar_gz

LANGS = ("es", "de")
EXTRA = """translate = {translate}
[site]
default_language = "en"
languages = ["en", "es", "de"]
[stages.lint]
fail_on = "never"
[stages.linkcheck]
fail_on_broken = {fail_on_broken}
"""
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")


def start(daemon: Any, *, fail_on_broken: bool = True, lease: float = 30, heartbeat: float = 5,
          translate: tuple[str, ...] = ("noop", "render_html", "linkcheck", "deploy"), extra: str = "") -> DaemonProcess:
    d: DaemonProcess = daemon(workers=4, lease=lease, heartbeat=heartbeat,
                              pipeline=["lint", "render_html", "linkcheck", "deploy"],
                              extra=EXTRA.format(translate=json.dumps(list(translate)),
                                                 fail_on_broken=str(fail_on_broken).lower()) + extra)
    d.start()
    return d


def archive(gates: Path, extra: dict[str, str] | None = None) -> bytes:
    files: dict[str, str | bytes] = {p.relative_to(SAMPLES).as_posix(): p.read_bytes()
                                     for p in sorted(SAMPLES.rglob("*")) if p.is_file()}
    files[".noop-wait"] = str(gates / "{language}")
    files.update(extra or {})
    return tar_gz(files)


def call(d: DaemonProcess, method: str, path: str, body: bytes | None = None) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(d.url + path, data=body, method=method,
                                 headers={"Content-Type": "application/gzip"} if body else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def get(d: DaemonProcess, path: str) -> dict[str, Any]:
    code, doc = call(d, "GET", path)
    assert code == 200, (path, doc)
    return doc


def submit(d: DaemonProcess, body: bytes, branch: str | None = None) -> str:
    code, doc = call(d, "POST", "/api/builds" + (f"?branch={branch}" if branch else ""), body)
    assert code == 202, doc
    return str(doc["job_id"])


def wait_status(d: DaemonProcess, job_id: str, statuses: tuple[str, ...], what: str = "",
                check: Any = None) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        view = get(d, f"/api/builds/{job_id}/status")
        return view if view["status"] in statuses and (check is None or check(view)) else None

    return until(reached, what or f"{job_id} to be {statuses}", 120, 0.1)


def children_spawned(d: DaemonProcess, build: str) -> dict[str, Any]:
    """The build's status once it is COMPLETED and has made both translate jobs."""
    return wait_status(d, build, ("COMPLETED", "FAILED"), "the build and its fan-out",
                       lambda v: sorted(v["translations"]) == sorted(LANGS))


def served(d: DaemonProcess, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(d.sites_url + path, timeout=10) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def live(d: DaemonProcess, target: str = "staging") -> Path:
    return (d.root / "data" / "sites" / target / "current").resolve()
