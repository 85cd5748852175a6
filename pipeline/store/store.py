"""``Store``: jobs, events, stage results, schedules and refs, one transaction per method.

Methods are named for what callers want (``submit``, ``claim_next``, ``finish``...). Every state
change records an event row in the same transaction, and terminal transitions run the outbox
hook there too, so a notification is stored if and only if the transition is.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import functools
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from pipeline import errors
from pipeline.store import ids, sessions, tables
from pipeline.store.engine import BUSY_TIMEOUT, Engines, create_engines, migrate
from pipeline.store.model import TERMINAL, Job, JobSpec, SubmitResult, Transition

logger = logging.getLogger(__name__)

J = tables.jobs
E = tables.events
S = tables.stage_runs

Outbox = Callable[[Transition], list[JobSpec]]


# -- hot-path statements, built once ---------------------------------------------------------
# Building a statement and its cache key costs more CPU than SQLite takes to run it, so the
# statements every job runs through are constructed once with bind parameters.

EVENT_INSERT = insert(E)
JOB_INSERT = insert(J)
BY_IDEMPOTENCY_KEY = select(J).where(J.c.idempotency_key == bindparam("key"))
BY_DEDUPE_KEY = select(J).where(J.c.dedupe_key == bindparam("key"))
IDEMPOTENCY_REF_PREFIX = "idempotency:"
"""Refs ``idempotency:<key>`` -> ``{"job_id", "request_hash"}``: keys whose request deduped onto a job."""
IDEMPOTENCY_REF = select(tables.refs.c.value).where(tables.refs.c.key == bindparam("key"))
IDEMPOTENCY_REF_INSERT = insert(tables.refs)
PENDING_OF_BRANCH = select(J.c.id).where(J.c.kind == bindparam("kind"), J.c.supersede_key == bindparam("key"),
                                         J.c.status == "PENDING")
GET_JOB = select(J).where(J.c.id == bindparam("job_id"))
PARENT_OF = select(J.c.parent_id).where(J.c.id == bindparam("job_id"))
_FENCED = (J.c.id == bindparam("job_id"), J.c.lease_owner == bindparam("owner"), J.c.status == "PROCESSING")
TOUCH_STAGE = update(J).where(*_FENCED).values(stage=bindparam("stage"), updated_at=bindparam("now"))
TOUCH = update(J).where(*_FENCED).values(updated_at=bindparam("now"))
SET_PROGRESS = update(J).where(*_FENCED).values(stage=bindparam("stage"), progress=bindparam("progress"),
                                                updated_at=bindparam("now"))
STAGE_NAMES = select(S.c.name).where(S.c.job_id == bindparam("job_id"))
STAGE_INSERT = insert(S)
_THIS_STAGE = (S.c.job_id == bindparam("jid"), S.c.name == bindparam("stage"))
STAGE_RUNNING = update(S).where(*_THIS_STAGE).values(status="running", progress=0.0, started_at=bindparam("now"),
                                                     finished_at=None, error_code=None, message=None)
STAGE_PROGRESS = update(S).where(*_THIS_STAGE).values(progress=bindparam("stage_progress"))
STAGE_DONE = update(S).where(*_THIS_STAGE).values(
    status=bindparam("status"), finished_at=bindparam("now"), progress=func.coalesce(bindparam("done_progress"), S.c.progress),
    counts=bindparam("counts", type_=S.c.counts.type), findings=bindparam("findings", type_=S.c.findings.type),
    findings_total=bindparam("findings_total"), artifacts=bindparam("artifacts", type_=S.c.artifacts.type),
    outputs=bindparam("outputs", type_=S.c.outputs.type), error_code=bindparam("error_code"), message=bindparam("message"))
RENEW = (update(J).where(J.c.id == bindparam("job_id"), J.c.lease_owner == bindparam("owner"), J.c.status == "PROCESSING")
         .values(lease_expires_at=bindparam("expires"), updated_at=bindparam("now")))


@functools.cache
def claim_statement(dialect: str) -> Any:
    """``UPDATE … WHERE id IN (the best N runnable jobs) RETURNING *``: SKIP LOCKED on PostgreSQL."""
    pick = (select(J.c.id).where(J.c.status == "PENDING", J.c.run_after <= bindparam("now"),
                                 J.c.kind.in_(bindparam("kinds", expanding=True)))
            .order_by(J.c.priority.desc(), J.c.created_at, J.c.id).limit(bindparam("n")))
    if dialect == "postgresql":
        # A materialised CTE: as a plain IN-subquery PostgreSQL may re-run the SKIP LOCKED pick
        # for each row it scans, and then claim more (and other) jobs than asked for.
        cte = pick.with_for_update(skip_locked=True).cte("pick").prefix_with("MATERIALIZED")
        chosen: Any = select(cte.c.id)
    else:
        chosen = pick.scalar_subquery()
    return (update(J).where(J.c.id.in_(chosen), J.c.status == "PENDING")
            .values(status="PROCESSING", lease_owner=bindparam("owner"), lease_expires_at=bindparam("expires"),
                    attempt=J.c.attempt + 1, started_at=func.coalesce(J.c.started_at, bindparam("now")),
                    updated_at=bindparam("now"))
            .returning(*J.c))


@functools.cache
def finish_statement(with_result: bool, completed: bool) -> Any:
    """End a job, fenced by its lease owner."""
    values: dict[str, Any] = dict(status=bindparam("status"), finished_at=bindparam("now"), updated_at=bindparam("now"),
                                  lease_owner=None, lease_expires_at=None, error_code=bindparam("error_code"),
                                  error_message=bindparam("error_message"), error_stage=bindparam("error_stage"),
                                  dead=bindparam("dead"))
    if completed:
        values["progress"] = 100.0
    else:
        values["dedupe_key"] = None
    if with_result:
        values["result"] = bindparam("result", type_=J.c.result.type)
    return (update(J).where(J.c.id == bindparam("job_id"), J.c.lease_owner == bindparam("owner"), J.c.status == "PROCESSING")
            .values(**values))


# The store raises the API's own error types: their codes are the stable ones clients see.
JobNotFound = errors.JobNotFound
InvalidTransition = errors.InvalidTransition


class IdempotencyConflict(errors.IdempotencyConflict):
    """The Idempotency-Key was used before with a different request body (``job`` is the first)."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"Idempotency-Key was already used for job {job.id} with a different request")
        self.job = job


