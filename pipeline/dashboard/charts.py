"""The health page's numbers and their SVG charts, drawn on the server.

Server-side SVG needs no chart library in the browser and prints the same as it shows. Each chart
comes with a table of its numbers (for screen readers and for anyone who wants exact values), and
each series has a dash pattern as well as a colour, so no reading depends on colour alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

WIDTH, HEIGHT = 800, 240
PAD_L, PAD_R, PAD_T, PAD_B = 44, 12, 12, 28
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 4", "10 4")
Span = tuple[str, float, float | None, float | None]


def queue_depth(spans: Sequence[Span], now: float, hours: int = 24, step_minutes: int = 30) -> dict[str, Any]:
    """Peak number of jobs PENDING and PROCESSING per kind in each interval, from job timestamps.

    A peak per interval rather than a sample at its end: a 20-second build still shows. A retried
    job counts as running from its first start; that is the only approximation.
    """
    step = step_minutes * 60
    times = [now - hours * 3600 + i * step for i in range(hours * 3600 // step + 1)]
    events: dict[tuple[str, str], list[tuple[float, int]]] = {}
    for kind, created, started, finished in spans:
        end = math.inf if finished is None else finished
        queued_until = min(end, started) if started is not None else end
        if queued_until > created:
            events.setdefault((kind, "PENDING"), []).extend(((created, 1), (queued_until, -1)))
        if started is not None and end > started:
            events.setdefault((kind, "PROCESSING"), []).extend(((started, 1), (end, -1)))
    series: dict[tuple[str, str], list[int]] = {}
    for key, evs in events.items():
        evs.sort()  # at equal times the -1 sorts first: a job that ends as another starts is not counted twice
        peaks, level, j = [], 0, 0
        for t in times:
            while j < len(evs) and evs[j][0] <= t - step:
                level += evs[j][1]
                j += 1
            peak = level
            while j < len(evs) and evs[j][0] <= t:
                level += evs[j][1]
                j += 1
                peak = max(peak, level)
            peaks.append(peak)
        if any(peaks):
            series[key] = peaks
    ordered = sorted(series.items(), key=lambda kv: (kv[0][0] != "build", kv[0]))
    return {"times": times, "series": [{"name": f"{k} {s.lower()}", "values": v} for (k, s), v in ordered]}


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: an observed value, never an interpolation between two."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return float(sorted_values[min(rank, len(sorted_values)) - 1])


def durations_per_day(points: Sequence[tuple[float, float]], now: float, days: int = 14) -> list[dict[str, Any]]:
    """p50/p95 of run time per UTC day, for the last ``days`` days (empty days included)."""
    by_day: dict[str, list[float]] = {}
    for finished, duration in points:
        by_day.setdefault(_day(finished), []).append(duration)
    out = []
    for i in range(days - 1, -1, -1):
        day = _day(now - i * 86400)
        values = sorted(by_day.get(day, []))
        out.append({"day": day, "count": len(values),
                    "p50": percentile(values, 50) if values else None, "p95": percentile(values, 95) if values else None})
    return out


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        if value <= m * exp:
            return m * exp
    return 10 * exp


def line_chart(labels: Sequence[str], series: Sequence[dict[str, Any]], unit: str = "",
               top: float | None = None) -> dict[str, Any]:
    """Polylines, axis ticks and legend entries for the ``_chart.html`` template; ``top`` fixes the
    y axis (a percentage reads best against 100, not against the highest value seen)."""
    n = max(1, len(labels) - 1)
    if top is None:
        top = _nice_max(max((v for s in series for v in s["values"] if v is not None), default=0.0))
    plot_w, plot_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B

    def xy(i: int, v: float) -> str:
        return f"{PAD_L + plot_w * i / n:.1f},{PAD_T + plot_h * (1 - v / top):.1f}"

    lines = []
    for idx, s in enumerate(series):
        segments: list[str] = []
        current: list[str] = []
        for i, v in enumerate(s["values"]):
            if v is None:
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            current.append(xy(i, float(v)))
        if current:
            segments.append(" ".join(current))
        dots = [seg.split(",") for seg in segments if " " not in seg]  # a lone point draws no line: mark it
        lines.append({"name": s["name"], "segments": segments, "dots": dots, "dash": DASHES[idx % len(DASHES)],
                      "color": f"var(--series-{idx % 6})", "last": s["values"][-1] if s["values"] else None})
    yticks = [{"y": round(PAD_T + plot_h * (1 - f), 1), "label": _fmt(top * f, unit)} for f in (0, 0.5, 1)]
    every = max(1, len(labels) // 6)
    xticks = [{"x": round(PAD_L + plot_w * i / n, 1), "label": labels[i],
               "anchor": "end" if i == n else ("start" if i == 0 else "middle")} for i in range(0, len(labels), every)]
    return {"width": WIDTH, "height": HEIGHT, "lines": lines, "yticks": yticks, "xticks": xticks,
            "x0": PAD_L, "x1": WIDTH - PAD_R, "y0": PAD_T, "y1": HEIGHT - PAD_B}


def _fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.0f}%"
    if unit == "s":
        return f"{value:.0f} s" if value >= 10 or value == 0 else f"{value:.1f} s"
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"
