"""Translations: the FastAPI docs in all four languages, fanned out against built one after another.

Two new daemons (``python -m pipeline serve``, SQLite, a 2-process pool, three workers) build the
same copy of ``../shared/corpus/fastapi-docs`` (en source, es/de/zh partly translated), each cold
(an empty data dir and cache), through lint -> render_html -> linkcheck -> deploy:

- fan-out (``[translate] fan_out = true``, the default): the build renders English, then one
  ``translate`` job per other language runs in parallel with the rest of the build;
- serial (``fan_out = false``): one job renders the four languages one after another, as a
  single-process ``mkdocs build`` per language would.

Printed and written: wall time from the end of ``POST /api/builds`` to the last language done
(every translate job finished, or the serial job COMPLETED), the ratio, when English went live
(and whether that came before the first translation finished), and the completion the build's
status reports per language. All figures are cold (new daemons); nothing here is in-process.

    .venv/bin/python bench/bench_translations.py [--runs 1] [--write]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import _report  # bench/_report.py, beside this script
import bench_commit_to_live
from bench_commit_to_live import archive, get, served, submit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from pipeline.testing import DaemonProcess, until  # noqa: E402

WORK = REPO / "bench" / ".work" / "translations"
LANGS = ["en", "es", "de", "zh"]
MARKER = "Translation bench marker"
CONFIG = """
[site]
name = "fastapi-i18n"
title = "FastAPI"
default_language = "en"
languages = {languages}
[stages.lint]
fail_on = "never"
[stages.linkcheck]
fail_on_broken = false
[translate]
fan_out = {fan_out}
"""
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")
STATUS_EVERY = 0.25
"""Seconds between status reads. A fan-out build's status carries every child's entry, and
reading it every 20 ms made the harness the daemon's biggest fan-out-only cost (in a profiled
run 323 reads took 6.0 s of its main thread; the serial build's 404 lighter ones, 3.5 s): the wall comes from the store's
``finished_at``, so reading less often does not round it up."""


def copy_corpus(src: Path, dst: Path) -> None:
    """Every language's docs, ``docs_src`` (the includes) and the stand-in file the corpus lacks."""
    bench_commit_to_live.copy_corpus(src, dst)  # docs/en, docs_src and the stand-in
    for lang in LANGS:
        if lang != "en":
            shutil.copytree(src / "docs" / lang, dst / "docs" / lang, dirs_exist_ok=True)
    index = dst / "docs/en/docs/index.md"
    index.write_text(index.read_text() + f"\n{MARKER} {time.time_ns()}\n")


def _ts(value: str | None) -> float | None:
    return datetime.datetime.fromisoformat(value).timestamp() if value else None


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_one(corpus: Path, fan_out: bool, label: str, translate: int = 2) -> dict[str, Any]:
    """One cold daemon building the corpus; CPU is the daemon's and its pool's (counted once reaped)."""
    cpu0 = _children_cpu()
    root = corpus.parent / label
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    daemon = DaemonProcess(root, workers=3, pipeline=["lint", "render_html", "linkcheck", "deploy"],
                           extra=CONFIG.format(languages=json.dumps(LANGS), fan_out=str(fan_out).lower()))
    text = daemon.config.read_text().replace("processes = 0", "processes = 2")
    daemon.config.write_text(text.replace("[pipeline]\n", f"translate = {translate}\n[pipeline]\n", 1))  # into [workers.concurrency]
    marker = (corpus / "docs/en/docs/index.md").read_text().rsplit(MARKER, 1)[1].split()[0]
    try:
        daemon.start(timeout=60)
        body = archive(corpus)
        job, t0 = submit(daemon.url, body)
        t0_wall = time.time() - (time.monotonic() - t0)
        en_live: float | None = None
        page = f"{daemon.sites_url}/sites/staging/en/"
        next_status = 0.0

        def done() -> dict[str, Any] | None:
            nonlocal en_live, next_status
            if en_live is None and served(page, marker):
                en_live = time.monotonic() - t0
            if time.monotonic() < next_status:
                return None
            next_status = time.monotonic() + STATUS_EVERY
            view = dict(get(daemon.url + f"/api/builds/{job}/status"))
            if view["status"] not in TERMINAL:
                return None
            children = view.get("translations") or {}
            if fan_out and (len(children) < len(LANGS) - 1 or any(c["status"] not in TERMINAL for c in children.values())):
                return None
            return view

        view = until(done, f"build {job} and its translations", 1800, 0.02)
        polled = time.monotonic() - t0
        if en_live is None:
            until(lambda: served(page, marker), "English to be served", 60, 0.02)
            en_live = time.monotonic() - t0
        children: dict[str, Any] = {}
        for lang, child in (view.get("translations") or {}).items():
            full = dict(get(daemon.url + f"/api/translations/{child['translation_id']}/status"))
            finished = _ts(full.get("finished_at"))
            started = _ts(full.get("started_at"))
            children[lang] = {**{k: child.get(k) for k in ("status", "completion", "translated", "stale", "missing", "machine")},
                              "done_after": (finished - t0_wall) if finished else None,
                              "started_after": (started - t0_wall) if started else None,
                              "stages": {s["name"]: round((_ts(s["finished_at"]) or 0) - (_ts(s["started_at"]) or 0), 2)
                                         for s in full.get("stages", []) if s.get("started_at") and s.get("finished_at")}}
        stages = {s["name"]: round((_ts(s["finished_at"]) or 0) - (_ts(s["started_at"]) or 0), 2)
                  for s in view.get("stages", []) if s.get("started_at") and s.get("finished_at")}
        ends = [c["done_after"] for c in children.values()]
        ends.append((_ts(view.get("finished_at")) or polled + t0_wall) - t0_wall)
        wall = max(e for e in ends if e is not None)  # the store's clock: not rounded up to the next poll
        result = {"job": job, "status": view["status"], "wall": wall, "en_live": en_live, "translations": children,
                  "stages": stages}
    finally:
        daemon.stop()
    result["cpu"] = _children_cpu() - cpu0
    return result