class InvalidCursor(errors.BadRequest, ValueError):
    """A pagination cursor that this store did not hand out."""


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        created, sep, last_id = base64.urlsafe_b64decode(cursor.encode("utf-8")).decode("utf-8").partition("|")
        if not sep:
            raise ValueError(cursor)
        return float(created), last_id
    except (ValueError, UnicodeError) as exc:
        raise InvalidCursor("the cursor is not valid; use the `next` value of the previous page") from exc


@dataclasses.dataclass
class _Finish:
    job_id: str
    owner: str
    status: str
    result: dict[str, Any] | None
    error_code: str | None
    error_message: str | None
    error_stage: str | None
    dead: bool
    done: asyncio.Future[bool]


def _stage_row(job_id: str, name: str, position: int) -> dict[str, Any]:
    return {"job_id": job_id, "name": name, "position": position, "status": "pending", "progress": 0.0,
            "started_at": None, "finished_at": None, "counts": None, "findings": None, "findings_total": 0,
            "artifacts": None, "outputs": None, "error_code": None, "message": None}


class Store(sessions.SessionMethods):
    def __init__(self, engines: Engines, *, clock: Callable[[], float] = time.time, outbox: Outbox | None = None) -> None:
        self.engines = engines
        self.clock = clock
        self.outbox = outbox
        self._generation = 0
        self._changed: asyncio.Event | None = None
        self._finishes: list[_Finish] = []
        self._flusher: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str, *, clock: Callable[[], float] = time.time, outbox: Outbox | None = None,
                   busy_timeout: float = BUSY_TIMEOUT) -> Store:
        store = cls(create_engines(url, busy_timeout=busy_timeout), clock=clock, outbox=outbox)
        await migrate(store.engines)
        return store

    async def close(self) -> None:
        await self.engines.dispose()

    @property
    def dialect(self) -> str:
        return self.engines.dialect

    # -- change notification (in-process; PostgreSQL adds LISTEN/NOTIFY on top) -------------

    def notify_changed(self) -> None:
        self._generation += 1
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def wait_changed(self, timeout: float) -> bool:
        """Wait until something was written (by this process) or ``timeout`` passes."""
        if self._changed is None:
            self._changed = asyncio.Event()
        ev = self._changed
        try:
            await asyncio.wait_for(ev.wait(), timeout)
            return True
        except TimeoutError:
            return False

    @asynccontextmanager
    async def _write(self, notify: bool = True) -> Any:
        async with self.engines.begin() as conn:
            yield conn
        if notify:
            self.notify_changed()

    @asynccontextmanager
    async def _read(self) -> Any:
        async with self.engines.connect() as conn:
            yield conn

    async def _event(self, conn: Any, job_id: str, type_: str, *, status: str | None = None,
                     stage: str | None = None, progress: float | None = None, data: dict[str, Any] | None = None) -> None:
        await conn.execute(EVENT_INSERT, {"job_id": job_id, "type": type_, "status": status, "stage": stage,
                                          "progress": progress, "data": data, "created_at": self.clock()})

    async def _get(self, conn: Any, job_id: str) -> Job | None:
        row = (await conn.execute(GET_JOB, {"job_id": job_id})).first()
        return Job.from_row(row) if row else None

    # -- submit -------------------------------------------------------------------------------

    async def submit(self, spec: JobSpec) -> SubmitResult:
        """Store a job (or find the one it duplicates) and return at once; no work has started."""
        for attempt in range(3):
            try:
                return await self._submit(spec)
            except IntegrityError:
                # A concurrent submit (another daemon) won the unique key: read theirs.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _submit(self, spec: JobSpec) -> SubmitResult:
        now = self.clock()
        async with self._write() as conn:
            if spec.idempotency_key:
                found = await self._by_idempotency_key(conn, spec.idempotency_key)
                if found:
                    job, request_hash = found
                    if spec.request_hash and request_hash and request_hash != spec.request_hash:
                        raise IdempotencyConflict(job)
                    return SubmitResult(job, created=False)
            dedupe_key = None
            if spec.dedupe and spec.source_hash:
                dedupe_key = f"{spec.kind}:{spec.target or ''}:{spec.source_hash}"
                row = (await conn.execute(BY_DEDUPE_KEY, {"key": dedupe_key})).first()
                if row:
                    existing = Job.from_row(row)
                    if spec.idempotency_key:
                        # The key now names this job too: a retry with another body is a 409.
                        await conn.execute(IDEMPOTENCY_REF_INSERT, {
                            "key": IDEMPOTENCY_REF_PREFIX + spec.idempotency_key, "updated_at": now,
                            "value": json.dumps({"job_id": existing.id, "request_hash": spec.request_hash})})
                    return SubmitResult(existing, created=False)
            superseded: list[str] = []
            if spec.supersede_key:
                old = (await conn.execute(PENDING_OF_BRANCH, {"kind": spec.kind, "key": spec.supersede_key})).scalars().all()
                job_id_new: str = spec.job_id or ids.new_id(spec.kind)
                for old_id in old:
                    await conn.execute(update(J).where(J.c.id == old_id, J.c.status == "PENDING").values(
                        status="CANCELLED", finished_at=now, updated_at=now, dedupe_key=None,
                        error_code="superseded", error_message=f"superseded by {job_id_new}"))
                    await self._event(conn, old_id, "status", status="CANCELLED", data={"reason": "superseded", "by": job_id_new})
                    superseded.append(old_id)
                    await self._run_outbox(conn, old_id, "cancelled")
            else:
                job_id_new = spec.job_id or ids.new_id(spec.kind)
            values = dict(
                id=job_id_new, kind=spec.kind, status="PENDING", progress=0.0, priority=spec.priority,
                attempt=0, max_attempts=spec.max_attempts, parent_id=spec.parent_id,
                idempotency_key=spec.idempotency_key, request_hash=spec.request_hash, dedupe_key=dedupe_key,
                source_hash=spec.source_hash, source_path=spec.source_path, supersede_key=spec.supersede_key,
                target=spec.target, trigger=spec.trigger, payload=spec.payload, run_after=spec.run_after,
                cancel_requested=False, dead=False, read_token=ids.new_token(), created_at=now, updated_at=now,
                children_total=0, children_done=0, children_failed=0, pruned=False,
            )
            await conn.execute(JOB_INSERT, {c.name: values.get(c.name) for c in J.c})
            await self._event(conn, job_id_new, "status", status="PENDING", data={"trigger": spec.trigger.get("kind")})
            if spec.parent_id:
                await conn.execute(update(J).where(J.c.id == spec.parent_id).values(children_total=J.c.children_total + 1))
            created = await self._get(conn, job_id_new)
            assert created is not None
            return SubmitResult(created, created=True, superseded=superseded)

    async def _by_idempotency_key(self, conn: Any, key: str) -> tuple[Job, str | None] | None:
        """The job an Idempotency-Key names, and the request hash it was first used with.

        A key is stored on the job it created (``jobs.idempotency_key``) or, when its request was
        folded into an existing job by content dedupe, as a ref naming that job.
        """
        row = (await conn.execute(BY_IDEMPOTENCY_KEY, {"key": key})).first()
        if row:
            job = Job.from_row(row)
            return job, job.request_hash
        value = (await conn.execute(IDEMPOTENCY_REF, {"key": IDEMPOTENCY_REF_PREFIX + key})).scalar()
        if value is None:
            return None
        doc = json.loads(value)
        job_ = await self._get(conn, doc["job_id"])
        return (job_, doc.get("request_hash")) if job_ is not None else None

    async def submit_many(self, specs: Sequence[JobSpec]) -> list[Job]:
        return [(await self.submit(s)).job for s in specs]

    # -- claim, lease, progress ---------------------------------------------------------------

    async def claim_next(self, worker_id: str, kinds: Iterable[str], lease_seconds: float) -> Job | None:
        """Take the highest-priority, oldest runnable job of the given kinds, with a lease."""
        kinds = list(kinds)
        if not kinds:
            return None
        jobs = await self.claim_batch(worker_id, kinds, lease_seconds, 1)
        return jobs[0] if jobs else None

    async def claim_batch(self, worker_id: str, kinds: Iterable[str], lease_seconds: float, n: int) -> list[Job]:
        """Claim up to ``n`` jobs in one transaction (a worker with free slots fills them at once)."""
        kinds = list(kinds)
        if not kinds or n < 1:
            return []
        now = self.clock()
        async with self._write() as conn:
            rows = (await conn.execute(claim_statement(self.dialect), {
                "now": now, "kinds": kinds, "owner": worker_id, "expires": now + lease_seconds, "n": n})).all()
            jobs = sorted((Job.from_row(r) for r in rows), key=lambda j: (-j.priority, j.created_at, j.id))
            if jobs:
                await conn.execute(EVENT_INSERT, [
                    {"job_id": j.id, "type": "status", "status": "PROCESSING", "stage": None, "progress": None,
                     "data": {"worker": worker_id, "attempt": j.attempt}, "created_at": now} for j in jobs])
            return jobs

    async def renew_lease(self, job_id: str, owner: str, lease_seconds: float) -> bool:
        now = self.clock()
        async with self._write(notify=False) as conn:
            res = await conn.execute(RENEW, {"job_id": job_id, "owner": owner, "expires": now + lease_seconds, "now": now})
            return bool(res.rowcount)

    async def holds_lease(self, job_id: str, owner: str) -> bool:
        """Fencing check: does ``owner`` still hold an unexpired lease on the job?"""
        async with self._read() as conn:
            row = (await conn.execute(select(J.c.lease_owner, J.c.lease_expires_at, J.c.status).where(J.c.id == job_id))).first()
        return bool(row and row.status == "PROCESSING" and row.lease_owner == owner
                    and (row.lease_expires_at or 0) > self.clock())

    async def cancel_requested(self, job_ids: Sequence[str]) -> set[str]:
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

    async def stage_started(self, job_id: str, owner: str, name: str, position: int, pipeline: Sequence[str] = ()) -> bool:
        """Mark a stage running (and, on the first stage, record every planned stage as pending)."""
        now = self.clock()
        async with self._write() as conn:
            res = await conn.execute(TOUCH_STAGE, {"job_id": job_id, "owner": owner, "stage": name, "now": now})
            if not res.rowcount:
                return False
            existing = {r[0] for r in await conn.execute(STAGE_NAMES, {"job_id": job_id})}
            rows = []
            for pos, planned in enumerate([*pipeline, name] if name not in pipeline else pipeline):
                if planned not in existing:
                    rows.append(_stage_row(job_id, planned, position if planned == name else pos))
                    existing.add(planned)
            if rows:
                await conn.execute(STAGE_INSERT, rows)
            await conn.execute(STAGE_RUNNING, {"jid": job_id, "stage": name, "now": now})
            await self._event(conn, job_id, "stage", stage=name, data={"status": "running"})
            return True

    async def stage_finished(self, job_id: str, owner: str, name: str, *, status: str, counts: dict[str, int],
                             findings: list[dict[str, Any]], findings_total: int, artifacts: dict[str, str],
                             outputs: dict[str, Any], error_code: str | None = None, message: str | None = None) -> bool:
        now = self.clock()
        async with self._write() as conn:
            res = await conn.execute(TOUCH, {"job_id": job_id, "owner": owner, "now": now})
            if not res.rowcount:
                return False
            await conn.execute(STAGE_DONE, {
                "jid": job_id, "stage": name, "status": status, "now": now, "counts": counts, "findings": findings,
                "done_progress": 100.0 if status in ("passed", "degraded", "skipped") else None,
                "findings_total": findings_total, "artifacts": artifacts, "outputs": outputs, "error_code": error_code,
                "message": message})
            await self._event(conn, job_id, "stage", stage=name, data={"status": status, "counts": counts, "error_code": error_code})
            return True

    async def skip_stages(self, job_id: str, names: Sequence[str], reason: str) -> None:
        async with self._write() as conn:
            await conn.execute(update(S).where(S.c.job_id == job_id, S.c.name.in_(list(names)), S.c.status.in_(["pending", "running"]))
                               .values(status="skipped", message=reason))

    # -- finishing ----------------------------------------------------------------------------

    async def finish(self, job_id: str, owner: str, status: str, *, result: dict[str, Any] | None = None,
                     error_code: str | None = None, error_message: str | None = None, error_stage: str | None = None,
                     dead: bool = False) -> bool:
        """End a job the worker holds. False when the lease was lost: the result is discarded.

        Finishes issued in the same turn of the event loop share one transaction (group commit):
        a worker ending many short jobs pays for one commit, not one per job. Each keeps its own
        fencing check; if the shared transaction fails, each is retried on its own.
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
            except errors.StoreUnavailable as exc:  # locked: one at a time would wait busy_timeout each
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
        res = await conn.execute(finish_statement(f.result is not None, f.status == "COMPLETED"), params)
        if not res.rowcount:
            return False
        await self._event(conn, f.job_id, "status", status=f.status,
                          data={"error_code": f.error_code, "stage": f.error_stage} if f.error_code else None)
        await self._fan_in(conn, f.job_id, f.status)
        await self._run_outbox(conn, f.job_id, f.status.lower())
        return True

    async def retry_later(self, job_id: str, owner: str, *, delay: float, error_code: str, error_message: str,
                          error_stage: str | None = None) -> str:
        """A failed attempt: back to PENDING after ``delay``, or FAILED (dead) after the last one."""
        now = self.clock()
        async with self._write() as conn:
            job = await self._get(conn, job_id)
            if job is None or job.lease_owner != owner or job.status != "PROCESSING":
                return "lost"
            return await self._retry_or_fail(conn, job, now, delay, error_code, error_message, error_stage)

    async def _retry_or_fail(self, conn: Any, job: Job, now: float, delay: float, error_code: str,
                             error_message: str, error_stage: str | None) -> str:
        if job.attempt >= job.max_attempts:
            await conn.execute(update(J).where(J.c.id == job.id).values(
                status="FAILED", dead=True, finished_at=now, updated_at=now, lease_owner=None, lease_expires_at=None,
                dedupe_key=None, error_code=error_code, error_message=error_message, error_stage=error_stage))
            await self._event(conn, job.id, "status", status="FAILED", data={"error_code": error_code, "dead": True})
            await self._fan_in(conn, job.id, "FAILED")
            await self._run_outbox(conn, job.id, "failed")
            return "FAILED"
        await conn.execute(update(J).where(J.c.id == job.id).values(
            status="PENDING", run_after=now + delay, updated_at=now, lease_owner=None, lease_expires_at=None,
            error_code=error_code, error_message=error_message, error_stage=error_stage))
        await self._event(conn, job.id, "status", status="PENDING",
                          data={"retry_in": round(delay, 3), "error_code": error_code, "attempt": job.attempt})
        return "PENDING"

    async def reap_expired(self, backoff: Callable[[int], float]) -> list[str]:
        """Return jobs whose lease expired (their daemon died) to the queue, or fail them for good."""
        now = self.clock()
        async with self._write() as conn:
            rows = (await conn.execute(select(J).where(J.c.status == "PROCESSING", J.c.lease_expires_at < now))).all()
            reaped = []
            for row in rows:
                job = Job.from_row(row)
                await self._retry_or_fail(conn, job, now, backoff(job.attempt), "lease_expired",
                                          f"the worker {job.lease_owner} stopped renewing its lease", job.stage)
                reaped.append(job.id)
            return reaped

    async def _fan_in(self, conn: Any, job_id: str, status: str) -> None:
        parent = (await conn.execute(PARENT_OF, {"job_id": job_id})).scalar()
        if parent:
            values: dict[str, Any] = {"children_done": J.c.children_done + 1}
            if status != "COMPLETED":
                values["children_failed"] = J.c.children_failed + 1
            await conn.execute(update(J).where(J.c.id == parent).values(**values))

    async def _run_outbox(self, conn: Any, job_id: str, outcome: str) -> None:
        if self.outbox is None:
            return
        job = await self._get(conn, job_id)
        if job is None:
            return
        previous = None
        if job.supersede_key is not None or job.kind == "build":
            previous = (await conn.execute(
                select(J.c.status).where(J.c.kind == job.kind, J.c.supersede_key == job.supersede_key,
                                         J.c.id != job.id, J.c.status.in_(["COMPLETED", "FAILED"]),
                                         J.c.finished_at.is_not(None))
                .order_by(J.c.finished_at.desc()).limit(1))).scalar()
        stages = [dict(r._mapping) for r in await conn.execute(select(S).where(S.c.job_id == job_id).order_by(S.c.position))]
        specs = self.outbox(Transition(job=job, stages=stages, previous_status=previous, event=f"{job.kind}.{outcome}"))
        for spec in specs:
            await self._insert_child(conn, spec)

    async def emit(self, job_id: str, event: str, extra: dict[str, Any] | None = None) -> None:
        """Run the outbox for a non-terminal event (``build.started``, ``review.requested``)."""
        async with self._write() as conn:
            job = await self._get(conn, job_id)
            if job is None or self.outbox is None:
                return
            stages = [dict(r._mapping) for r in await conn.execute(select(S).where(S.c.job_id == job_id).order_by(S.c.position))]
            for spec in self.outbox(Transition(job=job, stages=stages, previous_status=None, event=event, extra=extra)):
                await self._insert_child(conn, spec)

    async def _insert_child(self, conn: Any, spec: JobSpec) -> None:
        now = self.clock()
        if spec.idempotency_key:
            exists = (await conn.execute(select(J.c.id).where(J.c.idempotency_key == spec.idempotency_key))).first()
            if exists:
                return
        job_id = spec.job_id or ids.new_id(spec.kind)
        await conn.execute(insert(J).values(
            id=job_id, kind=spec.kind, status="PENDING", progress=0.0, priority=spec.priority, attempt=0,
            max_attempts=spec.max_attempts, parent_id=None, idempotency_key=spec.idempotency_key,
            target=spec.target, trigger=spec.trigger, payload=spec.payload, run_after=spec.run_after,
            cancel_requested=False, dead=False, created_at=now, updated_at=now, children_total=0,
            children_done=0, children_failed=0, pruned=False, supersede_key=spec.supersede_key))
        await self._event(conn, job_id, "status", status="PENDING", data={"caused_by": spec.trigger.get("job_id")})

    # -- user actions -------------------------------------------------------------------------

    async def cancel(self, job_id: str, reason: str = "cancelled by user") -> Job:
        now = self.clock()
        async with self._write() as conn:
            job = await self._get(conn, job_id)
            if job is None:
                raise JobNotFound(f"no job has the ID {job_id!r}")
            if job.status == "PENDING":
                await conn.execute(update(J).where(J.c.id == job_id, J.c.status == "PENDING").values(
                    status="CANCELLED", finished_at=now, updated_at=now, dedupe_key=None,
                    error_code="cancelled", error_message=reason))
                await self._event(conn, job_id, "status", status="CANCELLED", data={"reason": reason})
                await self._fan_in(conn, job_id, "CANCELLED")
                await self._run_outbox(conn, job_id, "cancelled")
            elif job.status == "PROCESSING":
                await conn.execute(update(J).where(J.c.id == job_id).values(cancel_requested=True, updated_at=now))
                await self._event(conn, job_id, "cancel_requested", data={"reason": reason})
            else:
                raise InvalidTransition(f"job {job_id} is {job.status} and cannot be cancelled")
            job = await self._get(conn, job_id)
            assert job is not None
            return job

    async def retry(self, job_id: str) -> Job:
        """Put a FAILED job back in the queue with a fresh set of attempts."""
        now = self.clock()
        async with self._write() as conn:
            job = await self._get(conn, job_id)
            if job is None:
                raise JobNotFound(f"no job has the ID {job_id!r}")
            if job.status != "FAILED":
                raise InvalidTransition(f"job {job_id} is {job.status}; only FAILED jobs can be retried")
            await conn.execute(update(J).where(J.c.id == job_id).values(
                status="PENDING", dead=False, attempt=0, run_after=0.0, finished_at=None, updated_at=now,
                error_code=None, error_message=None, error_stage=None, cancel_requested=False, progress=0.0))
            await conn.execute(update(S).where(S.c.job_id == job_id).values(status="pending", progress=0.0))
            await self._event(conn, job_id, "status", status="PENDING", data={"retry": True})
            job = await self._get(conn, job_id)
            assert job is not None
            return job

    async def update_result(self, job_id: str, patch: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]],
                            expect: Callable[[dict[str, Any]], bool] | None = None) -> Job | None:
        """Merge keys into a job's result (review state, promotion links) outside a lease.

        With ``expect``, a compare-and-set: the patch applies only when ``expect(result)`` holds
        inside the transaction (rows locked on PostgreSQL), else None is returned.
        """
        async with self._write() as conn:
            q = select(J).where(J.c.id == job_id)
            if self.dialect == "postgresql":
                q = q.with_for_update()
            row = (await conn.execute(q)).first()
            if row is None:
                raise JobNotFound(f"no job has the ID {job_id!r}")
            job = Job.from_row(row)
            if expect is not None and not expect(dict(job.result or {})):
                return None
            result = dict(job.result or {})
            if callable(patch):
                patch = patch(dict(result))
            result.update(patch)
            await conn.execute(update(J).where(J.c.id == job_id).values(result=result, updated_at=self.clock()))
            await self._event(conn, job_id, "result", data={"keys": sorted(patch)})
            return await self._get(conn, job_id)

    # -- reads --------------------------------------------------------------------------------

    async def get(self, job_id: str) -> Job:
        async with self._read() as conn:
            job = await self._get(conn, job_id)
        if job is None:
            raise JobNotFound(f"no job has the ID {job_id!r}")
        return job

    async def job_of_read_token(self, token: str) -> str | None:
        """The job a per-job read token belongs to, so the API can tell "wrong job" (403) from "no token" (401)."""
        async with self._read() as conn:
            return (await conn.execute(select(J.c.id).where(J.c.read_token == token).limit(1))).scalar()

    async def stages(self, job_id: str) -> list[dict[str, Any]]:
        async with self._read() as conn:
            rows = await conn.execute(select(S).where(S.c.job_id == job_id).order_by(S.c.position))
            return [dict(r._mapping) for r in rows]

    async def children(self, job_id: str) -> list[Job]:
        async with self._read() as conn:
            rows = await conn.execute(select(J).where(J.c.parent_id == job_id).order_by(J.c.created_at))
            return [Job.from_row(r) for r in rows]

    async def list_jobs(self, *, status: str | None = None, kind: str | None = None, branch: str | None = None,
                        trigger: str | None = None, dead: bool | None = None, review: str | None = None,
                        limit: int = 50, cursor: str | None = None) -> tuple[list[Job], str | None]:
        """Newest first, keyset-paginated on (created_at, id) so deep pages stay cheap."""
        q = select(J)
        if status:
            q = q.where(J.c.status.in_(status.split(",")))
        if kind:
            q = q.where(J.c.kind.in_(kind.split(",")))
        if branch:
            q = q.where(J.c.supersede_key == branch)
        if dead is not None:
            q = q.where(J.c.dead.is_(dead))
        if trigger:
            q = q.where(func.json_extract(J.c.trigger, "$.kind") == trigger if self.dialect == "sqlite"
                        else J.c.trigger["kind"].as_string() == trigger)
        if review:
            q = q.where(func.json_extract(J.c.result, "$.review.state") == review if self.dialect == "sqlite"
                        else J.c.result["review"]["state"].as_string() == review)
        if cursor:
            c, last_id = decode_cursor(cursor)
            q = q.where(or_(J.c.created_at < c, and_(J.c.created_at == c, J.c.id < last_id)))
        q = q.order_by(J.c.created_at.desc(), J.c.id.desc()).limit(limit + 1)
        async with self._read() as conn:
            jobs = [Job.from_row(r) for r in await conn.execute(q)]
        nxt = None
        if len(jobs) > limit:
            jobs = jobs[:limit]
            last = jobs[-1]
            nxt = base64.urlsafe_b64encode(f"{last.created_at!r}|{last.id}".encode()).decode()
        return jobs, nxt

    async def events_after(self, job_id: str, after: int = 0, limit: int = 500) -> list[dict[str, Any]]:
        async with self._read() as conn:
            rows = await conn.execute(select(E).where(E.c.job_id == job_id, E.c.id > after).order_by(E.c.id).limit(limit))
            return [dict(r._mapping) for r in rows]

    async def queue_position(self, job: Job) -> int | None:
        """1-based place among runnable PENDING jobs of any kind, in claim order."""
        if job.status != "PENDING":
            return None
        async with self._read() as conn:
            ahead = (await conn.execute(select(func.count()).select_from(J).where(
                J.c.status == "PENDING",
                or_(J.c.priority > job.priority,
                    and_(J.c.priority == job.priority, or_(J.c.created_at < job.created_at,
                                                           and_(J.c.created_at == job.created_at, J.c.id < job.id))))))).scalar()
        return int(ahead or 0) + 1

    async def recent_durations(self, kind: str, n: int = 20) -> list[float]:
        async with self._read() as conn:
            rows = await conn.execute(select(J.c.finished_at - J.c.started_at).where(
                J.c.kind == kind, J.c.status == "COMPLETED", J.c.started_at.is_not(None))
                .order_by(J.c.finished_at.desc()).limit(n))
            return [float(r[0]) for r in rows if r[0] is not None]

    async def counts(self) -> dict[tuple[str, str], int]:
        async with self._read() as conn:
            rows = await conn.execute(select(J.c.kind, J.c.status, func.count()).group_by(J.c.kind, J.c.status))
            return {(r[0], r[1]): int(r[2]) for r in rows}

    async def dead_count(self, kind: str | None = None) -> int:
        q = select(func.count()).select_from(J).where(J.c.dead.is_(True), J.c.status == "FAILED")
        if kind:
            q = q.where(J.c.kind == kind)
        async with self._read() as conn:
            return int((await conn.execute(q)).scalar() or 0)

    async def last_event_id(self) -> int:
        async with self._read() as conn:
            return int((await conn.execute(select(func.max(E.c.id)))).scalar() or 0)

    async def events_since(self, after: int, limit: int = 500) -> list[dict[str, Any]]:
        """All jobs' events after ``after`` (the dashboard's live stream)."""
        async with self._read() as conn:
            rows = await conn.execute(select(E).where(E.c.id > after).order_by(E.c.id).limit(limit))
            return [dict(r._mapping) for r in rows]

    # -- schedules, refs, workers, retention --------------------------------------------------

    async def fire_schedule(self, schedule: str, fire_time: float, spec: JobSpec) -> Job | None:
        """Submit the job for (schedule, fire time) unless some daemon already did."""
        async with self._write() as conn:
            exists = (await conn.execute(select(tables.schedule_runs.c.job_id).where(
                tables.schedule_runs.c.schedule == schedule, tables.schedule_runs.c.fire_time == fire_time))).first()
            if exists:
                return None
            job_id = ids.new_id(spec.kind)
            try:
                async with conn.begin_nested():
                    await conn.execute(insert(tables.schedule_runs).values(
                        schedule=schedule, fire_time=fire_time, job_id=job_id, created_at=self.clock()))
            except IntegrityError:
                return None
            await self._insert_child(conn, JobSpec(**{**asdict(spec), "job_id": job_id}))
            return await self._get(conn, job_id)

    async def ref_get(self, key: str) -> str | None:
        async with self._read() as conn:
            return (await conn.execute(select(tables.refs.c.value).where(tables.refs.c.key == key))).scalar()

    async def ref_set(self, key: str, value: str) -> None:
        async with self._write() as conn:
            await conn.execute(delete(tables.refs).where(tables.refs.c.key == key))
            await conn.execute(insert(tables.refs).values(key=key, value=value, updated_at=self.clock()))

    async def worker_heartbeat(self, worker_id: str, host: str, started_at: float, running: list[dict[str, Any]]) -> None:
        W = tables.workers
        async with self._write(notify=False) as conn:
            res = await conn.execute(update(W).where(W.c.id == worker_id).values(heartbeat_at=self.clock(), running=running))
            if not res.rowcount:
                await conn.execute(insert(W).values(id=worker_id, host=host, started_at=started_at,
                                                    heartbeat_at=self.clock(), running=running))

    async def worker_gone(self, worker_id: str) -> None:
        async with self._write(notify=False) as conn:
            await conn.execute(delete(tables.workers).where(tables.workers.c.id == worker_id))

    async def workers(self, fresh_within: float = 60.0) -> list[dict[str, Any]]:
        W = tables.workers
        async with self._read() as conn:
            rows = await conn.execute(select(W).where(W.c.heartbeat_at > self.clock() - fresh_within).order_by(W.c.id))
            return [dict(r._mapping) for r in rows]

    async def prunable(self, finished_before: float, limit: int = 500) -> list[Job]:
        async with self._read() as conn:
            rows = await conn.execute(select(J).where(J.c.status.in_(list(TERMINAL)), J.c.pruned.is_(False),
                                                      J.c.finished_at < finished_before).limit(limit))
            return [Job.from_row(r) for r in rows]

    async def mark_pruned(self, job_ids: Sequence[str]) -> None:
        if not job_ids:
            return
        async with self._write() as conn:
            await conn.execute(update(J).where(J.c.id.in_(list(job_ids))).values(pruned=True))

    async def ping(self, timeout: float = 1.0, lock_wait: float = 0.02) -> bool:
        """Can the store take a write now? StoreUnavailable when not, within ``timeout`` (a server
        that does not answer) or ``lock_wait`` (a SQLite write lock held by another program): /healthz
        must answer at once. SQLite WAL readers are never blocked by a writer, so only a (no-op)
        write transaction notices a held write lock."""
        async def probe() -> None:
            async with self.engines.begin(wait=lock_wait) as conn:
                await conn.execute(text("SELECT 1"))

        try:
            await asyncio.wait_for(probe(), timeout)
        except TimeoutError as exc:
            raise errors.StoreUnavailable(f"the store did not answer within {timeout:g} s") from exc
        return True

    @property
    def locked_since(self) -> float | None:
        """When writes started being refused (SQLite lock held elsewhere), or None."""
        return self.engines.contention.since

    # -- dashboard reads ------------------------------------------------------------
    # Read-only and bounded: the dashboard renders pages from these with any number of jobs.

    async def pending_ids(self, limit: int = 500) -> list[str]:
        """PENDING job IDs in claim order (as :meth:`queue_position` counts), so one query gives a
        page of rows their queue positions instead of one count per row."""
        async with self._read() as conn:
            rows = await conn.execute(select(J.c.id).where(J.c.status == "PENDING")
                                      .order_by(J.c.priority.desc(), J.c.created_at, J.c.id).limit(limit))
            return [r[0] for r in rows]

    async def transitions(self, job_id: str, limit: int = 500) -> list[dict[str, Any]]:
        """A job's events without progress steps (a long build has thousands of those)."""
        async with self._read() as conn:
            rows = await conn.execute(select(E).where(E.c.job_id == job_id, E.c.type != "progress")
                                      .order_by(E.c.id).limit(limit))
            return [dict(r._mapping) for r in rows]

    async def completed_durations(self, kind: str, since: float, limit: int = 50_000) -> list[tuple[float, float]]:
        """``(finished_at, run seconds)`` of jobs of ``kind`` COMPLETED after ``since`` (p50/p95 per day)."""
        async with self._read() as conn:
            rows = await conn.execute(select(J.c.finished_at, J.c.finished_at - J.c.started_at).where(
                J.c.kind == kind, J.c.status == "COMPLETED", J.c.started_at.is_not(None),
                J.c.finished_at >= since).order_by(J.c.finished_at).limit(limit))
            return [(float(r[0]), float(r[1])) for r in rows if r[0] is not None and r[1] is not None]

    async def job_spans(self, since: float, limit: int = 50_000) -> list[tuple[str, float, float | None, float | None]]:
        """``(kind, created_at, started_at, finished_at)`` of every job not finished before ``since``:
        queue depth over time is rebuilt from these, with no sampler to run."""
        async with self._read() as conn:
            rows = await conn.execute(select(J.c.kind, J.c.created_at, J.c.started_at, J.c.finished_at).where(
                or_(J.c.finished_at.is_(None), J.c.finished_at >= since)).order_by(J.c.created_at.desc()).limit(limit))
            return [(r[0], float(r[1]), r[2], r[3]) for r in rows]
