"""Named statements, built once with bind parameters and shared by the store's reads and writes.

Building a statement and its cache key costs more CPU than SQLite takes to run it, so the
statements every job runs through are constructed once here. Updates a worker makes are
*fenced*: they name the job, its lease owner and ``PROCESSING``, and change nothing (rowcount 0)
for a worker that lost its lease, so the caller learns it must stop.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update

from pipeline.store import tables
from pipeline.store.model import JobStatus

J = tables.jobs
E = tables.events
S = tables.stage_runs

CLAIM_ORDER = (J.c.priority.desc(), J.c.created_at, J.c.id)
"""The order workers take PENDING jobs in; queue positions count in the same order."""

# -- jobs and events -------------------------------------------------------------------------

JOB_INSERT = insert(J)
EVENT_INSERT = insert(E)
GET_JOB = select(J).where(J.c.id == bindparam("job_id"))
PARENT_OF = select(J.c.parent_id).where(J.c.id == bindparam("job_id"))
BY_IDEMPOTENCY_KEY = select(J).where(J.c.idempotency_key == bindparam("key"))
BY_DEDUPE_KEY = select(J).where(J.c.dedupe_key == bindparam("key"))
PENDING_OF_BRANCH = select(J.c.id).where(J.c.kind == bindparam("kind"), J.c.supersede_key == bindparam("key"),
                                         J.c.status == JobStatus.PENDING)

_PREVIOUS = (select(J.c.status).where(J.c.kind == bindparam("kind"), J.c.id != bindparam("job_id"),
                                     J.c.status.in_([JobStatus.COMPLETED, JobStatus.FAILED]), J.c.finished_at.is_not(None))
             .order_by(J.c.finished_at.desc()).limit(1))
PREVIOUS_OF_KEY = _PREVIOUS.where(J.c.supersede_key == bindparam("key"))
PREVIOUS_WITHOUT_KEY = _PREVIOUS.where(J.c.supersede_key.is_(None))
"""How the last job of the same kind and branch (supersede key; none: ``IS NULL``) ended, for the outbox."""

IDEMPOTENCY_REF_PREFIX = "idempotency:"
"""Refs ``idempotency:<key>`` -> ``{"job_id", "request_hash"}``: keys whose request deduped onto a job."""
IDEMPOTENCY_REF = select(tables.refs.c.value).where(tables.refs.c.key == bindparam("key"))
IDEMPOTENCY_REF_INSERT = insert(tables.refs)

# -- a worker's fenced updates ---------------------------------------------------------------

_FENCED = (J.c.id == bindparam("job_id"), J.c.lease_owner == bindparam("owner"), J.c.status == JobStatus.PROCESSING)
TOUCH = update(J).where(*_FENCED).values(updated_at=bindparam("now"))
TOUCH_STAGE = update(J).where(*_FENCED).values(stage=bindparam("stage"), updated_at=bindparam("now"))
SET_PROGRESS = update(J).where(*_FENCED).values(stage=bindparam("stage"), progress=bindparam("progress"),
                                                updated_at=bindparam("now"))
TOUCH_ROW = TOUCH.returning(*J.c)
TOUCH_STAGE_ROW = TOUCH_STAGE.returning(*J.c)
"""As TOUCH and TOUCH_STAGE, with the row as written: a stage write that runs the outbox needs the job."""
RENEW = update(J).where(*_FENCED).values(lease_expires_at=bindparam("expires"), updated_at=bindparam("now"))

# -- stage rows ------------------------------------------------------------------------------

STAGES_OF = select(S).where(S.c.job_id == bindparam("job_id")).order_by(S.c.position)
STAGE_NAMED_OF = select(S).where(S.c.job_id.in_(bindparam("ids", expanding=True)), S.c.name == bindparam("name"))
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


def stage_row(job_id: str, name: str, position: int) -> dict[str, Any]:
    """Parameters of :data:`STAGE_INSERT` for a planned stage that has not started."""
    return {"job_id": job_id, "name": name, "position": position, "status": "pending", "progress": 0.0,
            "started_at": None, "finished_at": None, "counts": None, "findings": None, "findings_total": 0,
            "artifacts": None, "outputs": None, "error_code": None, "message": None}


# -- statements that differ by dialect or by call --------------------------------------------

@functools.cache
def claim_statement(dialect: str) -> Any:
    """``UPDATE … WHERE id IN (the best N runnable jobs) RETURNING *``: SKIP LOCKED on PostgreSQL."""
    pick = (select(J.c.id).where(J.c.status == JobStatus.PENDING, J.c.run_after <= bindparam("now"),
                                 J.c.kind.in_(bindparam("kinds", expanding=True)))
            .order_by(*CLAIM_ORDER).limit(bindparam("n")))
    if dialect == "postgresql":
        # A materialised CTE: as a plain IN-subquery PostgreSQL may re-run the SKIP LOCKED pick
        # for each row it scans, and then claim more (and other) jobs than asked for.
        cte = pick.with_for_update(skip_locked=True).cte("pick").prefix_with("MATERIALIZED")
        chosen: Any = select(cte.c.id)
    else:
        chosen = pick.scalar_subquery()
    return (update(J).where(J.c.id.in_(chosen), J.c.status == JobStatus.PENDING)
            .values(status=JobStatus.PROCESSING, lease_owner=bindparam("owner"), lease_expires_at=bindparam("expires"),
                    attempt=J.c.attempt + 1, started_at=func.coalesce(J.c.started_at, bindparam("now")),
                    updated_at=bindparam("now"))
            .returning(*J.c))


@functools.cache
def finish_statement(with_result: bool, completed: bool, whole_row: bool = True) -> Any:
    """End a job, fenced by its lease owner. A job that did not complete gives up its dedupe key,
    so the same content submitted again makes a new job. Returns the row as written (none: the
    lease was lost), which the fan-in and the outbox use instead of reading it again; without
    ``whole_row`` (no outbox to give it to) only its kind and parent."""
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
    returned = J.c if whole_row else (J.c.kind, J.c.parent_id)
    return update(J).where(*_FENCED).values(**values).returning(*returned)
