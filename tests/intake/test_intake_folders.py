"""Drop folders with real watchdog on real temp folders, written the way editors write."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from pipeline.api.keys import store_key, watchers_key
from pipeline.app import create_app
from pipeline.intake.folders import FolderWatcher
from tests.intake import helpers

FAST = {"debounce_seconds": 0.5, "stable_checks": 1, "stable_interval_seconds": 0.1, "recheck_seconds": 0.2}


class Drop:
    def __init__(self, client: Any, watcher: FolderWatcher) -> None:
        self.client = client
        self.app = client.app
        self.w = watcher

    async def jobs(self) -> list[dict[str, Any]]:
        return list((await (await self.client.get("/api/builds?trigger=folder")).json())["jobs"])

    async def settled(self, what: str = "the watcher to settle") -> None:
        async def idle() -> bool:
            return self.w.idle and self.w.status == "watching"

        await helpers.wait_for(idle, what)

    async def job_where(self, pred: Any, what: str) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            for job in await self.jobs():
                if pred(await self.snapshot(job["job_id"])):
                    return job
            return None

        return await helpers.wait_for(check, what)

    async def snapshot(self, job_id: str) -> Path:
        return Path((await self.app[store_key].get(job_id)).source_path or "")


async def start(aiohttp_client: Any, make_config: Any, folder: Path, *, run_worker: bool = True, **intake: Any) -> Drop:
    cfg = make_config(intake={"watch": [str(folder)], **FAST, **intake})
    client = await aiohttp_client(create_app(cfg, run_worker=run_worker))
    drop = Drop(client, client.app[watchers_key][0])
    await drop.settled("the first look at the folder")
    return drop


def text(root: Path, rel: str) -> str | None:
    p = root / rel
    return p.read_text() if p.is_file() else None


def files_of(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


async def test_editor_saves_make_one_job_from_a_snapshot(aiohttp_client: Any, make_config: Any, tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    d = await start(aiohttp_client, make_config, folder, debounce_seconds=1.5)
    # Editor droppings alone never trigger anything.
    for name in (".#page.md", "page.md~", ".page.md.swp", "4913", "#page.md#", "big.iso.part"):
        (folder / name).write_text("scratch")

    async def all_ignored() -> bool:
        return d.w.stats["ignored"] >= 6

    await helpers.wait_for(all_ignored, "the temp-file events")
    assert d.w.stats["relevant"] == 0 and d.w.idle and await d.jobs() == []

    def save_like_editors() -> None:
        (folder / "page.md").write_text("# v1\n")
        # vim: write a temp file, then rename it over the original
        (folder / ".page.md.swp").write_text("swap")
        (folder / ".page.md.tmp").write_text("# v2\n")
        os.replace(folder / ".page.md.tmp", folder / "page.md")
        # truncate-and-write in place (many GUI editors, `>` in a shell)
        with open(folder / "guide.md", "w") as f:
            f.write("# Guide\n")
        with open(folder / "guide.md", "r+") as f:
            f.truncate(0)
            f.write("# Guide, final\n")
        # emacs: backup and lock files next to the real one
        (folder / "guide.md~").write_text("# Guide\n")
        (folder / "sub").mkdir()
        (folder / "sub" / "deep.md").write_text("deep\n")

    await asyncio.to_thread(save_like_editors)
    job = await d.job_where(lambda src: (src / "sub" / "deep.md").exists(), "the job for the saves")
    await d.settled()
    assert [j["job_id"] for j in await d.jobs()] == [job["job_id"]]
    assert job["trigger"] == {"kind": "folder", "folder": str(folder)}
    src = await d.snapshot(job["job_id"])
    assert files_of(src) == {"page.md": "# v2\n", "guide.md": "# Guide, final\n", "sub/deep.md": "deep\n"}
    assert src != folder and not src.is_relative_to(folder)
    assert (folder / ".pressroom" / "last-job").read_text() == job["job_id"] + "\n"
    # The job keeps its snapshot when the live folder changes afterwards.
    (folder / "page.md").write_text("# v3\n")
    assert (src / "page.md").read_text() == "# v2\n"


@pytest.mark.slow
async def test_a_burst_of_10000_files_is_one_job(aiohttp_client: Any, make_config: Any, tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    d = await start(aiohttp_client, make_config, folder, debounce_seconds=1.0)

    def burst() -> None:
        for i in range(100):
            sub = folder / f"section-{i:03d}"
            sub.mkdir()
            for j in range(100):
                (sub / f"page-{j:03d}.md").write_text(f"# {i}.{j}\n")

    await asyncio.to_thread(burst)

    def complete(src: Path) -> bool:
        return src.is_dir() and sum(1 for _ in src.rglob("*.md")) == 10_000

    job = await d.job_where(complete, "the job for 10,000 files")
    await d.settled()
    assert [j["job_id"] for j in await d.jobs()] == [job["job_id"]]
    assert d.w.stats["relevant"] >= 10_000


async def test_a_file_still_being_written_waits_for_stable_sizes(aiohttp_client: Any, make_config: Any,
                                                                  tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    d = await start(aiohttp_client, make_config, folder, debounce_seconds=0.1, stable_checks=3,
                    stable_interval_seconds=0.6)
    chunks = [f"chunk {n}\n" * 2000 for n in range(5)]

    def slow_writer() -> None:
        # A slow copy: pauses between writes are longer than the debounce window.
        with open(folder / "manual.md", "w") as f:
            for chunk in chunks:
                f.write(chunk)
                f.flush()
                time.sleep(0.6)

    await asyncio.to_thread(slow_writer)
    job = await d.job_where(lambda src: (src / "manual.md").exists(), "the job for manual.md")
    await d.settled()
    assert [j["job_id"] for j in await d.jobs()] == [job["job_id"]], "a partial file must never become a job"
    assert (await d.snapshot(job["job_id"]) / "manual.md").read_text() == "".join(chunks)
    assert d.w.stats["unsettled"] >= 1, "the debounce fired mid-write and the size check held the snapshot back"


async def test_symlinks_leaving_the_folder_are_not_followed(aiohttp_client: Any, make_config: Any, tmp_path: Path) -> None:
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "secret.md").write_text("do not publish\n")
    folder = tmp_path / "drop"
    folder.mkdir()
    d = await start(aiohttp_client, make_config, folder)

    def populate() -> None:
        (folder / "page.md").write_text("# Page\n")
        (folder / "leak.md").symlink_to(outside / "secret.md")
        (folder / "leakdir").symlink_to(outside, target_is_directory=True)
        (folder / "absolute.md").symlink_to("/etc/passwd")
        (folder / "alias.md").symlink_to("page.md")

    await asyncio.to_thread(populate)
    job = await d.job_where(lambda src: (src / "page.md").exists(), "the job")
    src = await d.snapshot(job["job_id"])
    assert files_of(src) == {"page.md": "# Page\n", "alias.md": "# Page\n"}
    assert not any(p.is_symlink() for p in src.rglob("*"))


async def test_folder_that_disappears_is_watched_again_when_it_returns(aiohttp_client: Any, make_config: Any,
                                                                      tmp_path: Path, caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger="pipeline.intake")
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "page.md").write_text("# before\n")
    d = await start(aiohttp_client, make_config, folder)
    first = await d.job_where(lambda src: (src / "page.md").exists(), "the job for the initial content")
    await asyncio.to_thread(shutil.rmtree, folder)

    async def gone() -> bool:
        return d.w.status == "missing"

    await helpers.wait_for(gone, "the watcher to notice the folder is gone")
    assert "disappeared" in caplog.text
    assert (await d.client.get("/healthz")).status == 200

    def come_back() -> None:
        folder.mkdir()
        (folder / "page.md").write_text("# after\n")

    await asyncio.to_thread(come_back)
    second = await d.job_where(lambda src: text(src, "page.md") == "# after\n", "a job for the new content")
    assert second["job_id"] != first["job_id"]
    assert "back; watching again" in caplog.text
    # Watching really resumed: a later save is seen through events again.
    (folder / "more.md").write_text("more\n")
    await d.job_where(lambda src: (src / "more.md").exists(), "a job after the return")


async def test_folder_replaced_by_a_file_is_unwatched_until_it_is_a_folder_again(
        aiohttp_client: Any, make_config: Any, tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    d = await start(aiohttp_client, make_config, folder)
    folder.rmdir()
    folder.write_text("not a folder")

    async def not_watching() -> bool:
        return d.w.status == "missing"

    await helpers.wait_for(not_watching, "the watcher to notice")
    folder.unlink()
    folder.mkdir()
    (folder / "x.md").write_text("x\n")
    await d.job_where(lambda src: (src / "x.md").exists(), "a job once it is a folder again")


async def test_newer_save_supersedes_a_pending_job(aiohttp_client: Any, make_config: Any, tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    d = await start(aiohttp_client, make_config, folder, run_worker=False)
    (folder / "a.md").write_text("a\n")
    first = await d.job_where(lambda src: (src / "a.md").exists(), "the first job")
    await d.settled()
    (folder / "b.md").write_text("b\n")
    second = await d.job_where(lambda src: (src / "b.md").exists(), "the second job")
    old = await (await d.client.get(f"/api/builds/{first['job_id']}/status")).json()
    assert old["status"] == "CANCELLED" and old["error"]["code"] == "superseded"
    assert (folder / ".pressroom" / "last-job").read_text().strip() == second["job_id"]


async def test_same_content_again_makes_no_new_job(aiohttp_client: Any, make_config: Any, tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    d = await start(aiohttp_client, make_config, folder, run_worker=False)
    (folder / "a.md").write_text("a\n")
    await d.job_where(lambda src: (src / "a.md").exists(), "the job")
    await d.settled()
    (folder / "a.md").write_text("a\n")  # rewritten, same bytes

    async def judged() -> bool:
        return d.w.stats["unchanged"] >= 1 and d.w.idle

    await helpers.wait_for(judged, "the unchanged save to be judged")
    assert len(await d.jobs()) == 1


async def test_changes_made_while_the_daemon_was_down_are_built_on_start(aiohttp_client: Any, make_config: Any,
                                                                        tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "a.md").write_text("a\n")
    d = await start(aiohttp_client, make_config, folder, run_worker=False)
    await d.job_where(lambda src: (src / "a.md").exists(), "the first job")
    await d.client.close()
    d2 = await start(aiohttp_client, make_config, folder, run_worker=False)
    assert len(await d2.jobs()) == 1, "unchanged content must not build again after a restart"
    await d2.client.close()
    (folder / "a.md").write_text("a, edited while down\n")
    d3 = await start(aiohttp_client, make_config, folder, run_worker=False)
    await d3.job_where(lambda src: text(src, "a.md") == "a, edited while down\n", "the catch-up job")


async def test_a_folder_holding_the_data_folder_is_refused(aiohttp_client: Any, make_config: Any, tmp_path: Path,
                                                           caplog: Any) -> None:
    caplog.set_level(logging.ERROR, logger="pipeline.intake.wiring")
    cfg = make_config(intake={"watch": [str(tmp_path)]})
    client = await aiohttp_client(create_app(cfg, run_worker=False))
    assert watchers_key not in client.app
    assert "the data folder" in caplog.text
