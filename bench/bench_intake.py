"""Intake benchmark: how long a writer waits for a job ID after saving a file or committing.

Starts a real daemon (``python -m pipeline serve``, noop pipeline) on 127.0.0.1 with a watched
drop folder, and a real git repository with the real post-commit hook installed, then measures:

1. save → job visible in ``GET /api/builds``: a file is written into the drop folder, the clock
   runs until a new job shows up in the API (polled every 20 ms); the debounce window is
   subtracted, because the writer asked for it (goal: ≤ 1 s beyond the debounce);
   once with a 10-file folder and once with a 2,000-file folder (snapshot and hash cost);
2. commit → job ID printed: wall time of ``git commit`` with the hook, minus the same commit with
   the hook switched off (``PRESSROOM_HOOK=off``), so only the hook's own cost is counted
   (goal: ≤ 0.5 s); the full ``git commit`` time is reported too;
3. daemon down: ``git commit`` with the hook pointing at a closed port (goal: < 1 s in total).

    .venv/bin/python bench/bench_intake.py [--runs N] [--debounce S] [--write]

``--write`` replaces the "Intake" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import _report  # bench/_report.py, beside this script

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
sys.path.insert(0, str(REPO))

from pipeline.config import IntakeConfig  # noqa: E402
from pipeline.testing import DaemonProcess, free_port, until  # noqa: E402

INTAKE = """
[intake]
watch = ["{folder}"]
debounce_seconds = {debounce}
"""


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=True)


def newest_folder_job(url: str) -> str | None:
    jobs = get(url + "/api/builds?trigger=folder&limit=1")["jobs"]
    return jobs[0]["job_id"] if jobs else None


def bench_saves(url: str, folder: Path, runs: int, debounce: float, label: str) -> list[float]:
    extra = []
    for i in range(runs):
        before = newest_folder_job(url)
        t0 = time.monotonic()
        (folder / f"edit-{label}.md").write_text(f"# edit {i} at {time.time()}\n")
        until(lambda b=before: (j := newest_folder_job(url)) is not None and j != b, "the job", 60, 0.02)
        extra.append(time.monotonic() - t0 - debounce)
        time.sleep(0.3)  # let the watcher finish writing last-job before the next save
    return extra


def timed_commit(repo: Path, i: int, env: dict[str, str]) -> tuple[float, str]:
    (repo / f"page-{i}.md").write_text(f"# page {i} {time.time()}\n")
    git(repo, "add", "-A", env=env)
    t0 = time.monotonic()
    proc = git(repo, "commit", "-q", "-m", f"edit {i}", env=env)
    return time.monotonic() - t0, proc.stdout + proc.stderr


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--debounce", type=float, default=2.0)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-intake-"))
    folder = root / "drop"
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSROOM_")}
    env.update({"GIT_CONFIG_GLOBAL": str(root / "gitconfig"), "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
                "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com"})
    daemon = DaemonProcess(root, workers=2, extra=INTAKE.format(folder=folder, debounce=args.debounce), env=env)
    url = daemon.url
    defaults = IntakeConfig()
    results: dict[str, Any] = {"runs": args.runs, "debounce": args.debounce, "cpus": os.cpu_count(),
                               "python": platform.python_version(), "stable_checks": defaults.stable_checks,
                               "stable_interval": defaults.stable_interval_seconds}
    try:
        daemon.start()
        (folder / "index.md").write_text("# Home\n")
        until(lambda: newest_folder_job(url), "the first job", 60, 0.02)
        small = bench_saves(url, folder, args.runs, args.debounce, "small")
        before = newest_folder_job(url)
        for n in range(2000):
            sub = folder / f"s{n // 100}"
            sub.mkdir(exist_ok=True)
            (sub / f"p{n}.md").write_text(f"# {n}\n" + "text " * 200)
        until(lambda: newest_folder_job(url) != before, "the big drop's job", 60, 0.02)  # the 2,000-file drop itself is not measured
        time.sleep(1.0)
        large = bench_saves(url, folder, args.runs, args.debounce, "large")

        repo = root / "repo"
        git(root, "init", "-q", "-b", "main", str(repo), env=env)
        (repo / "index.md").write_text("# Repo\n")
        git(repo, "add", "-A", env=env)
        git(repo, "commit", "-q", "-m", "init", env=env)
        subprocess.run([PY, "-m", "pipeline", "hook", "install", str(repo), "--server", url], check=True,
                       capture_output=True, env=env)
        with_hook, without_hook = [], []
        for i in range(args.runs):
            dt, out = timed_commit(repo, i, env)
            job = re.search(r"pressroom: job (\S+)", out)
            assert job, out
            get(f"{url}/api/builds/{job.group(1)}/status")
            with_hook.append(dt)
            dt_off, _ = timed_commit(repo, 1000 + i, {**env, "PRESSROOM_HOOK": "off"})
            without_hook.append(dt_off)
        hook_cost = [a - b for a, b in zip(with_hook, without_hook, strict=True)]
        git(repo, "config", "pressroom.server", f"http://127.0.0.1:{free_port()}", env=env)
        down = []
        for i in range(args.runs):
            dt, out = timed_commit(repo, 2000 + i, env)
            assert "daemon unreachable" in out, out
            down.append(dt)
    finally:
        daemon.stop()
    results["load"] = " / ".join(f"{x:.1f}" for x in os.getloadavg()[:2])
    results.update(save_small=_stats(small), save_large=_stats(large), commit_total=_stats(with_hook),
                   commit_hook=_stats(hook_cost), commit_down=_stats(down))
    print(json.dumps(results, indent=2))
    print(f"daemon log: {root / 'daemon.log'}", file=sys.stderr)
    if args.write:
        write_section(results)
    return results


def _stats(xs: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(xs), 3), "max": round(max(xs), 3), "min": round(min(xs), 3)}


def write_section(r: dict[str, Any]) -> None:
    rev = _report.git_rev()

    def row(name: str, key: str, goal: str) -> str:
        s = r[key]
        return f"| {name} | {s['median']} s | {s['max']} s | {goal} |"

    checks = f"{r['stable_checks']} size check {r['stable_interval']:g} s long" if r["stable_checks"] == 1 else \
        f"{r['stable_checks']} size checks {r['stable_interval']:g} s apart"
    section = f"""## Intake

