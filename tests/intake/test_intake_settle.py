"""How a drop folder's events become jobs: the quiet window and the max-wait.

The watcher runs on its own (real watchdog on a temp folder, no app); each save is also reported
with ``hop()``, as watchdog's thread does, so the tests do not depend on when the observer
delivers. ``submit`` records what a job would have built. No assertion is about time: the
outcome (how many jobs, with which content) is what a writer sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from pipeline.intake.folders import FolderWatcher, RefState, Timing
from pipeline.store.model import Job, SubmitResult
from tests.intake import helpers

SAVES = 40
"""A burst several quiet windows long in all, with each gap far inside one window."""
GAP = 0.01


class Recorder:
    """The watcher's submit: the folder's ``page.md`` at each job, as the snapshot would hold it."""

    def __init__(self) -> None:
        self.jobs: list[str] = []

    async def submit(self, folder: Path, digest: str | None) -> SubmitResult:
        self.jobs.append((folder / "page.md").read_text())
        return SubmitResult(Job(id=f"bld_{len(self.jobs)}", kind="build", status="PENDING", source_hash=digest),
                            created=True)


def memory_state() -> RefState:
    refs: dict[str, str] = {}

    async def get(key: str) -> str | None:
        return refs.get(key)

    async def put(key: str, value: str) -> None:
        refs[key] = value

    return RefState(get, put)


@contextlib.asynccontextmanager
async def watching(folder: Path, timing: Timing) -> AsyncIterator[tuple[FolderWatcher, Recorder]]:
    """A running watcher that has built the folder's first content."""
    recorder = Recorder()
    watcher = FolderWatcher(folder, timing=timing, submit=recorder.submit, state=memory_state())
    task = asyncio.create_task(watcher.run())
    try:
        await helpers.wait_for(lambda: _true(len(recorder.jobs) == 1 and watcher.idle), "the first job")
        yield watcher, recorder
    finally:
        watcher.stop()
        await task


async def _true(value: bool) -> bool:
    return value


def save(folder: Path, watcher: FolderWatcher, text: str) -> None:
    """Save like an editor (write a temp file, rename it over the page) and report the event."""
    tmp = folder / ".page.md.tmp"
    tmp.write_text(text)
    tmp.replace(folder / "page.md")
    watcher.hop(change=True)


async def test_a_burst_of_saves_is_one_job(tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "page.md").write_text("v0\n")
    async with watching(folder, Timing(recheck=0.5)) as (watcher, recorder):  # the default quiet window
        for i in range(1, SAVES + 1):
            await asyncio.to_thread(save, folder, watcher, f"v{i}\n")
            await asyncio.sleep(GAP)
        last = f"v{SAVES}\n"
        await helpers.wait_for(lambda: _true(recorder.jobs[-1] == last and watcher.idle), "the last save's job")
        assert recorder.jobs == ["v0\n", f"v{SAVES}\n"], "one job for the whole burst, with its last save"
        assert watcher.stats["jobs"] == 2 and watcher.idle


async def test_a_folder_that_never_goes_quiet_is_built_at_the_max_wait(tmp_path: Path) -> None:
    quiet = 0.3
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "page.md").write_text("v0\n")
    stop = threading.Event()
    saved: list[int] = []

    def writer(watcher: FolderWatcher) -> None:
        while not stop.is_set():
            saved.append(len(saved) + 1)
            save(folder, watcher, f"v{saved[-1]}\n")
            stop.wait(quiet / 10)

    async with watching(folder, Timing(debounce=quiet, stable_max=1.0, recheck=0.5)) as (watcher, recorder):
        thread = threading.Thread(target=writer, args=(watcher,), daemon=True)
        thread.start()
        try:
            await helpers.wait_for(lambda: _true(len(recorder.jobs) > 1), "a job while the writer never pauses")
            assert thread.is_alive(), "the max-wait built the folder before the writer stopped"
        finally:
            stop.set()
            await asyncio.to_thread(thread.join)
        last = f"v{saved[-1]}\n"
        await helpers.wait_for(lambda: _true(recorder.jobs[-1] == last and watcher.idle), "a job for the last save")
