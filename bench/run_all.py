"""Run every benchmark in one go (``make bench``); each prints its own side-by-side ratios.

The anchors (mkdocs, LinkChecker, lychee, linkinator, raw WeasyPrint) are installed by the
scripts that need them into ``bench/.work/`` (git-ignored). Expect about 10-15 minutes on 2 cores.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ["bench_queue.py", "bench_submit.py", "bench_intake.py", "bench_render.py", "bench_linkcheck.py",
           "bench_pdf.py", "bench_dashboard.py", "bench_cluster.py"]


def main() -> int:
    failed = []
    for name in SCRIPTS:
        print(f"\n=== {name} ===", flush=True)
        started = time.monotonic()
        rc = subprocess.call([sys.executable, str(HERE / name)], cwd=HERE.parent)
        print(f"--- {name}: exit {rc} in {time.monotonic() - started:.0f} s", flush=True)
        if rc:
            failed.append(name)
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