Measured by `bench/bench_intake.py` ({r['runs']} runs each, commit {rev}, {r['cpus']} CPUs shared with
other work, load average {r['load']} during the run, Python {r['python']}). It runs against a real
`pressroom serve` on 127.0.0.1 (noop pipeline) with the default `[intake]` settings (debounce
{r['debounce']:g} s, {checks}) and the real post-commit hook.

| what | median | worst | goal |
|---|---|---|---|
{row("save in a 10-file drop folder → job in `GET /api/builds`, beyond the debounce", "save_small", "≤ 1 s")}
{row("save in a 2,000-file drop folder → job in `GET /api/builds`, beyond the debounce", "save_large", "≤ 1 s")}
{row("commit → job ID printed: the hook's own cost (commit with hook − without)", "commit_hook", "≤ 0.5 s")}
{row("`git commit` with the hook, whole command", "commit_total", "")}
{row("`git commit` with the hook while the daemon is down", "commit_down", "< 1 s")}

Beyond the debounce, a save costs the size-stability check (the folder is hashed during it),
the snapshot copy into the job's workspace (`snapshot.copy_tree`, one `shutil.copy2` per file)
and the submit. The daemon logs the split for each drop job ("settled and hashed … snapshot and
submit …"). For the 2,000-file folder the copy dominates: ~0.2 s on a quiet machine, 1–5 s when
the shared disk and CPUs are busy, which is where the worst cases come from. To overlap the copy
with the stability wait, the submitter would need to adopt a staged snapshot by renaming it.
`snapshot.new_staging_dir` anticipates this, but no `Submitter` method does it yet.

"""
    _report.replace_section("Intake", section)


if __name__ == "__main__":
    main()
