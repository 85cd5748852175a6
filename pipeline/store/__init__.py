"""The job store: the only package that speaks SQL (SQLAlchemy Core; SQLite or PostgreSQL).

``Store`` is imported on first use: the model (``Job``, ``JobStatus``) is what the job contract
and ``pressroom build`` need, and SQLAlchemy alone is a quarter of a second of imports.
"""

from typing import TYPE_CHECKING, Any

from pipeline.store.model import Job, JobSpec, JobStatus, Transition

if TYPE_CHECKING:
    from pipeline.store.store import Store

__all__ = ["Job", "JobSpec", "JobStatus", "Store", "Transition"]


def __getattr__(name: str) -> Any:
    if name == "Store":
        from pipeline.store.store import Store

        return Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
