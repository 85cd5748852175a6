"""Through the real daemon: a one-page change re-does only that page in every stage, the status
says per stage what was reused, and the served site and link verdicts are those of a full build."""

from __future__ import annotations

import io
import json
import tarfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.testing import DaemonProcess, until

pytestmark = pytest.mark.slow

PAGES = 12


def site(edit: str = "", drop_anchor: bool = False) -> dict[str, str]:
    files = {"docs/index.md": "# Home\n\n" + "".join(f"- [Page {n}](p{n}.md)\n" for n in range(PAGES))}
    for n in range(PAGES):
        nxt = (n + 1) % PAGES
        files[f"docs/p{n}.md"] = (f"# Page {n}\n\n## Details\n\nText {n}.\n\n[next](p{nxt}.md#details)\n"
                                  f"[third](p3.md#details)\n")
    if drop_anchor:
        files["docs/p3.md"] = "# Page 3\n\nNo details here any more.\n"
    if edit:
        files["docs/p5.md"] += f"\n{edit}\n"
    return files


def archive(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def submit(daemon: DaemonProcess, files: dict[str, str]) -> dict[str, Any]:
    request = urllib.request.Request(daemon.url + "/api/builds", data=archive(files), method="POST",
                                     headers={"Content-Type": "application/gzip"})
    with urllib.request.urlopen(request, timeout=30) as r:
        job = json.load(r)["job_id"]

    def done() -> dict[str, Any] | None:
        with urllib.request.urlopen(f"{daemon.url}/api/builds/{job}/status", timeout=10) as r:
            status: dict[str, Any] = json.load(r)
        return status if status["status"] in ("COMPLETED", "FAILED", "CANCELLED") else None

    return until(done, f"job {job}", 120, 0.05)


def stages(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s.get("counts") or {} for s in status["stages"]}


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[DaemonProcess]:
    d = DaemonProcess(tmp_path, workers=1, pipeline=["render_html", "linkcheck", "deploy"],
                      extra='\n[site]\nname = "inc"\ntitle = "Inc"\n[stages.linkcheck]\nfail_on_broken = false\n')
    d.start()
    yield d
    d.stop()


def test_one_page_change_reuses_the_rest_in_every_stage(daemon: DaemonProcess) -> None:
    first = submit(daemon, site())
    assert first["status"] == "COMPLETED", first.get("error")
    cold = stages(first)
    assert cold["render_html"]["reused"] == 0 and cold["linkcheck"]["reused"] == 0
    assert cold["deploy"]["reused"] == 0

    second = submit(daemon, site(edit="An edit."))
    assert second["status"] == "COMPLETED", second.get("error")
    warm = stages(second)
    assert warm["render_html"]["rendered"] == 1
    assert warm["render_html"]["reused"] == warm["render_html"]["pages"] - 1
    assert warm["linkcheck"]["pages_parsed"] >= 1
    assert warm["linkcheck"]["reused"] >= PAGES - 1
    assert 0 < warm["deploy"]["reused"] < warm["deploy"]["files"]
    with urllib.request.urlopen(f"{daemon.sites_url}/sites/staging/en/p5/", timeout=10) as r:
        assert "An edit." in r.read().decode()

    # an anchor removed in one page breaks links from unchanged pages: seen, as a full check sees it
    third = submit(daemon, site(edit="An edit.", drop_anchor=True))
    assert third["status"] == "COMPLETED", third.get("error")
    counts = stages(third)["linkcheck"]
    # p2's "next" link and the "third" link of every page but p3 itself, all unchanged pages
    assert counts["missing_anchors"] == 1 + (PAGES - 1)
    assert counts["pages_parsed"] == 1
