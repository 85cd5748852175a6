"""The worker pool: claims jobs with a lease, runs them, and keeps the lease alive.

One ``Worker`` per daemon runs up to ``[workers] count`` jobs at once, within per-kind limits.
Side tasks renew leases (heartbeat), return jobs of dead daemons to the queue (reaper) and watch
for cancel requests. A job whose lease is lost is abandoned: its result is never written.

The worker knows job kinds only through its handler table (:mod:`pipeline.jobs.kinds`); each
attempt's handler gets a :class:`~pipeline.jobs.context.JobContext`, never the worker.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import random
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import aiohttp

from pipeline import config as config_mod
from pipeline import errors
from pipeline.jobs.context import Handler, JobContext, Outcome, OutcomeKind
from pipeline.metrics import Metrics
from pipeline.store import Job, JobStatus, Store, ids

logger = logging.getLogger(__name__)


@dataclass
class Running:
    """The worker's bookkeeping for one job it holds."""

    job: Job
    task: asyncio.Task[None] | None = None
    cancel: bool = False
    lost: bool = False
    persisting: bool = False
    """Set once the outcome is being written: the lease is released on purpose from then on."""
    started: float = field(default_factory=time.monotonic)


AfterFinish = Callable[[Job, Outcome, JobContext], Awaitable[None]]
"""A follow-up once a job's end is stored, e.g. older reviews of the same source lapse."""


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter on the upper half: spreads retries of a burst."""
    raw = min(cap, base * (2 ** max(0, attempt - 1)))
    return raw / 2 + random.uniform(0, raw / 2)


class Worker:
    def __init__(self, *, store: Store, config: config_mod.Config, handlers: Mapping[str, Handler],
                 worker_id: str | None = None, executor: concurrent.futures.Executor | None = None,
                 http: aiohttp.ClientSession | None = None, after_finish: list[AfterFinish] | None = None,
                 metrics: Metrics | None = None) -> None:
        self.store = store
        self.metrics = metrics
        """Where job (and, through the build handler, stage) durations are observed for ``/metrics``."""
        self.config = config
        self.handlers = dict(handlers)
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{ids.ulid()[-6:]}"
        self.executor = executor
        self.http = http
        self.after_finish = list(after_finish or [])
        """Follow-ups once a job's end is stored (supersede old reviews...); failures are logged."""
        self.running: dict[str, Running] = {}
        self._stop = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._held_back = True
        """The last claim left runnable kinds out (no free slot, or a kind at its limit): a slot
        freeing may let it take more. False after a claim over every kind found the queue empty."""
        self._started_at = time.time()
        self.log = logger.getChild(self.id.replace(".", "_"))

    @property
    def wcfg(self) -> config_mod.WorkersConfig:
        return self.config.workers

    def stop(self) -> None:
        self._stop.set()

    def _free_kinds(self) -> list[str]:
        if len(self.running) >= self.wcfg.count:
            return []
        busy: dict[str, int] = {}
        for r in self.running.values():
            busy[r.job.kind] = busy.get(r.job.kind, 0) + 1
        kinds = []
        for kind in self.handlers:
            limit = self.wcfg.concurrency.get(kind, self.wcfg.count)
            if busy.get(kind, 0) < limit:
                kinds.append(kind)
        return kinds

    async def run(self) -> None:
        """Claim and run jobs until :meth:`stop`; then wait for running jobs (graceful).

        A locked or unreachable store is waited out (logged, retried); any other error ends this
        call with the exception for the supervisor to log and restart. Jobs still running then
        are left alone: the next ``run()`` renews their leases, so a crash loses no work.
        """
        side = [asyncio.create_task(self._heartbeat(), name="heartbeat"),
                asyncio.create_task(self._reaper(), name="reaper"),
                asyncio.create_task(self._cancel_watch(), name="cancel-watch")]
        self.log.info("worker %s started (count=%d)", self.id, self.wcfg.count, extra={"action": "worker_start"})
        try:
            while not self._stop.is_set():
                for t in side:
                    if t.done() and not t.cancelled() and t.exception():
                        raise RuntimeError(f"worker side task {t.get_name()} died") from t.exception()
                seen = self.store.work_seq  # work announced while the claim runs must not be slept through
                try:
                    claimed, asked = await self._claim_some()
                except errors.StoreUnavailable as exc:
                    self.log.warning("cannot claim jobs: %s; retrying until the store answers", exc,
                                     extra={"action": "store_unavailable"})
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), self.wcfg.poll_interval)
                    continue
                if asked and claimed >= asked:
                    continue  # every free slot it asked for is filled: more may be waiting
                await self._wait_for_work(seen)
        finally:
            for t in side:
                t.cancel()
            await asyncio.gather(*side, return_exceptions=True)
            if self._stop.is_set():
                await self._shutdown()

    async def close(self) -> None:
        """After the last ``run()``: wait for jobs that a crashed run left running, unregister."""
        if self.running:
            await self._shutdown()

    def _room(self) -> tuple[list[str], int]:
        """The kinds with a free slot, and how many jobs one claim may take within every one's limit."""
        kinds = self._free_kinds()
        if not kinds:
            return [], 0
        busy: dict[str, int] = {}
        for r in self.running.values():
            busy[r.job.kind] = busy.get(r.job.kind, 0) + 1
        room = min([self.wcfg.count - len(self.running)]
                   + [self.wcfg.concurrency.get(k, self.wcfg.count) - busy.get(k, 0) for k in kinds])
        return kinds, max(1, room)

    async def _claim_some(self) -> tuple[int, int]:
        """Fill free slots in one transaction: (jobs claimed, jobs asked for). Fewer than asked
        means the queue had no more for now, so the worker waits instead of claiming again at
        once (under load that second claim found nothing, a transaction per job for nothing):
        whatever becomes claimable later wakes it (:meth:`_wait_for_work`)."""
        kinds, room = self._room()
        self._held_back = True
        if not kinds:
            return 0, 0
        jobs = await self.store.claim_batch(self.id, kinds, self.wcfg.lease_seconds, room,
                                            global_limits=self.wcfg.global_limits)
        for job in jobs:
            self._start(job)
        self._held_back = len(jobs) >= room or len(kinds) < len(self.handlers)
        return len(jobs), room

    def _start(self, job: Job) -> None:
        running = Running(job)
        self.running[job.id] = running
        running.task = asyncio.create_task(self._execute(running), name=f"job-{job.id}")

    async def _wait_for_work(self, seen: int) -> None:
        """Until a job may be claimable (not on every write: progress and finishes make none),
        a slot of this worker frees while the last claim held kinds back, or the poll interval passes."""
        waiters = [asyncio.ensure_future(self.store.wait_work(self.wcfg.poll_interval, seen)),
                   asyncio.ensure_future(self._stop.wait())]
        if self._held_back:
            waiters.append(asyncio.ensure_future(self._slot_freed.wait()))
        kinds, room = self._room()
        if seen == self.store.work_seq:  # this daemon takes new work it has room for itself
            self.store.claimer_idle(kinds, room if kinds else 0)
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.store.claimer_idle((), 0)
            for w in waiters:
                w.cancel()
            self._slot_freed.clear()

    async def run_until_idle(self, timeout: float = 60.0) -> None:
        """Drain mode for tests and ``pressroom build``: run until no job is runnable or running."""
        side = asyncio.create_task(self._heartbeat())
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if (await self._claim_some())[0]:
                    continue
                if not self.running:
                    if not (await self._claim_some())[0]:
                        return
                    continue
                await asyncio.wait([r.task for r in self.running.values() if r.task], return_when=asyncio.FIRST_COMPLETED)
            raise TimeoutError("run_until_idle timed out")
        finally:
            side.cancel()
            await asyncio.gather(side, return_exceptions=True)

    async def _execute(self, running: Running) -> None:
        job = running.job
        extra = {"action": "start_job", "job_id": job.id, "attempt": job.attempt}
        self.log.info("job %s (%s) attempt %d", job.id, job.kind, job.attempt, extra=extra)
        handler = self.handlers[job.kind]
        ctx = self._context(running)
        try:
            try:
                outcome = await asyncio.wait_for(handler(job, ctx), self.wcfg.job_timeout)
            except TimeoutError:
                outcome = Outcome.failed("job_timeout", f"the job ran longer than {self.wcfg.job_timeout:g} s")
            except asyncio.CancelledError:
                if running.lost or self._stop.is_set():
                    raise
                outcome = Outcome.cancelled()
            except errors.StoreUnavailable as exc:  # the job could not record its progress: run it again
                self.log.warning("job %s: %s", job.id, exc, extra={**extra, "action": "store_unavailable"})
                outcome = Outcome.retry(exc.code, str(exc))
            except Exception as exc:
                self.log.exception("job %s crashed", job.id, extra={**extra, "action": "job_error"})
                outcome = Outcome.retry("stage_crashed", f"{type(exc).__name__}: {exc}")
            running.persisting = True
            await asyncio.shield(self._persist_until_stored(running, outcome, ctx))
        except asyncio.CancelledError:
            pass
        finally:
            self.running.pop(job.id, None)
            self._slot_freed.set()

    def _context(self, running: Running) -> JobContext:
        job_id = running.job.id
        return JobContext(store=self.store, config=self.config, worker_id=self.id,
                          should_cancel=lambda: running.cancel,
                          check_lease=lambda: self.store.holds_lease(job_id, self.id),
                          executor=self.executor, metrics=self.metrics, http=self.http)

    async def _persist(self, running: Running, outcome: Outcome, ctx: JobContext) -> None:
        job = running.job
        if running.lost or outcome.kind == OutcomeKind.LEASE_LOST:
            self.log.warning("job %s: lease lost, result discarded", job.id, extra={"action": "lease_lost", "job_id": job.id})
            return
        if outcome.kind == OutcomeKind.RETRY:
            delay = outcome.retry_in if outcome.retry_in is not None else backoff_delay(
                job.attempt, self.wcfg.backoff_base, self.wcfg.backoff_max)
            state = await self.store.retry_later(job.id, self.id, delay=delay, error_code=outcome.error_code or "stage_crashed",
                                                 error_message=outcome.error_message or "", error_stage=outcome.error_stage)
            self.log.info("job %s: %s (%s)", job.id, "retry" if state == JobStatus.PENDING else state, outcome.error_code,
                          extra={"action": "job_error_retry", "job_id": job.id})
            if state == JobStatus.FAILED:
                self._observe(running, JobStatus.FAILED)
            return
        status = outcome.job_status
        ok = await self.store.finish(job.id, self.id, status, result=outcome.result, error_code=outcome.error_code,
                                     error_message=outcome.error_message, error_stage=outcome.error_stage, dead=outcome.dead)
        self.log.info("job %s %s%s", job.id, status, f" ({outcome.error_code})" if outcome.error_code else "",
                      extra={"action": "job_success" if status == JobStatus.COMPLETED else "job_end", "job_id": job.id})
        if not ok:
            self.log.warning("job %s: lease lost before finish", job.id, extra={"action": "lease_lost", "job_id": job.id})
            return
        self._observe(running, status)
        for hook in self.after_finish:
            try:
                await hook(job, outcome, ctx)
            except Exception:
                self.log.exception("after-finish hook failed for job %s", job.id)

    def _observe(self, running: Running, status: JobStatus) -> None:
        """The attempt that ended the job: its run time, labelled with the job's final status."""
        if self.metrics is not None:
            self.metrics.job_duration.labels(running.job.kind, status).observe(time.monotonic() - running.started)

    async def _persist_until_stored(self, running: Running, outcome: Outcome, ctx: JobContext) -> None:
        """A result is not dropped because the store was locked for a while: keep trying (the
        writes are fenced by the lease, so a late one after losing it changes nothing)."""
        while True:
            try:
                await self._persist(running, outcome, ctx)
                return
            except errors.StoreUnavailable as exc:
                if self._stop.is_set():
                    raise
                self.log.warning("job %s: result not stored yet (%s); retrying", running.job.id, exc,
                                 extra={"action": "store_unavailable", "job_id": running.job.id})
                await asyncio.sleep(self.wcfg.poll_interval)

    async def _heartbeat(self) -> None:
        host = socket.gethostname()
        while True:
            for job_id, running in list(self.running.items()):
                if running.lost or running.persisting:
                    continue
                try:
                    renewed = await self.store.renew_lease(job_id, self.id, self.wcfg.lease_seconds)
                except errors.StoreUnavailable as exc:
                    self.log.warning("cannot renew leases: %s", exc, extra={"action": "store_unavailable"})
                    break
                if not renewed and not running.persisting:
                    running.lost = True
                    self.log.warning("job %s: lease lost, abandoning", job_id, extra={"action": "lease_lost", "job_id": job_id})
                    if running.task:
                        running.task.cancel()
            with contextlib.suppress(Exception):
                await self.store.worker_heartbeat(self.id, host, self._started_at, [
                    {"job_id": r.job.id, "kind": r.job.kind, "since": time.time() - (time.monotonic() - r.started)}
                    for r in self.running.values()])
            await asyncio.sleep(self.wcfg.heartbeat_seconds)

    async def _reaper(self) -> None:
        interval = max(0.5, min(self.wcfg.lease_seconds / 2, 15.0))
        while True:
            try:
                reaped = await self.store.reap_expired(
                    lambda attempt: backoff_delay(attempt, self.wcfg.backoff_base, self.wcfg.backoff_max))
            except errors.StoreUnavailable as exc:
                self.log.warning("cannot look for expired leases: %s", exc, extra={"action": "store_unavailable"})
                reaped = []
            for job_id in reaped:
                self.log.warning("job %s: lease expired, re-queued or failed", job_id, extra={"action": "reap", "job_id": job_id})
            await asyncio.sleep(interval)

    async def _cancel_watch(self) -> None:
        """Cancel requests may come from another daemon: look for them twice a second."""
        while True:
            await asyncio.sleep(0.5)
            ids_ = [j for j, r in self.running.items() if not r.cancel]
            try:
                requested = await self.store.cancel_requested(ids_)
            except errors.StoreUnavailable:
                continue  # reads are rarely refused; the claim loop reports the store's state
            for job_id in requested:
                if job_id in self.running:
                    self.running[job_id].cancel = True

    def request_cancel(self, job_id: str) -> None:
        """Fast path for a cancel that arrived through this daemon's API."""
        if job_id in self.running:
            self.running[job_id].cancel = True

    async def _shutdown(self) -> None:
        grace = 10.0
        if self.running:
            self.log.info("waiting up to %.0f s for %d running job(s)", grace, len(self.running))
            tasks = [r.task for r in self.running.values() if r.task]
            _, pending = await asyncio.wait(tasks, timeout=grace) if tasks else (set(), set())
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.store.worker_gone(self.id)
