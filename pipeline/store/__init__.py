"""The job store: the only package that speaks SQL (SQLAlchemy Core; SQLite or PostgreSQL)."""

from pipeline.store.model import Job, JobSpec, Transition
from pipeline.store.store import Store

__all__ = ["Job", "JobSpec", "Store", "Transition"]
