"""Prometheus metrics. Gauges that mirror the store are refreshed at scrape time."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from pipeline.jobs import workspace
from pipeline.store import JobStatus, Store
from pipeline.store.model import STATUSES

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.queue = Gauge("pressroom_jobs", "Jobs in the store by kind and status", ["kind", "status"], registry=r)
        self.dead = Gauge("pressroom_dead_jobs", "Jobs in the dead-letter list by kind", ["kind"], registry=r)
        self.deliveries = Gauge("pressroom_deliveries", "Notification deliveries by state (pending, dead)", ["state"], registry=r)
        self.job_duration = Histogram("pressroom_job_duration_seconds", "Job run time by kind and final status",
                                      ["kind", "status"], buckets=BUCKETS, registry=r)
        self.stage_duration = Histogram("pressroom_stage_duration_seconds", "Stage run time by stage and status",
                                        ["stage", "status"], buckets=BUCKETS, registry=r)
        self.disk = Gauge("pressroom_data_dir_bytes", "Bytes used by the data dir", registry=r)
        self.http_requests = Gauge("pressroom_workers_running_jobs", "Jobs running in this daemon", registry=r)
        self.part_restarts = Counter("pressroom_part_restarts", "Restarts of a supervised daemon part after it failed",
                                     ["part"], registry=r)
        self._disk_at = 0.0

    async def refresh(self, store: Store, data_dir: Path, running: int) -> None:
        counts = await store.counts()
        kinds = {k for k, _ in counts} | {"build"}
        for kind in kinds:
            for status in STATUSES:
                self.queue.labels(kind, status).set(counts.get((kind, status), 0))
            self.dead.labels(kind).set(await store.dead_count(kind))
        self.deliveries.labels("pending").set(counts.get(("deliver", JobStatus.PENDING), 0) + counts.get(("deliver", JobStatus.PROCESSING), 0))
        self.deliveries.labels("dead").set(await store.dead_count("deliver"))
        self.http_requests.set(running)
        if time.monotonic() - self._disk_at > 60 and data_dir.exists():
            self._disk_at = time.monotonic()
            self.disk.set(await asyncio.to_thread(workspace.disk_usage, data_dir))

    def render(self) -> bytes:
        return generate_latest(self.registry)
