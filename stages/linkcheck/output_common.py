"""What every LinkChecker-compatible output shares: its name, timestamps and durations, and which
rows a run logs (with ``-v``, ``--no-warnings`` and ``every`` occurrence or one row per URL).

Kept apart from :mod:`stages.linkcheck.output` (the CSV and JSON writers and the dispatch by
format) so that the text and HTML writers can use it while ``output`` imports them.
"""

from __future__ import annotations

import time

from stages.linkcheck.checker import Report
from stages.linkcheck.model import Row

APP = "pressroom linkcheck"
DOC_URL = "docs/linkcheck.md in the pressroom repository"


def strtime(t: float) -> str:
    """LinkChecker's timestamp (``2026-11-23 16:38:56+000``)."""
    zone = time.altzone if time.daylight else time.timezone
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) + f"{-zone // 3600:+04d}"


def strduration(seconds: float) -> str:
    """LinkChecker's long duration (``0.42 seconds``, ``1 seconds``, ``2 minutes, 3 seconds``)."""
    if seconds < 1:
        return f"{seconds:.2f} seconds"
    parts = []
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = int(seconds // size)
            seconds -= count * size
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    parts.append(f"{int(seconds)} seconds")
    return ", ".join(parts[:2])


def shown(row: Row, *, verbose: bool, warnings: bool) -> bool:
    """LinkChecker logs every URL with ``-v``; otherwise only errors and (unless
    ``--no-warnings``) URLs with warnings."""
    return verbose or not row.valid or (warnings and bool(row.warnings))


def rows_of(report: Report, every: bool) -> list[Row]:
    """The rows to log: one per distinct URL like LinkChecker, or every occurrence."""
    return report.rows if every else report.entries()


def row_warnings(row: Row, warnings: bool) -> list[tuple[str, str]]:
    return row.warnings if warnings else []
