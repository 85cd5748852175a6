"""Audit benchmark: our whole audit of the deployed FastAPI site against LinkChecker's links alone.

One run builds ``../shared/corpus/fastapi-docs`` (all its languages: en, de, es, zh) with
``pressroom build`` (render_html only) into bench/.work/audit/site, serves that folder on
127.0.0.1 (aiohttp, the ``LinkChecker`` header sent so LinkChecker does not pace itself), and
times, each as a subprocess with interpreter start-up included:

- LinkChecker 10.x tuned as in bench_linkcheck.py (``maxrequestspersecond=1000``, ``-t 50``,
  ``[AnchorCheck]``), external links off (its default), crawling the served site;
- our audit with every check (links, anchors, images, assets, orphans, stale, metadata,
  headings, PDFs; external off), reading the same folder the way the ``audit`` job reads a
  target's live release.

Goal: our whole audit in less than half LinkChecker's time for links alone.

    .venv/bin/python bench/bench_audit.py [--rebuild] [--runs 3] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import _report  # bench/_report.py, beside this script
import bench_linkcheck
from aiohttp import web

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
WORK = REPO / "bench" / ".work" / "audit"
CORPUS = REPO.parent / "shared" / "corpus" / "fastapi-docs"
CONFIG = """[pipeline]
build = ["render_html"]
[site]
name = "fastapi-bench"
title = "FastAPI"
languages = ["en", "de", "es", "zh"]
[workers]
processes = 2
"""


def build_site(rebuild: bool) -> Path:
    site = WORK / "site"
    if site.is_dir() and not rebuild:
        return site
    shutil.rmtree(WORK, ignore_errors=True)
    corpus = WORK / "corpus"
    shutil.copytree(CORPUS / "docs", corpus / "docs")
    shutil.copytree(CORPUS / "docs_src", corpus / "docs_src")
    stub = corpus / "fastapi/openapi/docs.py"  # a file one page includes and the corpus lacks
    stub.parent.mkdir(parents=True)
    stub.write_text("".join(f"# stand-in line {i} for the benchmark\n" for i in range(1, 40)))
    (WORK / "cfg.toml").write_text(CONFIG)
    subprocess.run([sys.executable, "-m", "pipeline", "--config", str(WORK / "cfg.toml"), "build", str(corpus),
                    "--out", str(site)], check=True, capture_output=True, cwd=REPO)
    return site


async def serve(root: Path) -> tuple[web.AppRunner, str]:
    async def handle(request: web.Request) -> web.StreamResponse:
        path = (root / request.path.lstrip("/")).resolve()
        if root not in path.parents and path != root:
            raise web.HTTPNotFound(headers={"LinkChecker": "1"})
        if path.is_dir():
            path = path / "index.html"
        if not path.is_file():
            raise web.HTTPNotFound(headers={"LinkChecker": "1"})
        return web.FileResponse(path, headers={"LinkChecker": "1"})

    app = web.Application()
    app.router.add_route("GET", "/{path:.*}", handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, backlog=2048).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def limited(limit: float, *args: str) -> tuple[float, int | None, str]:
    """``bench_linkcheck.timed`` with a time limit: past it the command is killed and the wall
    time reported is the limit (exit code None: "did not finish")."""
    cpu = bench_linkcheck._children_cpu()
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), limit)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        bench_linkcheck.CPU["last"] = bench_linkcheck._children_cpu() - cpu
        return time.perf_counter() - started, None, ""
    bench_linkcheck.CPU["last"] = bench_linkcheck._children_cpu() - cpu
    return time.perf_counter() - started, proc.returncode or 0, out.decode("utf-8", "replace")


def inner(site: str, base_url: str) -> None:
    """The audit itself (run as a subprocess by :func:`main`): print its counts as JSON."""
    from stages.audit import stage
    from stages.audit.model import AuditOptions

    result = asyncio.run(stage.run(Path(site), AuditOptions(base_url=base_url, pdf_expected=False), now=time.time()))
    per: dict[str, int] = {}
    for f in result.findings:
        per[f.check] = per.get(f.check, 0) + 1
    print(json.dumps({"counts": result.counts, "per_check": per}))


async def run(args: argparse.Namespace) -> dict[str, Any]:
    site = build_site(args.rebuild)
    runner, origin = await serve(site)
    folder = bench_linkcheck.public_dir()
    rc = bench_linkcheck.linkchecker_config(folder)
    ours: list[float] = []
    theirs: list[float] = []
    cpu_ours: list[float] = []
    cpu_theirs: list[float] = []
    found: dict[str, Any] = {}
    try:
        for _ in range(args.runs):
            seconds, code, out = await bench_linkcheck.timed(sys.executable, str(Path(__file__)), "--inner", str(site),
                                                             origin + "/")
            assert code == 0, out
            ours.append(seconds)
            cpu_ours.append(bench_linkcheck.CPU["last"])
            found = json.loads(out.strip().splitlines()[-1])
            print(f"our audit (all checks)        {seconds:7.2f} s  cpu {cpu_ours[-1]:.2f} s  {found['counts']}", flush=True)
            seconds, lc_code, out = await limited(args.limit, str(bench_linkcheck.LINKCHECKER), "-f", str(rc), "-t", "50",
                                               "--no-status", "-o", "csv", origin + "/")
            theirs.append(seconds)
            cpu_theirs.append(bench_linkcheck.CPU["last"])
            broken, anchors = bench_linkcheck.verdicts(out) if lc_code is not None else (set(), set())
            print(f"LinkChecker (links, tuned)    {seconds:7.2f} s  cpu {cpu_theirs[-1]:.2f} s  exit {lc_code}  "
                  f"{len(broken)} broken, {len(anchors)} missing anchors", flush=True)
    finally:
        await runner.cleanup()
    return {"ours": statistics.median(ours), "theirs": statistics.median(theirs), "ours_all": ours, "theirs_all": theirs,
            "cpu_ours": statistics.median(cpu_ours), "cpu_theirs": statistics.median(cpu_theirs), "found": found,
            "lc_broken": len(broken), "lc_anchors": len(anchors), "lc_finished": lc_code is not None, "limit": args.limit, "pages": found["counts"]["pages"],
            "files": found["counts"]["files"], "load": os.getloadavg()[0], "runs": args.runs}


def write_section(r: dict[str, Any]) -> None:
    ratio = r["ours"] / r["theirs"]
    per = ", ".join(f"{k} {v}" for k, v in sorted(r["found"]["per_check"].items()))
    lines = [
        "## Audit", "",
        f"Measured by `bench/bench_audit.py` (commit {_report.git_rev()}, median of {r['runs']} runs, "
        f"{os.cpu_count()} CPUs shared with seven other engineers' work: load average {r['load']:.1f} at the end, so "
        "every wall-clock figure is noisy; CPU time is steadier). The FastAPI docs, all four languages "
        f"(en, de, es, zh), built by `pressroom build`: {r['pages']} pages, {r['files']} files, served on 127.0.0.1. "
        f"Python {platform.python_version()}, LinkChecker 10.6.0; external links off for both.", "",
        "| what | wall | CPU |", "|---|---|---|",
        f"| pressroom audit, all checks (links, anchors, images, assets, orphans, stale, metadata, headings) | "
        f"{r['ours']:.2f} s | {r['cpu_ours']:.2f} s |",
        "| LinkChecker, links and anchors only (tuned: `maxrequestspersecond=1000`, `-t 50`, `[AnchorCheck]`) | "
        + (f"{r['theirs']:.2f} s" if r["lc_finished"] else f"> {r['theirs']:.0f} s (stopped at the {r['limit']:.0f} s limit, unfinished)")
        + f" | {r['cpu_theirs']:.2f} s |", "",
        f"- **Ratio**: our whole audit takes {ratio:.2f}× LinkChecker's time for links alone "
        f"(goal: < 0.5×: {'met' if ratio < 0.5 else 'not met'}). Runs: ours "
        + ", ".join(f"{s:.2f}" for s in r["ours_all"]) + " s; LinkChecker " + ", ".join(f"{s:.2f}" for s in r["theirs_all"]) + " s.",
        f"- **What ours found**: {per}. "
        + (f"LinkChecker: {r['lc_broken']} broken URLs, {r['lc_anchors']} missing anchors." if r["lc_finished"]
           else "LinkChecker's verdicts are unknown (it was stopped before it wrote them)."),
        "- **Not the same crawl**: LinkChecker fetches every page over HTTP; the audit reads the release folder the "
        "sites origin serves (as the `audit` job does on a target's `current` release), so it has no HTTP cost for "
        "internal links. Both start from the site's pages and run as a fresh process (interpreter start-up included).",
        "",
        "Run it: `.venv/bin/python bench/bench_audit.py [--rebuild] [--runs 3] [--write]` (the build is cached in "
        "bench/.work/audit/).", "",
    ]
    _report.replace_section("Audit", "\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--inner", nargs=2, metavar=("SITE", "BASE_URL"), help=argparse.SUPPRESS)
    ap.add_argument("--rebuild", action="store_true", help="build the site again")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--limit", type=float, default=1800.0, help="seconds LinkChecker may take before it is stopped")
    ap.add_argument("--write", action="store_true", help="write the Audit section of docs/benchmarks.md")
    args = ap.parse_args()
    if args.inner:
        inner(*args.inner)
        return
    result = asyncio.run(run(args))
    print(json.dumps({k: v for k, v in result.items() if k != "found"}, indent=1))
    if args.write:
        write_section(result)


if __name__ == "__main__":
    main()
