"""Reads: one job and its rows, filtered lists, queue positions, counts, and the dashboard's reads.

Each runs on a read connection (on SQLite a WAL snapshot that a writer never blocks). The
dashboard's reads are bounded by a ``limit``, so a page renders the same with any number of jobs.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, or_, select

from pipeline import errors
from pipeline.store import tables
from pipeline.store.base import StoreBase
from pipeline.store.model import TERMINAL, Job, JobStatus
from pipeline.store.queries import CLAIM_ORDER, STAGE_NAMED_OF, STAGES_OF

J = tables.jobs
E = tables.events


class InvalidCursor(errors.BadRequest, ValueError):
    """A pagination cursor that this store did not hand out."""


def decode_cursor(cursor: str) -> tuple[float, str]:
    """``(created_at, id)`` of the last job of the previous page."""
    try:
        created, sep, last_id = base64.urlsafe_b64decode(cursor.encode("utf-8")).decode("utf-8").partition("|")
        if not sep:
            raise ValueError(cursor)
        return float(created), last_id
    except (ValueError, UnicodeError) as exc:
        raise InvalidCursor("the cursor is not valid; use the `next` value of the previous page") from exc


class ReadMethods(StoreBase):
    # -- one job ------------------------------------------------------------------------------

    async def get(self, job_id: str) -> Job:
        async with self._read() as conn:
            job = await self._get(conn, job_id)
        if job is None:
            raise errors.JobNotFound(f"no job has the ID {job_id!r}")
        return job

    async def job_of_read_token(self, token: str) -> str | None:
        """The job a per-job read token belongs to, so the API can tell "wrong job" (403) from "no token" (401)."""
        async with self._read() as conn:
            return (await conn.execute(select(J.c.id).where(J.c.read_token == token).limit(1))).scalar()

    async def stages(self, job_id: str) -> list[dict[str, Any]]:
        async with self._read() as conn:
            return [dict(r._mapping) for r in await conn.execute(STAGES_OF, {"job_id": job_id})]

    async def stage_of(self, job_ids: Sequence[str], name: str) -> dict[str, dict[str, Any]]:
        """Stage ``name`` of each of ``job_ids`` that has one, by job, in one read: a build's page
        and status show every translate child's progress, which was a read per language."""
        found: dict[str, dict[str, Any]] = {}
        ids = list(dict.fromkeys(job_ids))
        async with self._read() as conn:
            for at in range(0, len(ids), 500):  # under SQLite's bound-parameter limit
                for r in await conn.execute(STAGE_NAMED_OF, {"ids": ids[at : at + 500], "name": name}):
                    found[r.job_id] = dict(r._mapping)
        return found

    async def deliveries_keyed(self, prefix: str, limit: int = 100) -> list[Job]:
        """``deliver`` jobs whose idempotency key starts with ``prefix`` (a job's callbacks), oldest first."""
        async with self._read() as conn:
            rows = await conn.execute(select(J).where(J.c.kind == "deliver", J.c.idempotency_key.startswith(prefix, autoescape=True))
                                      .order_by(J.c.created_at).limit(limit))
            return [Job.from_row(r) for r in rows]

    async def children(self, job_id: str) -> list[Job]:
        async with self._read() as conn:
            rows = await conn.execute(select(J).where(J.c.parent_id == job_id).order_by(J.c.created_at))
            return [Job.from_row(r) for r in rows]

    async def events_after(self, job_id: str, after: int = 0, limit: int = 500) -> list[dict[str, Any]]:
        async with self._read() as conn:
            rows = await conn.execute(select(E).where(E.c.job_id == job_id, E.c.id > after).order_by(E.c.id).limit(limit))
            return [dict(r._mapping) for r in rows]

    async def queue_position(self, job: Job) -> int | None:
        """1-based place among runnable PENDING jobs of any kind, in claim order."""
        if job.status != JobStatus.PENDING:
            return None
        async with self._read() as conn:
            ahead = (await conn.execute(select(func.count()).select_from(J).where(
                J.c.status == JobStatus.PENDING,
                or_(J.c.priority > job.priority,
                    and_(J.c.priority == job.priority, or_(J.c.created_at < job.created_at,
                                                           and_(J.c.created_at == job.created_at, J.c.id < job.id))))))).scalar()
        return int(ahead or 0) + 1

    # -- lists and counts ---------------------------------------------------------------------

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

    async def recent_durations(self, kind: str, n: int = 20) -> list[float]:
        async with self._read() as conn:
            rows = await conn.execute(select(J.c.finished_at - J.c.started_at).where(
                J.c.kind == kind, J.c.status == JobStatus.COMPLETED, J.c.started_at.is_not(None))
                .order_by(J.c.finished_at.desc()).limit(n))
            return [float(r[0]) for r in rows if r[0] is not None]

    async def counts(self) -> dict[tuple[str, str], int]:
        async with self._read() as conn:
            rows = await conn.execute(select(J.c.kind, J.c.status, func.count()).group_by(J.c.kind, J.c.status))
            return {(r[0], r[1]): int(r[2]) for r in rows}

    async def dead_count(self, kind: str | None = None) -> int:
        q = select(func.count()).select_from(J).where(J.c.dead.is_(True), J.c.status == JobStatus.FAILED)
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

    # -- refs, workers, retention -------------------------------------------------------------

    async def ref_get(self, key: str) -> str | None:
        async with self._read() as conn:
            return (await conn.execute(select(tables.refs.c.value).where(tables.refs.c.key == key))).scalar()

    async def refs_with_prefix(self, prefix: str, limit: int = 1000) -> list[tuple[str, str, float]]:
        """``(key, value, updated_at)`` of the refs whose key starts with ``prefix`` (live previews), by key."""
        r = tables.refs
        async with self._read() as conn:
            rows = await conn.execute(select(r.c.key, r.c.value, r.c.updated_at)
                                      .where(r.c.key.startswith(prefix, autoescape=True)).order_by(r.c.key).limit(limit))
            return [(row.key, row.value, row.updated_at) for row in rows]

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

    # -- dashboard reads ----------------------------------------------------------------------

    async def pending_ids(self, limit: int = 500) -> list[str]:
        """PENDING job IDs in claim order (as :meth:`queue_position` counts), so one query gives a
        page of rows their queue positions instead of one count per row."""
        async with self._read() as conn:
            rows = await conn.execute(select(J.c.id).where(J.c.status == JobStatus.PENDING).order_by(*CLAIM_ORDER).limit(limit))
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
                J.c.kind == kind, J.c.status == JobStatus.COMPLETED, J.c.started_at.is_not(None),
                J.c.finished_at >= since).order_by(J.c.finished_at).limit(limit))
            return [(float(r[0]), float(r[1])) for r in rows if r[0] is not None and r[1] is not None]

    async def job_spans(self, since: float, limit: int = 50_000) -> list[tuple[str, float, float | None, float | None]]:
        """``(kind, created_at, started_at, finished_at)`` of every job not finished before ``since``:
        queue depth over time is rebuilt from these, with no sampler to run."""
        async with self._read() as conn:
            rows = await conn.execute(select(J.c.kind, J.c.created_at, J.c.started_at, J.c.finished_at).where(
                or_(J.c.finished_at.is_(None), J.c.finished_at >= since)).order_by(J.c.created_at.desc()).limit(limit))
            return [(r[0], float(r[1]), r[2], r[3]) for r in rows]

    async def translation_runs(self, *, since: float | None = None, language: str | None = None,
                               limit: int = 5000) -> list[dict[str, Any]]:
        """Finished ``translate`` jobs, newest first: ``{"id", "status", "parent_id", "language",
        "build_id", "result", "finished_at"}``. The languages page's trend and latest figures come
        from these; ``since`` and ``limit`` bound the read (ix_jobs_kind_finished serves it)."""
        q = select(J.c.id, J.c.status, J.c.parent_id, J.c.payload, J.c.result, J.c.finished_at).where(
            J.c.kind == "translate", J.c.status.in_(list(TERMINAL)), J.c.finished_at.is_not(None))
        if since is not None:
            q = q.where(J.c.finished_at >= since)
        if language is not None:
            q = q.where(func.json_extract(J.c.payload, "$.language") == language if self.dialect == "sqlite"
                        else J.c.payload["language"].as_string() == language)
        q = q.order_by(J.c.finished_at.desc(), J.c.id.desc()).limit(limit)
        async with self._read() as conn:
            rows = list(await conn.execute(q))
        out = []
        for r in rows:
            payload = r.payload if isinstance(r.payload, dict) else {}
            out.append({"id": r.id, "status": r.status, "parent_id": r.parent_id, "language": payload.get("language"),
                        "build_id": payload.get("build_id") or r.parent_id,
                        "result": r.result if isinstance(r.result, dict) else {}, "finished_at": float(r.finished_at)})
        return out
