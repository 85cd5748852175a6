"""The worker's side of the store: claim jobs with a lease, and write only while holding it.

After the claim, every write a worker makes names its lease (the fenced statements in
:mod:`pipeline.store.queries`, or an owner check inside the transaction): a worker whose lease
expired, so that the reaper gave its job back to the queue, gets False (or ``"lost"``) and can no
longer record progress, a stage or a result.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, func, select, text, update

from pipeline import errors
from pipeline.store import tables
from pipeline.store.base import Outbox
from pipeline.store.engine import Engines, known_schema
from pipeline.store.model import TERMINAL, Job, JobStatus
from pipeline.store.queries import (
    EVENT_INSERT,
    RENEW,
    SET_PROGRESS,
    STAGE_DONE,
    STAGE_INSERT,
    STAGE_NAMES,
    STAGE_PROGRESS,
    STAGE_RUNNING,
    TOUCH_ROW,
    TOUCH_STAGE_ROW,
    claim_statement,
    finish_statement,
    stage_row,
)
from pipeline.store.writes import WriteMethods

J = tables.jobs
KIND_CLAIM_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(:key))")
"""PostgreSQL: one claim at a time for a kind with a cluster-wide limit (released at commit)."""
RUNNING_OF_KIND = select(func.count()).select_from(J).where(J.c.kind == bindparam("kind"), J.c.status == JobStatus.PROCESSING)
"""Jobs of a kind running anywhere in the cluster."""
logger = logging.getLogger(__name__)


@dataclasses.dataclass
class _Finish:
    """One :meth:`LeaseMethods.finish` call waiting for the group commit."""

    job_id: str
    owner: str
    status: str
    result: dict[str, Any] | None
    error_code: str | None
    error_message: str | None
    error_stage: str | None
    dead: bool
    done: asyncio.Future[bool]


class LeaseMethods(WriteMethods):
    def __init__(self, engines: Engines, *, clock: Callable[[], float] = time.time, outbox: Outbox | None = None) -> None:
        super().__init__(engines, clock=clock, outbox=outbox)
        self._finishes: list[_Finish] = []
        self._flusher: asyncio.Task[None] | None = None
        self._warned_schema = False
        self._limited_kinds: set[str] = set()
        """Kinds claimed under a cluster-wide limit: ending one frees a place, which wakes claimers."""

    # -- claim, lease, progress ---------------------------------------------------------------

    async def claim_next(self, worker_id: str, kinds: Iterable[str], lease_seconds: float) -> Job | None:
        """Take the highest-priority, oldest runnable job of the given kinds, with a lease."""
        kinds = list(kinds)
        if not kinds:
            return None
        jobs = await self.claim_batch(worker_id, kinds, lease_seconds, 1)
        return jobs[0] if jobs else None

    async def claim_batch(self, worker_id: str, kinds: Iterable[str], lease_seconds: float, n: int,
                          global_limits: Mapping[str, int] | None = None) -> list[Job]:
        """Claim up to ``n`` jobs in one transaction (a worker with free slots fills them at once).

        ``global_limits`` caps kinds across every daemon sharing the store: the running jobs of
        such a kind are counted and claimed under a per-kind lock (a transaction-scoped advisory
        lock on PostgreSQL; SQLite's single writer already serialises claims), so two daemons
        cannot both see the last free place.
        """
        kinds = list(kinds)
        if not kinds or n < 1:
            return []
        if self.schema_ahead is not None:
            if not self._warned_schema:
                self._warned_schema = True
                logger.error("not claiming jobs: a newer daemon migrated the store to schema version %d and this one "
                             "knows up to %d; upgrade this daemon (docs/operations.md, Upgrades)",
                             self.schema_ahead, known_schema(), extra={"action": "schema_too_new"})
            return []
        now = self.clock()
        self._limited_kinds.update(global_limits or ())
        limited = {k: v for k, v in (global_limits or {}).items() if k in kinds}
        # Wake readers only, and only when something was claimed: a claim makes nothing claimable,
        # and an empty claim woke by another daemon's NOTIFY must not notify back, or idle daemons
        # would wake each other without end.
        async with self._write(notify=False) as conn:
            params = {"now": now, "owner": worker_id, "expires": now + lease_seconds}
            free = [k for k in kinds if k not in limited]
            rows = list((await conn.execute(claim_statement(self.dialect), {**params, "kinds": free, "n": n})).all()) if free else []
            for kind, limit in sorted(limited.items()):
                room = min(n - len(rows), await self._global_room(conn, kind, limit))
                if room > 0:
                    rows += (await conn.execute(claim_statement(self.dialect), {**params, "kinds": [kind], "n": room})).all()
            jobs = sorted((Job.from_row(r) for r in rows), key=lambda j: (-j.priority, j.created_at, j.id))
            if jobs:
                await conn.execute(EVENT_INSERT, [
                    {"job_id": j.id, "type": "status", "status": JobStatus.PROCESSING, "stage": None, "progress": None,
                     "data": {"worker": worker_id, "attempt": j.attempt}, "created_at": now} for j in jobs])
        if jobs:
            self._wake()
        return jobs

    async def _global_room(self, conn: Any, kind: str, limit: int) -> int:
        """How many more jobs of ``kind`` may start in the cluster; holds the kind's claim lock
        until the transaction ends."""
        if self.dialect == "postgresql":
            await conn.execute(KIND_CLAIM_LOCK, {"key": f"pressroom.claim.{kind}"})
        running = (await conn.execute(RUNNING_OF_KIND, {"kind": kind})).scalar_one()
        return max(0, limit - int(running))

    async def renew_lease(self, job_id: str, owner: str, lease_seconds: float) -> bool:
        now = self.clock()
        async with self._write(notify=False) as conn:
            res = await conn.execute(RENEW, {"job_id": job_id, "owner": owner, "expires": now + lease_seconds, "now": now})
            return bool(res.rowcount)

    async def holds_lease(self, job_id: str, owner: str) -> bool:
        """Fencing check: does ``owner`` still hold an unexpired lease on the job?"""
        async with self._read() as conn:
            row = (await conn.execute(select(J.c.lease_owner, J.c.lease_expires_at, J.c.status).where(J.c.id == job_id))).first()
        return bool(row and row.status == JobStatus.PROCESSING and row.lease_owner == owner
                    and (row.lease_expires_at or 0) > self.clock())

    async def cancel_requested(self, job_ids: Sequence[str]) -> set[str]:
        """Which of the running jobs a user asked to cancel (the worker stops them)."""
        if not job_ids:
            return set()
        async with self._read() as conn:
            rows = await conn.execute(select(J.c.id).where(J.c.id.in_(list(job_ids)), J.c.cancel_requested.is_(True)))
            return {r[0] for r in rows}

    async def set_progress(self, job_id: str, owner: str, stage: str | None, progress: float,
                           stage_progress: float | None = None, message: str | None = None) -> bool:
        now = self.clock()
        async with self._write() as conn:
            res = await conn.execute(SET_PROGRESS, {"job_id": job_id, "owner": owner, "stage": stage, "progress": progress,
                                                    "now": now})
            if not res.rowcount:
                return False
            if stage and stage_progress is not None:
                await conn.execute(STAGE_PROGRESS, {"jid": job_id, "stage": stage, "stage_progress": stage_progress})
            await self._event(conn, job_id, "progress", stage=stage, progress=progress,
                              data={"stage_progress": stage_progress, "message": message} if message or stage_progress is not None else None)
            return True

    async def stage_started(self, job_id: str, owner: str, name: str, position: int, pipeline: Sequence[str] = (),
                            emit: str | None = None, emit_extra: dict[str, Any] | None = None) -> bool:
        """Mark a stage running (and, on the first stage, record every planned stage as pending).

        ``emit`` runs the outbox for that event (:meth:`emit`) in the same transaction: one
        commit per stage write instead of two, and the event is stored if and only if the stage is.
        """
        now = self.clock()
        async with self._write() as conn:
            row = (await conn.execute(TOUCH_STAGE_ROW, {"job_id": job_id, "owner": owner, "stage": name, "now": now})).first()
            if row is None:
                return False
            existing = {r[0] for r in await conn.execute(STAGE_NAMES, {"job_id": job_id})}
            # a first start with the stage in the plan writes every stage row: the outbox gets them as written
            whole = not existing and name in pipeline
            rows = []
            for pos, planned in enumerate([*pipeline, name] if name not in pipeline else pipeline):
                if planned not in existing:
                    rows.append(stage_row(job_id, planned, position if planned == name else pos))
                    existing.add(planned)
            started = next((r for r in rows if r["name"] == name), None)
            if started is not None:  # new: written as running at once (no second statement for it)
                started.update(status="running", started_at=now)
            if rows:
                await conn.execute(STAGE_INSERT, rows)
            if started is None:
                await conn.execute(STAGE_RUNNING, {"jid": job_id, "stage": name, "now": now})
            await self._event(conn, job_id, "stage", stage=name, data={"status": "running"})
            if emit is not None:
                await self._emit_in(conn, job_id, emit, emit_extra, Job.from_row(row),
                                    [dict(r) for r in sorted(rows, key=lambda r: r["position"])] if whole else None)
            return True

    async def stage_finished(self, job_id: str, owner: str, name: str, *, status: str, counts: dict[str, int],
                             findings: list[dict[str, Any]], findings_total: int, artifacts: dict[str, str],
                             outputs: dict[str, Any], error_code: str | None = None, message: str | None = None,
                             emit: str | None = None, emit_extra: dict[str, Any] | None = None) -> bool:
        """Record a stage's result; ``emit`` as in :meth:`stage_started`."""
        now = self.clock()
        async with self._write() as conn:
            row = (await conn.execute(TOUCH_ROW, {"job_id": job_id, "owner": owner, "now": now})).first()
            if row is None:
                return False
            await conn.execute(STAGE_DONE, {
                "jid": job_id, "stage": name, "status": status, "now": now, "counts": counts, "findings": findings,
                "done_progress": 100.0 if status in ("passed", "degraded", "skipped") else None,
                "findings_total": findings_total, "artifacts": artifacts, "outputs": outputs, "error_code": error_code,
                "message": message})
            await self._event(conn, job_id, "stage", stage=name, data={"status": status, "counts": counts, "error_code": error_code})
            if emit is not None:
                await self._emit_in(conn, job_id, emit, emit_extra, Job.from_row(row))
            return True

    # -- finishing ----------------------------------------------------------------------------

    async def finish(self, job_id: str, owner: str, status: str, *, result: dict[str, Any] | None = None,
                     error_code: str | None = None, error_message: str | None = None, error_stage: str | None = None,
                     dead: bool = False) -> bool:
        """End a job the worker holds. False when the lease was lost: the result is discarded.

        Finishes issued in the same turn of the event loop share one transaction (group commit):
        a worker ending many short jobs pays for one commit, not one per job. Each keeps its own
        fencing check; if the shared transaction fails, each is retried on its own, except when
        the store is locked (then one at a time would each wait ``busy_timeout``: all fail together).
        """
        assert status in TERMINAL
        item = _Finish(job_id, owner, status, result, error_code, error_message, error_stage, dead,
                       asyncio.get_running_loop().create_future())
        self._finishes.append(item)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_finishes())
        return await asyncio.shield(item.done)

    async def _flush_finishes(self) -> None:
        await asyncio.sleep(0)  # let the other finishes of this loop turn join the batch
        while self._finishes:
            batch, self._finishes = self._finishes, []
            try:
                async with self._write() as conn:
                    outcomes = [await self._finish_in(conn, f) for f in batch]
            except errors.StoreUnavailable as exc:
                for f in batch:
                    if not f.done.done():
                        f.done.set_exception(exc)
                continue
            except Exception:
                for f in batch:
                    try:
                        async with self._write() as conn:
                            ok = await self._finish_in(conn, f)
                    except Exception as exc:
                        if not f.done.done():
                            f.done.set_exception(exc)
                    else:
                        if not f.done.done():
                            f.done.set_result(ok)
                continue
            for f, ok in zip(batch, outcomes, strict=True):
                if not f.done.done():
                    f.done.set_result(ok)

    async def _finish_in(self, conn: Any, f: _Finish) -> bool:
        params: dict[str, Any] = {"job_id": f.job_id, "owner": f.owner, "status": f.status, "now": self.clock(),
                                  "error_code": f.error_code, "error_message": f.error_message,
                                  "error_stage": f.error_stage, "dead": f.dead}
        if f.result is not None:
            params["result"] = f.result
        statement = finish_statement(f.result is not None, f.status == JobStatus.COMPLETED, self.outbox is not None)
        row = (await conn.execute(statement, params)).first()
        if row is None:
            return False
        await self._event(conn, f.job_id, "status", status=f.status,
                          data={"error_code": f.error_code, "stage": f.error_stage} if f.error_code else None)
        # the row as the finish wrote it (RETURNING): no read back for the fan-in and the outbox
        await self._fan_in(conn, f.job_id, f.status, parent=row.parent_id)
        await self._run_outbox(conn, f.job_id, f.status.lower(), Job.from_row(row) if self.outbox is not None else None)
        self._freed(row.kind)
        return True

    def _freed(self, kind: str) -> None:
        """A job left PROCESSING: under a cluster-wide limit for its kind, another may start now."""
        if kind in self._limited_kinds:
            self._mark_work(kind)

    async def retry_later(self, job_id: str, owner: str, *, delay: float, error_code: str, error_message: str,
                          error_stage: str | None = None) -> str:
        """A failed attempt: back to PENDING after ``delay``, or FAILED (dead) after the last one."""
        now = self.clock()
        async with self._write() as conn:
            job = await self._get(conn, job_id)
            if job is None or job.lease_owner != owner or job.status != JobStatus.PROCESSING:
                return "lost"
            moved = await self._retry_or_fail(conn, job, now, delay, error_code, error_message, error_stage)
            return "lost" if moved is None else moved

    async def _retry_or_fail(self, conn: Any, job: Job, now: float, delay: float, error_code: str,
                             error_message: str, error_stage: str | None, *fence: Any) -> JobStatus | None:
        """Fenced like every worker write: the row must still be the attempt ``job`` was read as
        (PROCESSING, same lease owner, plus ``fence``). On PostgreSQL two daemons can read the same
        expired row; without the fence the slower one would put a job back in the queue that the
        other had already handed to a new worker, or that had since COMPLETED, and it would run
        (and complete) twice. None when the row moved on."""
        where = (J.c.id == job.id, J.c.status == JobStatus.PROCESSING, J.c.lease_owner == job.lease_owner, *fence)
        if job.attempt >= job.max_attempts:
            res = await conn.execute(update(J).where(*where).values(
                status=JobStatus.FAILED, dead=True, finished_at=now, updated_at=now, lease_owner=None, lease_expires_at=None,
                dedupe_key=None, error_code=error_code, error_message=error_message, error_stage=error_stage))
            if not res.rowcount:
                return None
            await self._event(conn, job.id, "status", status=JobStatus.FAILED, data={"error_code": error_code, "dead": True})
            await self._fan_in(conn, job.id, JobStatus.FAILED)
            await self._run_outbox(conn, job.id, "failed")
            self._freed(job.kind)
            return JobStatus.FAILED
        res = await conn.execute(update(J).where(*where).values(
            status=JobStatus.PENDING, run_after=now + delay, updated_at=now, lease_owner=None, lease_expires_at=None,
            error_code=error_code, error_message=error_message, error_stage=error_stage))
        if not res.rowcount:
            return None
        await self._event(conn, job.id, "status", status=JobStatus.PENDING,
                          data={"retry_in": round(delay, 3), "error_code": error_code, "attempt": job.attempt})
        self._freed(job.kind)
        self._mark_work_later(delay, job.kind)
        return JobStatus.PENDING

    async def reap_expired(self, backoff: Callable[[int], float]) -> list[str]:
        """Return jobs whose lease expired (their daemon died) to the queue, or fail them for good."""
        await self.sync_cluster()
        if self.schema_ahead is not None:
            return []  # the newer daemons reap; this one may not understand the rows it would write
        now = self.clock()
        async with self._write(notify=False) as conn:
            rows = (await conn.execute(select(J).where(J.c.status == JobStatus.PROCESSING, J.c.lease_expires_at < now))).all()
            reaped = []
            for row in rows:
                job = Job.from_row(row)
                moved = await self._retry_or_fail(conn, job, now, backoff(job.attempt), "lease_expired",
                                                  f"the worker {job.lease_owner} stopped renewing its lease", job.stage,
                                                  J.c.lease_expires_at < now)
                if moved is not None:  # another daemon may have reaped it (or its owner renewed) since the read
                    reaped.append(job.id)
        if reaped:
            self._wake()  # readers; claimers wake when the retries fall due (marked in the transaction)
        return reaped
