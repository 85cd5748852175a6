"""The schema, as SQLAlchemy Core tables. One schema serves SQLite and PostgreSQL.

Times are stored as float epoch seconds (UTC): comparisons and arithmetic are the same on both
dialects and the API formats them as ISO 8601 at the edge.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("status", String(12), nullable=False),
    Column("stage", String(40)),
    Column("progress", Float, nullable=False, default=0.0),
    Column("priority", Integer, nullable=False, default=50),
    Column("attempt", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False, default=3),
    Column("parent_id", String(40), ForeignKey("jobs.id")),
    # A client's Idempotency-Key and the hash of the request it came with (409 on mismatch).
    Column("idempotency_key", String(200), unique=True),
    Column("request_hash", String(64)),
    # "<kind>:<target>:<source hash>" while the job is live, NULL once FAILED/CANCELLED, so the
    # same content submitted twice (a commit and then its push) maps to one job.
    Column("dedupe_key", String(200), unique=True),
    Column("source_hash", String(64)),
    Column("source_path", Text),
    # Branch or drop folder: a newer PENDING job with the same key supersedes older ones.
    Column("supersede_key", String(300)),
    Column("target", String(80)),
    Column("trigger", JSON),
    Column("payload", JSON),
    Column("result", JSON),
    Column("lease_owner", String(80)),
    Column("lease_expires_at", Float),
    Column("run_after", Float, nullable=False, default=0.0),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("dead", Boolean, nullable=False, default=False),
    Column("error_code", String(80)),
    Column("error_message", Text),
    Column("error_stage", String(40)),
    Column("read_token", String(64)),
    Column("children_total", Integer, nullable=False, default=0),
    Column("children_done", Integer, nullable=False, default=0),
    Column("children_failed", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("updated_at", Float, nullable=False),
    Column("pruned", Boolean, nullable=False, default=False),
    Index("ix_jobs_claim", "status", "priority", "created_at"),
    Index("ix_jobs_created", "created_at", "id"),
    Index("ix_jobs_kind_status", "kind", "status"),
    Index("ix_jobs_parent", "parent_id"),
    Index("ix_jobs_supersede", "supersede_key", "status"),
    Index("ix_jobs_lease", "status", "lease_expires_at"),
    # Dashboard: the builds list (kind, newest first) and typical durations per kind
    # are read in index order instead of sorting every job of the kind.
    Index("ix_jobs_kind_created", "kind", "created_at", "id"),
    Index("ix_jobs_kind_finished", "kind", "status", "finished_at"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(40), ForeignKey("jobs.id"), nullable=False),
    Column("type", String(40), nullable=False),
    Column("status", String(12)),
    Column("stage", String(40)),
    Column("progress", Float),
    Column("data", JSON),
    Column("created_at", Float, nullable=False),
    Index("ix_events_job", "job_id", "id"),
)

stage_runs = Table(
    "stage_runs",
    metadata,
    Column("job_id", String(40), ForeignKey("jobs.id"), primary_key=True),
    Column("name", String(40), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("status", String(12), nullable=False),
    Column("progress", Float, nullable=False, default=0.0),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("counts", JSON),
    Column("findings", JSON),
    Column("findings_total", Integer, nullable=False, default=0),
    Column("artifacts", JSON),
    Column("outputs", JSON),
    Column("error_code", String(80)),
    Column("message", Text),
)

schedule_runs = Table(
    "schedule_runs",
    metadata,
    Column("schedule", String(80), nullable=False),
    Column("fire_time", Float, nullable=False),
    Column("job_id", String(40)),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("schedule", "fire_time", name="uq_schedule_fire"),
)

refs = Table(
    "refs",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
)

workers = Table(
    "workers",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("host", String(200)),
    Column("started_at", Float, nullable=False),
    Column("heartbeat_at", Float, nullable=False),
    Column("running", JSON),
)

# Dashboard sign-ins: the cookie holds a random session ID; only its SHA-256 is stored,
# so a copy of the database signs nobody in. ``handle`` is the non-secret name an admin lists and
# revokes; ``token_hash`` ties the session to the token it was opened with (removing that token
# from the config ends it).
sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("handle", String(32), nullable=False, unique=True),
    Column("principal", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("last_seen_at", Float, nullable=False),
    Column("user_agent", String(300)),
    Column("remote", String(100)),
    Index("ix_sessions_expires", "expires_at"),
)

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", Float, nullable=False),
)

# Audits: one row per run, one per finding ever seen (tracked across runs by its fingerprint),
# and what each run said about each finding (``new``, ``open``, ``fixed``) for reports and trends.
audit_runs = Table(
    "audit_runs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("target", String(80), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float, nullable=False),
    Column("summary", JSON),
    Column("notes", JSON),
    Index("ix_audit_runs_finished", "finished_at"),
)

audit_findings = Table(
    "audit_findings",
    metadata,
    Column("fingerprint", String(40), primary_key=True),
    Column("target", String(80), nullable=False),
    Column("check", String(40), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("page", Text, nullable=False),
    Column("url", Text),
    Column("subject", Text),
    Column("message", Text),
    Column("state", String(8), nullable=False),
    Column("first_seen", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("fixed_at", Float),
    Column("acked_at", Float),
    Column("acked_by", String(200)),
    Column("snoozed_until", Float),
    Column("exported_url", Text),
    Index("ix_audit_findings_state", "state", "target"),
)

audit_run_findings = Table(
    "audit_run_findings",
    metadata,
    Column("run_id", String(40), nullable=False),
    Column("fingerprint", String(40), nullable=False),
    Column("state", String(8), nullable=False),
    Column("severity", String(10), nullable=False),
    UniqueConstraint("run_id", "fingerprint", name="uq_audit_run_finding"),
)