def main() -> dict[str, Any]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus" / "fastapi-docs")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--work", type=Path, default=WORK, help="scratch folder (emptied first): two runs at once need two")
    ap.add_argument("--translate-concurrency", type=int, default=2,
                    help="[workers.concurrency] translate of both daemons (the serial one never uses it)")
    args = ap.parse_args()
    args.work = args.work.resolve()  # the daemons run in their own folders
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    corpus = args.work / "corpus"
    copy_corpus(args.corpus, corpus)
    fan, serial = [], []
    for i in range(args.runs):  # alternated, so a load change hits both sides alike
        fan.append(run_one(corpus, True, f"fanout-{i}", args.translate_concurrency))
        serial.append(run_one(corpus, False, f"serial-{i}"))
    fan_wall = statistics.median(r["wall"] for r in fan)
    serial_wall = statistics.median(r["wall"] for r in serial)
    last = fan[-1]
    first_done = min((c["done_after"] for c in last["translations"].values() if c["done_after"] is not None), default=None)
    result = {
        "runs": args.runs, "translate_concurrency": args.translate_concurrency, "cpus": os.cpu_count(), "python": platform.python_version(), "commit": _report.git_rev(),
        "fan_out_wall": fan_wall, "serial_wall": serial_wall, "ratio": fan_wall / serial_wall,
        "en_live_fan_out": statistics.median(r["en_live"] for r in fan),
        "en_live_serial": statistics.median(r["en_live"] for r in serial),
        "first_translation_done": first_done, "translations": last["translations"],
        "statuses": [r["status"] for r in fan + serial],
        "cpu_fan_out": statistics.median(r["cpu"] for r in fan), "cpu_serial": statistics.median(r["cpu"] for r in serial),
        "stages_fan_out": last["stages"], "stages_serial": serial[-1]["stages"],
        "load": " / ".join(f"{x:.1f}" for x in os.getloadavg()[:2]),
    }
    print(json.dumps(result, indent=1))
    if args.write:
        write_section(result)
    return result


