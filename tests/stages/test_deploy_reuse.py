"""A deploy writes only what changed: unchanged files are hard links into the live release."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from deploy_fixtures import build, context, pages

from stages.deploy import stage as deploy_stage

PAGE = "en/guide/install/index.html"


async def test_one_page_change_writes_one_page_and_links_the_rest(tmp_path: Path) -> None:
    first = await deploy_stage.run(context(tmp_path, build(tmp_path, "job1")))
    assert first.counts["reused"] == 0
    second = await deploy_stage.run(context(tmp_path, build(tmp_path, "job2", pages(extra="<p>New step.</p>"))))

    releases = tmp_path / "sites" / "staging" / "releases"
    old, new = releases / "job1", releases / "job2"
    assert os.readlink(tmp_path / "sites" / "staging" / "current") == "releases/job2"
    # the PDF differs per job in the fixture, and so does the changed page: both written
    assert second.counts["reused"] == second.counts["files"] - 2
    assert os.stat(old / PAGE).st_ino != os.stat(new / PAGE).st_ino
    assert "New step." in (new / PAGE).read_text() and "New step." not in (old / PAGE).read_text()
    assert os.stat(old / "en/index.html").st_ino == os.stat(new / "en/index.html").st_ino
    assert os.stat(new / "en/docs.pdf").st_ino != os.stat(old / "en/docs.pdf").st_ino
    for path in (new / PAGE, new / "en/index.html"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644


async def test_same_size_edit_is_written_not_linked(tmp_path: Path) -> None:
    """Sizes alone would miss it: the bytes are compared."""
    await deploy_stage.run(context(tmp_path, build(tmp_path, "job1", pages(extra="<p>aaaa</p>"))))
    result = await deploy_stage.run(context(tmp_path, build(tmp_path, "job2", pages(extra="<p>bbbb</p>"))))
    new = tmp_path / "sites" / "staging" / "releases" / "job2"
    assert "bbbb" in (new / PAGE).read_text()
    assert result.counts["reused"] == result.counts["files"] - 2
