"""Drop folders: a watchdog Observer per folder feeding one asyncio loop per folder.

Threads only at the edge: watchdog's thread filters an event (temp files, ``.git``,
``.pressroom``) and, if it matters, asks the loop to look (at most one hop queued at a time, so
10,000 files cost a handful of hops, not 10,000). The loop waits for a short quiet window after the
last event (the debounce, 0.3 s by default: an editor's save is a few events within milliseconds, a
copy is a stream of them), then until sizes and mtimes stop moving, then hashes the folder and,
unless the content equals what this folder's last job got, submits it; the submitter copies it into
the job's workspace, and the job builds that snapshot, never the live folder. A folder that never
goes quiet is snapshotted anyway once ``stable_max`` has passed since the first event of the round
(the max-wait), so a writer that never pauses still gets builds, each superseding the last.

A folder that disappears, becomes unreadable or is replaced is noticed on a periodic check (and at
once when watchdog reports the folder itself deleted): the observer is dropped, one line is logged,
and the folder is armed again when it is back. Changes made while it was unwatched are caught by
the snapshot hash, which is also remembered across restarts in the store's refs table.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watchdog import events as wd_events
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from pipeline import config as config_mod
from pipeline import errors
from pipeline.intake import snapshot
from pipeline.store.model import SubmitResult

logger = logging.getLogger(__name__)

EVENT_FILTER: list[type[wd_events.FileSystemEvent]] = [
    wd_events.FileCreatedEvent, wd_events.FileModifiedEvent, wd_events.FileMovedEvent, wd_events.FileDeletedEvent,
    wd_events.FileClosedEvent, wd_events.DirCreatedEvent, wd_events.DirDeletedEvent, wd_events.DirMovedEvent,
]
"""Opened, closed-without-write, attribute and directory-modified events never mean new content."""

SubmitFn = Callable[[Path, str | None], Awaitable[SubmitResult]]
"""(folder, its content hash if known) -> the submit result; the wiring owns it (it knows the app)."""
EMPTY_HASH = hashlib.sha256().hexdigest()
"""``snapshot.tree_hash`` of a folder with nothing a snapshot would take."""


class RefState:
    """Where a folder's last snapshot hash and job survive restarts (``ref_get``/``ref_set``)."""

    def __init__(self, get: Callable[[str], Awaitable[str | None]], put: Callable[[str, str], Awaitable[None]]) -> None:
        self._get = get
        self._put = put

    @staticmethod
    def key(folder: Path) -> str:
        return "intake:folder:" + hashlib.sha256(str(folder).encode()).hexdigest()[:32]

    async def load(self, folder: Path) -> dict[str, Any]:
        raw = await self._get(self.key(folder))
        try:
            value = json.loads(raw) if raw else {}
        except ValueError:
            value = {}
        return value if isinstance(value, dict) else {}

    async def save(self, folder: Path, value: dict[str, Any]) -> None:
        await self._put(self.key(folder), json.dumps({"folder": str(folder), **value}))


@dataclass(frozen=True)
class Timing:
    debounce: float = 0.3
    """The quiet window: a save counts once no event came for this long. Short, because a save is
    a burst of events milliseconds apart; the size check after it catches a slow copy."""
    stable_checks: int = 1
    stable_interval: float = 0.25
    stable_max: float = 60.0
    """The max-wait, from the first event of a round: a folder that never settles is snapshotted
    anyway, so a writer that never pauses cannot hold builds back forever."""
    recheck: float = 2.0

    @classmethod
    def from_config(cls, cfg: config_mod.IntakeConfig) -> Timing:
        return cls(cfg.debounce_seconds, cfg.stable_checks, cfg.stable_interval_seconds, cfg.stable_max_seconds,
                   cfg.recheck_seconds)


def _relevant(root: str, path: str) -> bool:
    rel = os.path.relpath(path, root)
    if rel == "." or rel.startswith(".." + os.sep) or rel == "..":
        return False
    parts = rel.split(os.sep)
    return not any(p in snapshot.IGNORED_NAMES for p in parts) and not snapshot.is_temp_file(parts[-1])


class _Handler(wd_events.FileSystemEventHandler):
    """Runs on watchdog's thread; touches nothing but counters and ``call_soon_threadsafe``."""

    def __init__(self, watcher: FolderWatcher) -> None:
        self.w = watcher
        self.root = str(watcher.folder)

    def on_any_event(self, event: wd_events.FileSystemEvent) -> None:
        paths = [os.fsdecode(event.src_path)]
        if event.dest_path:
            paths.append(os.fsdecode(event.dest_path))
        if event.event_type in ("deleted", "moved") and paths[0] == self.root:
            self.w.hop(change=False)
        elif any(_relevant(self.root, p) for p in paths):
            self.w.hop(change=True)
        else:
            self.w.count("ignored")


