"""The job store: the only package that speaks SQL (SQLAlchemy Core; SQLite or PostgreSQL)."""

from pipeline.store.model import Job, JobSpec, JobStatus, Transition
from pipeline.store.store import Store

__all__ = ["Job", "JobSpec", "JobStatus", "Store", "Transition"]
