"""Writes that create jobs or change them from outside a lease.

Submissions (idempotency, content dedupe, supersede), the jobs a transition creates (outbox and
fan-in), user actions (cancel, retry, result patches), schedules, refs, the worker registry and
retention marks. Every state change records an event row in the same transaction, and terminal
transitions run the outbox hook there too, so a notification is stored if and only if the
transition is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import case, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from pipeline import errors
from pipeline.store import ids, tables
from pipeline.store.base import StoreBase
from pipeline.store.model import Job, JobSpec, JobStatus, SubmitResult, Transition
from pipeline.store.queries import (
    BY_DEDUPE_KEY,
    BY_IDEMPOTENCY_KEY,
    IDEMPOTENCY_REF,
    IDEMPOTENCY_REF_INSERT,
    IDEMPOTENCY_REF_PREFIX,
    JOB_INSERT,
    PARENT_OF,
    PENDING_OF_BRANCH,
    PREVIOUS_OF_KEY,
    PREVIOUS_WITHOUT_KEY,
    STAGES_OF,
    TOUCH,
)

J = tables.jobs
S = tables.stage_runs


class WriteMethods(StoreBase):
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
                        raise errors.IdempotencyConflict(
                            f"Idempotency-Key was already used for job {job.id} with a different request")
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
            job_id = spec.job_id or ids.new_id(spec.kind)
            superseded: list[str] = []
            if spec.supersede_key:
                for old_id in (await conn.execute(PENDING_OF_BRANCH, {"kind": spec.kind, "key": spec.supersede_key})).scalars().all():
                    await conn.execute(update(J).where(J.c.id == old_id, J.c.status == JobStatus.PENDING).values(
                        status=JobStatus.CANCELLED, finished_at=now, updated_at=now, dedupe_key=None,
                        error_code="superseded", error_message=f"superseded by {job_id}"))
                    await self._event(conn, old_id, "status", status=JobStatus.CANCELLED, data={"reason": "superseded", "by": job_id})
                    superseded.append(old_id)
                    await self._run_outbox(conn, old_id, "cancelled")
            created = await self._insert_job(conn, spec, job_id, now, dedupe_key=dedupe_key,
                                             event={"trigger": spec.trigger.get("kind")})
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

    async def _insert_job(self, conn: Any, spec: JobSpec, job_id: str, now: float, *, dedupe_key: str | None,
                          event: dict[str, Any]) -> Job:
        """The one INSERT of a job, for submissions and for the jobs a transition creates.

        Every job gets its own read token. A job with a parent counts into the parent's
        ``children_total`` here, so the fan-in at the child's finish has a total to count against.
        """
        values = dict(
            id=job_id, kind=spec.kind, status=JobStatus.PENDING, progress=0.0, priority=spec.priority,
            attempt=0, max_attempts=spec.max_attempts, parent_id=spec.parent_id,
            idempotency_key=spec.idempotency_key, request_hash=spec.request_hash, dedupe_key=dedupe_key,
            source_hash=spec.source_hash, source_path=spec.source_path, supersede_key=spec.supersede_key,
            target=spec.target, trigger=spec.trigger, payload=spec.payload, run_after=spec.run_after,
            cancel_requested=False, dead=False, read_token=ids.new_token(), created_at=now, updated_at=now,
            children_total=0, children_done=0, children_failed=0, pruned=False,
        )
        await conn.execute(JOB_INSERT, {c.name: values.get(c.name) for c in J.c})
        self._mark_work(spec.kind)
        await self._event(conn, job_id, "status", status=JobStatus.PENDING, data=event)
        if spec.parent_id:
            await conn.execute(update(J).where(J.c.id == spec.parent_id).values(children_total=J.c.children_total + 1))
        # the row as written: a submit answers without reading it back (one round trip less per submit)
        return Job.from_row({**values, "status": str(JobStatus.PENDING)})

    async def _insert_caused(self, conn: Any, spec: JobSpec) -> None:
        """Store a job another transaction causes (a delivery, a promotion, a scheduled run).

        It runs inside that transaction, so it must not fail it: its idempotency key is what makes
        it once-only (a job that already has the key is left alone), and it takes no dedupe key
        and supersedes nothing, so no unique key can clash and roll the transition back.
        """
        if spec.idempotency_key and (await conn.execute(BY_IDEMPOTENCY_KEY, {"key": spec.idempotency_key})).first():
            return
        await self._insert_job(conn, spec, spec.job_id or ids.new_id(spec.kind), self.clock(), dedupe_key=None,
                               event={"caused_by": spec.trigger.get("job_id")})

    async def spawn_children(self, parent_id: str, owner: str, specs: Sequence[JobSpec]) -> list[Job] | None:
        """Create a running job's children (a build's translate jobs) in one transaction fenced by
        its lease; None when ``owner`` lost the lease (nothing is created).

        Each spec's idempotency key names its child once: a retried parent gets the children its
        earlier attempt made, not a second set. A child that ended FAILED or CANCELLED is queued
        again (its fan-in count taken back), so retrying a build redoes only what did not complete.
        Live children of older parents of the same branch or folder, for the same language, are
        cancelled as superseded: an old translation finishing last must not replace a newer one.
        """
        now = self.clock()
        async with self._write() as conn:
            if not (await conn.execute(TOUCH, {"job_id": parent_id, "owner": owner, "now": now})).rowcount:
                return None
            parent = await self._get(conn, parent_id)
            assert parent is not None
            older = await self._older_live_children(conn, parent) if parent.supersede_key else []
            children: list[Job] = []
            for spec in specs:
                if spec.parent_id != parent_id or not spec.idempotency_key:
                    raise ValueError("a child spec needs parent_id of its parent and an idempotency_key")
                row = (await conn.execute(BY_IDEMPOTENCY_KEY, {"key": spec.idempotency_key})).first()
                if row is None:  # the row as written: no read back per language
                    found = await self._insert_job(conn, spec, spec.job_id or ids.new_id(spec.kind), now,
                                                   dedupe_key=None, event={"caused_by": parent_id})
                elif row.status in (JobStatus.FAILED, JobStatus.CANCELLED):
                    await self._requeue(conn, row.id, row.kind, now, reason="parent_retried")
                    requeued = await self._get(conn, row.id)
                    assert requeued is not None
                    found = requeued
                else:  # this parent's earlier attempt made it and it did not fail: as it is
                    found = Job.from_row(row)
                job_id = found.id
                children.append(found)
                language = (spec.payload or {}).get("language")
                for old in older:
                    if old.kind == spec.kind and (old.payload or {}).get("language") == language:
                        await self._cancel_in(conn, old, f"superseded by {job_id}", now, code="superseded")
            await self._event(conn, parent_id, "fan_out", data={"children": [c.id for c in children]})
            return children

    async def _older_live_children(self, conn: Any, parent: Job) -> list[Job]:
        """PENDING or PROCESSING children of earlier jobs with ``parent``'s supersede key."""
        P = J.alias("p")
        rows = await conn.execute(
            select(J).select_from(J.join(P, J.c.parent_id == P.c.id))
            .where(P.c.supersede_key == parent.supersede_key, P.c.kind == parent.kind, P.c.id != parent.id,
                   P.c.created_at <= parent.created_at,
                   J.c.status.in_([JobStatus.PENDING, JobStatus.PROCESSING])))
        return [Job.from_row(r) for r in rows]

    async def _requeue(self, conn: Any, job_id: str, kind: str, now: float, *, reason: str) -> None:
        """A finished (not COMPLETED) job back to PENDING with fresh attempts; a child's finish is
        taken back out of its parent's fan-in, since it will be counted again when it ends."""
        await conn.execute(update(J).where(J.c.id == job_id).values(
            status=JobStatus.PENDING, dead=False, attempt=0, run_after=0.0, finished_at=None, updated_at=now,
            error_code=None, error_message=None, error_stage=None, cancel_requested=False, progress=0.0))
        await conn.execute(update(S).where(S.c.job_id == job_id).values(status="pending", progress=0.0))
        await self._event(conn, job_id, "status", status=JobStatus.PENDING, data={"retry": True, "reason": reason})
        self._mark_work(kind)
        parent = (await conn.execute(PARENT_OF, {"job_id": job_id})).scalar()
        if parent:
            await conn.execute(update(J).where(J.c.id == parent, J.c.children_done > 0).values(
                children_done=J.c.children_done - 1,
                children_failed=case((J.c.children_failed > 0, J.c.children_failed - 1), else_=0)))

    # -- what a transition causes -----------------------------------------------------------------

    async def _fan_in(self, conn: Any, job_id: str, status: str, *, parent: str | None | bool = False) -> None:
        """Count a child's end into its parent; ``parent`` when the caller has the row (False: read it)."""
        if parent is False:
            parent = (await conn.execute(PARENT_OF, {"job_id": job_id})).scalar()
        if parent:
            values: dict[str, Any] = {"children_done": J.c.children_done + 1}
            if status != JobStatus.COMPLETED:
                values["children_failed"] = J.c.children_failed + 1
            await conn.execute(update(J).where(J.c.id == parent).values(**values))

    async def _run_outbox(self, conn: Any, job_id: str, outcome: str, job: Job | None = None) -> None:
        """The jobs a terminal transition causes; ``job``: the row as the transition wrote it, if the caller has it."""
        if self.outbox is None:
            return
        job = job or await self._get(conn, job_id)
        if job is None:
            return
        previous = None
        if job.supersede_key is not None or job.kind == "build":
            previous = (await conn.execute(
                PREVIOUS_OF_KEY if job.supersede_key is not None else PREVIOUS_WITHOUT_KEY,
                {"kind": job.kind, "job_id": job.id, "key": job.supersede_key})).scalar()
        stages = [dict(r._mapping) for r in await conn.execute(STAGES_OF, {"job_id": job_id})]
        for spec in self.outbox(Transition(job=job, stages=stages, previous_status=previous, event=f"{job.kind}.{outcome}")):
            await self._insert_caused(conn, spec)

    async def emit(self, job_id: str, event: str, extra: dict[str, Any] | None = None) -> None:
        """Run the outbox for a non-terminal event (``build.started``, ``review.requested``)."""
        async with self._write() as conn:
            await self._emit_in(conn, job_id, event, extra)

    async def _emit_in(self, conn: Any, job_id: str, event: str, extra: dict[str, Any] | None = None,
                       job: Job | None = None, stages: list[dict[str, Any]] | None = None) -> None:
        """:meth:`emit` inside a transaction already open (a worker's stage write carries its event);
        ``job`` and ``stages``: the rows as that transaction wrote them, if the caller has them."""
        if self.outbox is None:
            return
        job = job or await self._get(conn, job_id)
        if job is None:
            return
        if stages is None:
            stages = [dict(r._mapping) for r in await conn.execute(STAGES_OF, {"job_id": job_id})]
        for spec in self.outbox(Transition(job=job, stages=stages, previous_status=None, event=event, extra=extra)):
            await self._insert_caused(conn, spec)

    # -- user actions -------------------------------------------------------------------------

    async def cancel(self, job_id: str, reason: str = "cancelled by user") -> Job:
        """Cancel a PENDING job now; ask a PROCESSING one to stop (its worker checks the flag).

        A job's live children (a build's translate jobs) are cancelled with it, in the same
        transaction; a finished build whose children still run can be cancelled for their sake.
        """
        now = self.clock()
        async with self._write() as conn:
            job = await self._get(conn, job_id)
            if job is None:
                raise errors.JobNotFound(f"no job has the ID {job_id!r}")
            live = [Job.from_row(r) for r in await conn.execute(
                select(J).where(J.c.parent_id == job_id, J.c.status.in_([JobStatus.PENDING, JobStatus.PROCESSING])))]
            if job.status in (JobStatus.PENDING, JobStatus.PROCESSING):
                await self._cancel_in(conn, job, reason, now)
            elif not live:
                raise errors.InvalidTransition(f"job {job_id} is {job.status} and cannot be cancelled")
            for child in live:
                await self._cancel_in(conn, child, f"{reason} (with {job_id})", now)
            job = await self._get(conn, job_id)
            assert job is not None
            return job

    async def _cancel_in(self, conn: Any, job: Job, reason: str, now: float, code: str = "cancelled") -> None:
        if job.status == JobStatus.PENDING:
            await conn.execute(update(J).where(J.c.id == job.id, J.c.status == JobStatus.PENDING).values(
                status=JobStatus.CANCELLED, finished_at=now, updated_at=now, dedupe_key=None,
                error_code=code, error_message=reason))
            await self._event(conn, job.id, "status", status=JobStatus.CANCELLED, data={"reason": reason})
            await self._fan_in(conn, job.id, JobStatus.CANCELLED)
            await self._run_outbox(conn, job.id, "cancelled")
        else:
            await conn.execute(update(J).where(J.c.id == job.id).values(cancel_requested=True, updated_at=now))
            await self._event(conn, job.id, "cancel_requested", data={"reason": reason})

    async def retry(self, job_id: str) -> Job:
        """Put a FAILED job back in the queue with a fresh set of attempts.

        A cancelled translate job may be retried too: cancelling one language is how a user stops
        it for now, and its build has nothing else that would run it again.
        """
        now = self.clock()
        async with self._write() as conn:
            job = await self._get(conn, job_id)
            if job is None:
                raise errors.JobNotFound(f"no job has the ID {job_id!r}")
            if job.status != JobStatus.FAILED and not (job.kind == "translate" and job.status == JobStatus.CANCELLED):
                raise errors.InvalidTransition(f"job {job_id} is {job.status}; only FAILED jobs (and cancelled "
                                               "translations) can be retried")
            await self._requeue(conn, job_id, job.kind, now, reason="user")
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
                raise errors.JobNotFound(f"no job has the ID {job_id!r}")
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
            await self._insert_caused(conn, replace(spec, job_id=job_id))
            return await self._get(conn, job_id)

    async def ref_set(self, key: str, value: str) -> None:
        async with self._write() as conn:
            await conn.execute(delete(tables.refs).where(tables.refs.c.key == key))
            await conn.execute(insert(tables.refs).values(key=key, value=value, updated_at=self.clock()))

    async def ref_add(self, key: str, value: str) -> bool:
        """Store a ref only if the key is new; False when it exists. The unique key decides, so
        several daemons racing to record one thing (a webhook delivery ID) get one winner."""
        try:
            async with self._write() as conn:
                await conn.execute(insert(tables.refs).values(key=key, value=value, updated_at=self.clock()))
        except IntegrityError:
            return False
        return True

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

    async def mark_pruned(self, job_ids: Sequence[str]) -> None:
        if not job_ids:
            return
        async with self._write() as conn:
            await conn.execute(update(J).where(J.c.id.in_(list(job_ids))).values(pruned=True))