class FolderWatcher:
    def __init__(self, folder: Path, *, timing: Timing, submit: SubmitFn, state: RefState,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.folder = folder
        self.timing = timing
        self._submit = submit
        self._state = state
        self._loop = loop or asyncio.get_running_loop()
        self._lock = threading.Lock()
        self._hop_queued = False
        self._wake = asyncio.Event()
        self._stopping = False
        self._pending = False
        self._last_event = 0.0
        self._first_event: float | None = None
        """When the round being settled began (its first unhandled event); None between rounds."""
        self._observer: BaseObserver | None = None
        self._identity: tuple[int, int] | None = None
        self.status = "starting"
        """``watching``, ``missing``, ``unreadable`` or ``stopped``: shown by the dashboard and tests."""
        self.stats = {"relevant": 0, "ignored": 0, "jobs": 0, "unchanged": 0, "unsettled": 0, "arms": 0}
        self.last: dict[str, Any] = {}
        self.busy = False

    # -- the watchdog thread side -------------------------------------------------------------

    def count(self, what: str) -> None:
        with self._lock:
            self.stats[what] += 1

    def hop(self, *, change: bool) -> None:
        with self._lock:
            if change:
                self.stats["relevant"] += 1
            if self._hop_queued:
                return
            self._hop_queued = True
        with contextlib.suppress(RuntimeError):  # the loop closed during shutdown
            self._loop.call_soon_threadsafe(self._on_hop, change)

    def _on_hop(self, change: bool) -> None:
        with self._lock:
            self._hop_queued = False
        if change:
            self._mark()
        self._wake.set()

    def _mark(self) -> None:
        """Note a relevant event: it restarts the quiet window, and may open a round."""
        self._pending = True
        self._last_event = self._loop.time()
        if self._first_event is None:
            self._first_event = self._last_event

    # -- the loop side ----------------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """Nothing seen that is not yet handled (tests and the dashboard wait on this)."""
        return not self.busy and not self._pending

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        self.last = await self._state.load(self.folder)
        try:
            while not self._stopping:
                if self._observer is None:
                    await self._arm()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.timing.recheck)
                self._wake.clear()
                if self._stopping:
                    break
                if self._observer is not None and not self._healthy():
                    await self._disarm()
                    continue
                if self._pending and self._observer is not None:
                    await self._settle_and_submit()
        finally:
            await self._disarm()
            self.status = "stopped"

    def _problem(self) -> str | None:
        """Why the folder cannot be watched now (None when it can)."""
        try:
            st = os.stat(self.folder)
        except FileNotFoundError:
            return "missing"
        except OSError:
            return "unreadable"
        if not os.path.isdir(self.folder):
            return "missing"
        try:
            with os.scandir(self.folder) as it:
                next(it, None)
        except OSError:
            return "unreadable"
        if self._identity is not None and self._identity != (st.st_dev, st.st_ino):
            return "replaced"
        return None

    def _healthy(self) -> bool:
        problem = self._problem()
        if problem is None and self._observer is not None and not self._observer.is_alive():
            problem = "unwatched"
        if problem is None:
            return True
        self.status = "missing" if problem in ("missing", "replaced") else "unreadable"
        logger.warning("drop folder %s: %s; the daemon keeps running and watches it again when it is back",
                       self.folder, {"missing": "disappeared", "replaced": "was replaced by another folder",
                                     "unreadable": "is not readable", "unwatched": "lost its watch"}[problem])
        return False

    async def _arm(self) -> None:
        self._identity = None
        problem = self._problem()
        if problem is not None:
            if self.status != problem:
                logger.warning("drop folder %s is %s; waiting for it", self.folder, problem)
            self.status = problem
            return
        st = os.stat(self.folder)
        observer = Observer()
        try:
            await asyncio.to_thread(self._start_observer, observer)
        except OSError as exc:
            if self.status != "unreadable":
                logger.warning("drop folder %s cannot be watched (%s); retrying", self.folder, exc)
            self.status = "unreadable"
            return
        self._observer = observer
        self._identity = (st.st_dev, st.st_ino)
        again = self.stats["arms"] > 0 or self.status in ("missing", "unreadable")
        self.stats["arms"] += 1
        self.status = "watching"
        logger.info("drop folder %s: %s", self.folder, "back; watching again" if again else "watching")
        # Whatever changed while nobody watched (or before the daemon started) is caught here:
        # the snapshot hash decides whether it is new.
        self._mark()
        self._wake.set()

    def _start_observer(self, observer: BaseObserver) -> None:
        observer.schedule(_Handler(self), str(self.folder), recursive=True, event_filter=EVENT_FILTER)
        observer.start()

    async def _disarm(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            await asyncio.to_thread(_stop_observer, observer)

    async def _settle_and_submit(self) -> None:
        self.busy = True
        try:
            digest: str | None = None
            # the max-wait counts from the first event of this round
            first = self._first_event if self._first_event is not None else self._last_event
            deadline = first + self.timing.stable_max
            while not self._stopping:
                now = self._loop.time()
                quiet_for = min(self._last_event + self.timing.debounce, deadline) - now
                if quiet_for > 0:
                    await asyncio.sleep(quiet_for)
                    continue
                self._pending = False
                self._first_event = None  # an event from here on opens the next round
                if now >= deadline:
                    logger.warning("drop folder %s: files still changing after %.0f s; snapshotting anyway",
                                   self.folder, self.timing.stable_max)
                    break
                stable, digest = await self._stable(deadline)
                if stable:
                    break
                self.stats["unsettled"] += 1
            if self._stopping:
                return
            if not self._healthy():
                await self._disarm()
                return
            await self._snapshot(digest)
        finally:
            self.busy = False

    async def _stable(self, deadline: float) -> tuple[bool, str | None]:
        """(True, content hash) once sizes/mtimes held still ``stable_checks`` times in a row.

        The folder is hashed while each interval passes, so a settled folder's hash costs no extra
        time. The hash is valid because nothing moved between the signatures taken before and after
        it. Returns (False, None) as soon as new events arrive.
        """
        t = self.timing
        if t.stable_checks <= 0:
            return True, None
        prev = await asyncio.to_thread(_safe_signature, self.folder)
        same = 0
        while True:
            hashing = asyncio.ensure_future(asyncio.to_thread(_safe_hash, self.folder))
            await asyncio.sleep(t.stable_interval)
            digest = await hashing
            if self._pending or self._stopping:
                return False, None
            cur = await asyncio.to_thread(_safe_signature, self.folder)
            if cur is None:
                return True, None  # the folder went away: the health check after this deals with it
            same = same + 1 if cur == prev else 0
            prev = cur
            if same >= t.stable_checks:
                return True, digest
            if self._loop.time() >= deadline:
                logger.warning("drop folder %s: files still changing after %.0f s; snapshotting anyway",
                               self.folder, t.stable_max)
                return True, None

    async def _snapshot(self, digest: str | None) -> None:
        """Submit the settled folder (the submitter copies it into the job) unless it is unchanged.

        ``digest`` comes from the stability check. Without one, the folder is hashed here, just
        before the copy. A write that slips in after the hash produces events, so another round
        follows with a different hash: at worst one extra build, never a missed change.
        """
        if digest is None:
            digest = await asyncio.to_thread(_safe_hash, self.folder)
        if digest == EMPTY_HASH:
            logger.info("drop folder %s is empty; nothing to build", self.folder)
            return
        if digest is not None and digest == self.last.get("hash"):
            self.stats["unchanged"] += 1
            logger.info("drop folder %s: content unchanged since job %s; no new job", self.folder, self.last.get("job_id"))
            return
        t1 = self._loop.time()
        try:
            result = await self._submit(self.folder, digest)
        except (OSError, errors.PressroomError) as exc:
            logger.warning("drop folder %s: snapshot failed (%s); will retry on the next change", self.folder, exc)
            return
        job = result.job
        logger.info("drop folder %s: job %s%s%s (settled and hashed %.2f s after the last write; snapshot and submit %.2f s)",
                    self.folder, job.id, " (duplicate)" if not result.created else "",
                    f", superseded {', '.join(result.superseded)}" if result.superseded else "",
                    t1 - self._last_event, self._loop.time() - t1)
        self.stats["jobs"] += 1
        self.last = {"hash": digest or job.source_hash, "job_id": job.id}
        await asyncio.to_thread(write_last_job, self.folder, job.id, result)
        await self._state.save(self.folder, self.last)


def _safe_hash(root: Path) -> str | None:
    """The content hash, or None when files vanished mid-read (the snapshot then hashes itself)."""
    try:
        return snapshot.tree_hash(root)
    except OSError:
        return None


def _safe_signature(root: Path) -> tuple[tuple[str, int, int], ...] | None:
    try:
        return snapshot.signature(root)
    except OSError:
        return None


def _stop_observer(observer: BaseObserver) -> None:
    try:
        observer.stop()
        observer.join(timeout=5)
    except Exception:  # a watch on a vanished folder can fail to unregister; the thread still ends
        logger.debug("stopping an observer failed", exc_info=True)


def write_last_job(folder: Path, job_id: str, result: SubmitResult) -> None:
    """``<folder>/.pressroom/last-job`` (the ID on one line) and ``last-job.json`` for tools."""
    meta = folder / ".pressroom"
    info = {"job_id": job_id, "status_url": f"/api/builds/{job_id}/status", "duplicate": not result.created,
            "superseded": result.superseded}
    try:
        meta.mkdir(exist_ok=True)
        for name, text in (("last-job", job_id + "\n"), ("last-job.json", json.dumps(info, indent=2) + "\n")):
            tmp = meta / f".{name}.tmp"
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, meta / name)
    except OSError as exc:
        logger.warning("drop folder %s: could not write .pressroom/last-job (%s); job %s", folder, exc, job_id)
