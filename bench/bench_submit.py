"""Submit latency at 200 concurrent clients against the real daemon (goal: p99 < 50 ms).

Starts `python -m pipeline serve` on SQLite with the no-op pipeline and runs two loads, each with
200 clients submitting small tar.gz archives (distinct content):
  paced     - every client submits once per --interval seconds (an open load of 200/interval per s):
              the latency a writer or CI job sees on a busy daemon;
  saturated - every client submits back to back: the daemon's submit throughput, where latency is
              only queueing (200 in flight / throughput).
Usage: python bench/bench_submit.py [--clients 200] [--per-client 5] [--interval 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipeline.testing import DaemonProcess  # noqa: E402


def archive(i: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = f"# Page {i}\n\nBody.\n".encode()
        info = tarfile.TarInfo("en/index.md")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


async def run(url: str, clients: int, per_client: int, interval: float = 0.0) -> list[float]:
    payloads = [archive(i) for i in range(clients * per_client)]
    latencies: list[float] = []
    conn = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=conn) as s:
        async def client(c: int) -> None:
            if interval:
                await asyncio.sleep(interval * c / clients)
            for k in range(per_client):
                started = time.perf_counter()
                body = payloads[c * per_client + k]
                t = time.perf_counter()
                async with s.post(url + "/api/builds", data=body, headers={"Content-Type": "application/gzip"}) as r:
                    await r.read()
                    assert r.status == 202, r.status
                latencies.append((time.perf_counter() - t) * 1000)
                if interval:
                    await asyncio.sleep(max(0.0, interval - (time.perf_counter() - started)))

        await asyncio.gather(*[client(c) for c in range(clients)])
    return latencies


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--per-client", type=int, default=5)
    ap.add_argument("--interval", type=float, default=1.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        daemon = DaemonProcess(Path(tmp), extra="")
        # the daemon's default process pool (2), which unpacks uploads off the event loop's core
        daemon.config.write_text(daemon.config.read_text().replace("processes = 0", "processes = 2"))
        daemon.start()
        url = daemon.url
        try:
            asyncio.run(run(url, 10, 2))  # warm-up
            paced = sorted(asyncio.run(run(url, args.clients, args.per_client, args.interval)))
            t = time.perf_counter()
            saturated = sorted(asyncio.run(run(url, args.clients, args.per_client)))
            rate = len(saturated) / (time.perf_counter() - t)
        finally:
            daemon.stop()
    for name, lat in (("paced", paced), ("saturated", saturated)):
        q = statistics.quantiles(lat, n=100)
        load = f"{args.clients / args.interval:.0f} submits/s offered" if name == "paced" else f"{rate:.0f} submits/s achieved"
        print(f"{name:<9} {args.clients} clients, {len(lat)} submits ({load}): "
              f"p50 {q[49]:.1f} ms  p95 {q[94]:.1f} ms  p99 {q[98]:.1f} ms  max {lat[-1]:.1f} ms")


if __name__ == "__main__":
    main()