def write_section(r: dict[str, Any]) -> None:
    before = r["first_translation_done"] is not None and r["en_live_fan_out"] < r["first_translation_done"]
    rows = [f"| {lang} | {c['status']} | {c['completion']}% | {c['translated']} | {c['stale']} | {c['missing']} | "
            f"{c['machine']} | {c['done_after']:.2f} s |" for lang, c in sorted(r["translations"].items())]
    body = [
        "## Translations: fan-out against one language after another", "",
        f"Measured by `bench/bench_translations.py` (commit {r['commit']}, {r['cpus']} CPUs, load average {r['load']} "
        f"at the end; Python {r['python']}; median of {r['runs']} run(s) per side, alternated). Two new daemons (cold: "
        "empty data dir and cache; three workers, a 2-process pool, SQLite) build the FastAPI docs in en (source), es, de "
        "and zh through lint → render_html → linkcheck → deploy. Fan-out renders English in the build and one "
        "translate job per other language in parallel; serial (`[translate] fan_out = false`) renders the four "
        "languages one after another in one job. The wall is the store's `finished_at` of the last language; "
        f"the status is read every {STATUS_EVERY:g} s (every 20 ms, the reads of a fan-out build's heavier status "
        "were the daemon's largest fan-out-only cost).", "",
        "| | submit → every language done | English served after |", "|---|---|---|",
        f"| fan-out | {r['fan_out_wall']:.2f} s | {r['en_live_fan_out']:.2f} s |",
        f"| serial | {r['serial_wall']:.2f} s | {r['en_live_serial']:.2f} s |", "",
        f"Ratio fan-out / serial: **{r['ratio']:.2f}×** (goal ≤ 0.6× on 2 cores). English was live "
        + (f"before the first translation finished ({r['first_translation_done']:.2f} s)." if before else
           f"**not** before the first translation finished ({r['first_translation_done']})."), "",
        *_cpu_lines(r),
        "Completion as the build's status reports it (translated and up to date / English pages in the nav; "
        "machine pages are not counted as complete), with when each language was done in the last run:", "",
        "| language | job | completion | translated | stale | missing | machine | done after |", "|---|---|---|---|---|---|---|---|",
        *rows, "", "",
    ]
    _report.replace_section("Translations: fan-out against one language after another", "\n".join(body))


def _cpu_lines(r: dict[str, Any]) -> list[str]:
    """Why the ratio is what it is: both sides keep the cores busy, so only less work wins."""
    cores = r["cpus"] or 1
    fan_util = r["cpu_fan_out"] / r["fan_out_wall"] / cores
    serial_util = r["cpu_serial"] / r["serial_wall"] / cores
    floor = r["cpu_fan_out"] / cores / r["serial_wall"]
    busy = float(r["load"].split(" / ")[0]) > cores
    order = ["translate", "lint", "render_html", "linkcheck", "deploy"]
    seen = set(r["stages_serial"]) | set(r["stages_fan_out"]) | {s for c in r["translations"].values() for s in c["stages"]}
    names = [s for s in order if s in seen] + sorted(seen - set(order))

    def cell(stages: dict[str, float], name: str) -> str:
        return f"{stages[name]:.2f} s" if name in stages else "–"

    rows = [f"| {name} | {cell(r['stages_serial'], name)} | {cell(r['stages_fan_out'], name)} | "
            + " | ".join(cell(c["stages"], name) for _, c in sorted(r["translations"].items())) + " |"
            for name in names]
    langs = sorted(r["translations"])
    return [
        f"CPU (the daemon from start to stop, its process pool and rumdl; median): fan-out {r['cpu_fan_out']:.1f} s, serial "
        f"{r['cpu_serial']:.1f} s. Utilization = CPU / wall / {cores} cores: fan-out {fan_util:.0%}, serial "
        f"{serial_util:.0%}"
        + (" (the rest went to other work on the shared machine: the walls are noisy, the CPU seconds much less so)"
           if busy else "") + " (the CPU includes the daemon's start and stop, outside the wall, so a figure "
        "can read above 100%). "
        "The serial job already keeps both cores busy (render_html and linkcheck use the process pool inside "
        "each language), so running the languages side by side can only win by doing less work, and both sides "
        "do the same per-language work (lint, render, link check and deploy of each language). At equal "
        f"utilization the ratio is the CPU ratio, {r['cpu_fan_out'] / r['cpu_serial']:.2f}×; even with both cores "
        f"fully its own the fan-out needs {r['cpu_fan_out'] / cores:.2f} s of wall, {floor:.2f}× this serial wall. "
        "**The 0.6× goal is out of reach on 2 cores**: it needs a fan-out doing 40% less work than the serial "
        "job. Fan-out wins its time where one job leaves cores idle (more cores, a slow external link check, "
        "a remote deploy), and it publishes the source language first (above).", "",
        f"Stage wall times of the last run (serial: all languages in one job; fan-out: the build (en), then "
        f"{', '.join(langs)}, run {r.get('translate_concurrency', 2)} at a time beside the build's last stages):", "",
        "| stage | serial | fan-out build (en) | " + " | ".join(langs) + " |",
        "|---|---|---|" + "---|" * len(langs), *rows, "",
    ]


if __name__ == "__main__":
    main()
