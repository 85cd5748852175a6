"""Queue throughput: claim + finish of no-op jobs on the embedded SQLite store (goal >= 1,000/s).

Measures three levels, in one run:
  store   - the queue itself: N concurrent claimers, each claiming up to 8 jobs per transaction
            (as the worker fills its free slots) and finishing them (finishes of one loop turn
            share a commit)
  worker  - the daemon's Worker running build jobs whose pipeline is the `noop` stage
            (claim, stage rows, events, finish: everything a real job writes)
Prints jobs/s for each. Usage: python bench/bench_queue.py [--jobs 2000] [--url sqlite:///...]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline import config as config_mod  # noqa: E402
from pipeline.jobs import kinds  # noqa: E402
from pipeline.jobs.worker import Worker  # noqa: E402
from pipeline.store import JobSpec, Store  # noqa: E402


async def fill(store: Store, n: int) -> None:
    for i in range(0, n, 200):
        await asyncio.gather(*[store.submit(JobSpec(kind="build", dedupe=False)) for _ in range(min(200, n - i))])


async def bench_store(url: str, n: int, claimers: int) -> float:
    store = await Store.open(url)
    await fill(store, n)

    async def claimer(name: str) -> int:
        done = 0
        while True:
            jobs = await store.claim_batch(name, ["build"], 60, 8)
            if not jobs:
                return done
            oks = await asyncio.gather(*[store.finish(job.id, name, "COMPLETED") for job in jobs])
            assert all(oks)
            done += len(jobs)

    t = time.perf_counter()
    counts = await asyncio.gather(*[claimer(f"w{i}") for i in range(claimers)])
    elapsed = time.perf_counter() - t
    await store.close()
    assert sum(counts) == n, counts
    return n / elapsed


async def bench_worker(root: Path, url: str, n: int) -> float:
    src = root / "src"
    src.mkdir(exist_ok=True)
    cfg = config_mod.parse({"data_dir": str(root / "data"), "store": {"url": url}, "pipeline": {"build": ["noop"]},
                            "workers": {"count": 16, "processes": 0, "concurrency": {"build": 16}}}, root=root)
    store = await Store.open(url)
    for i in range(0, n, 200):
        await asyncio.gather(*[store.submit(JobSpec(kind="build", dedupe=False, source_path=str(src)))
                               for _ in range(min(200, n - i))])
    worker = Worker(store=store, config=cfg, handlers=kinds.HANDLERS)
    t = time.perf_counter()
    await worker.run_until_idle(timeout=600)
    elapsed = time.perf_counter() - t
    counts = await store.counts()
    await store.close()
    assert counts.get(("build", "COMPLETED"), 0) == n, counts
    return n / elapsed


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--claimers", type=int, default=8)
    ap.add_argument("--url", default=None, help="store URL (default: a fresh SQLite file)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url = args.url or f"sqlite:///{root / 'store.db'}"
        rate = await bench_store(url, args.jobs, args.claimers)
        print(f"store  claim+finish: {rate:8.0f} jobs/s  ({args.jobs} jobs, {args.claimers} concurrent claimers)")
        url2 = args.url or f"sqlite:///{root / 'store2.db'}"
        wrate = await bench_worker(root, url2, max(200, args.jobs // 4))
        print(f"worker noop builds:  {wrate:8.0f} jobs/s  ({max(200, args.jobs // 4)} jobs through Worker + runner)")


if __name__ == "__main__":
    asyncio.run(main())
