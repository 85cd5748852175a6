"""Pure presentation: timeline geometry, queue depth, percentiles, diff layout, and the store reads."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from pipeline.dashboard import charts, diffview, present, views
from pipeline.store import Job, JobSpec, Store
from tests.dashboard import seed


def job(**kw: Any) -> Job:
    return Job(**{"id": "bld_1", "kind": "build", "status": "COMPLETED", "created_at": 100.0, "updated_at": 100.0, **kw})


def test_timeline_bars_are_fractions_of_the_whole_life() -> None:
    j = job(started_at=110.0, finished_at=200.0)
    stages: list[dict[str, Any]] = [{"name": "lint", "status": "passed", "started_at": 110.0, "finished_at": 130.0},
              {"name": "render_html", "status": "failed", "started_at": 130.0, "finished_at": 200.0},
              {"name": "deploy", "status": "skipped", "started_at": None, "finished_at": None}]
    t = present.timeline(j, stages)
    bars = {b["name"]: b for b in t["bars"]}
    assert (bars["queue"]["left"], bars["queue"]["width"]) == (0.0, 10.0)
    assert (bars["lint"]["left"], bars["lint"]["width"]) == (10.0, 20.0)
    assert (bars["render_html"]["left"], bars["render_html"]["width"]) == (30.0, 70.0)
    assert bars["render_html"]["badge"]["label"] == "failed" and bars["deploy"]["empty"]
    assert t["total"] == "1 min 40 s"


def test_running_stage_extends_to_now_and_pending_job_waits() -> None:
    running = present.timeline(job(status="PROCESSING", started_at=100.0), [
        {"name": "noop", "status": "running", "started_at": 100.0, "finished_at": None}], now=150.0)
    assert running["bars"][1]["width"] == 100.0
    waiting = present.timeline(job(status="PENDING"), [], now=130.0)
    assert waiting["bars"][0]["badge"]["label"] == "waiting" and waiting["bars"][0]["width"] == 100.0


def test_row_words_and_icons_never_colour_alone() -> None:
    for status, (label, icon) in present.STATUS.items():
        row = present.row_view(job(status=status, started_at=101.0, finished_at=111.0 if status != "PENDING" else None))
        assert row["badge"]["label"] == label and row["badge"]["icon"] == icon
    row = present.row_view(job(result={"warnings": 2, "counts": {"linkcheck.broken": 3}}, started_at=100.0, finished_at=165.0))
    assert (row["warnings"], row["broken"], row["duration"]) == (2, 3, "1 min 05 s")


def test_trigger_view_for_commit_folder_and_api() -> None:
    commit = present.trigger_view({"kind": "commit", "sha": "0123456789abcdef", "author": "Ada", "message": "Fix\nbody",
                                   "branch": "main"})
    assert (commit["label"], commit["sha"], commit["message"], commit["branch"]) == ("Commit", "0123456789", "Fix", "main")
    assert present.trigger_view({"kind": "folder", "folder": "drop/en"})["detail"] == "drop/en"
    assert present.trigger_view({"kind": "api", "token": "ci"})["label"] == "API"


def test_eta_matches_the_status_contract() -> None:
    assert present.eta(job(status="PENDING"), 3, 60.0, 2) == 120.0
    assert present.eta(job(status="PROCESSING", progress=25.0), None, 60.0, 2) == 45.0
    assert present.eta(job(status="COMPLETED"), None, 60.0, 2) is None


def test_matches_filters() -> None:
    j = job(status="FAILED", supersede_key="main", trigger={"kind": "webhook"})
    assert present.matches(j, {"status": "FAILED,CANCELLED", "branch": "main", "trigger": "webhook"})
    assert not present.matches(j, {"status": "PENDING"})
    assert not present.matches(j, {"kind": "deliver"}) and present.matches(j, {"kind": "all"})


def _naive_peaks(spans: list[charts.Span], times: list[float], step: float, kind: str, state: str) -> list[int]:
    """Brute force: spans start and end on a 5 s grid, and the level just after t - step counts."""
    out = []
    for t in times:
        peak = 0
        for k in range(0, int(step) + 1, 5):
            at = t - step + k
            n = 0
            for sk, created, started, finished in spans:
                end = finished if finished is not None else float("inf")
                alive = created <= at < end
                running = started is not None and started <= at
                if sk == kind and alive and (running if state == "PROCESSING" else not running):
                    n += 1
            peak = max(peak, n)
        out.append(peak)
    return out


def test_queue_depth_peaks_match_brute_force() -> None:
    rng = random.Random(7)
    spans: list[charts.Span] = []
    for _ in range(60):
        created = 5.0 * rng.randint(0, 600)
        started = created + 5 * rng.randint(0, 60) if rng.random() < 0.8 else None
        finished = (started or created) + 5 * rng.randint(1, 80) if rng.random() < 0.8 else None
        spans.append(("build", created, started, finished))
    depth = charts.queue_depth(spans, now=3600, hours=1, step_minutes=1)
    got = {s["name"]: s["values"] for s in depth["series"]}
    for state in ("PENDING", "PROCESSING"):
        assert got[f"build {state.lower()}"] == _naive_peaks(spans, depth["times"], 60, "build", state)


def test_percentiles_per_day() -> None:
    assert charts.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50) == 5
    assert charts.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95) == 10
    now = 10 * 86400 + 3600
    days = charts.durations_per_day([(now - 60, 10.0), (now - 120, 30.0), (now - 86400, 5.0)], now, days=3)
    assert [d["count"] for d in days] == [0, 1, 2]
    assert (days[2]["p50"], days[2]["p95"]) == (10.0, 30.0) and days[0]["p50"] is None


def test_line_chart_breaks_lines_at_missing_days() -> None:
    c = charts.line_chart(["a", "b", "c", "d"], [{"name": "p50", "values": [1.0, None, 3.0, 4.0]}], unit="s")
    assert len(c["lines"][0]["segments"]) == 2 and c["yticks"][-1]["label"] == "5.0 s"


def test_side_by_side_diff() -> None:
    rows = diffview.side_by_side("a\nb\nc\n", "a\nB\nc\nd\n")
    assert [(r["tag"], r["left"], r["right"]) for r in rows] == [
        ("equal", "a", "a"), ("replace", "b", "B"), ("equal", "c", "c"), ("insert", None, "d")]
    far = diffview.side_by_side("\n".join(map(str, range(40))), "\n".join(map(str, range(40))).replace("35", "x"))
    assert far[0]["lno"] == 33 and far[-1]["lno"] == 39, "three lines of context around line 36"


def test_unified_diff_in_two_columns_and_tolerant_shapes() -> None:
    rows = diffview.from_unified("--- a\n+++ b\n@@ -1,3 +1,3 @@\n keep\n-old\n+new\n same\n")
    assert [(r["tag"], r["lno"], r["left"], r["rno"], r["right"]) for r in rows] == [
        ("equal", 1, "keep", 1, "keep"), ("replace", 2, "old", 2, "new"), ("equal", 3, "same", 3, "same")]
    p = diffview.preview({"added": ["x.html", {"path": "y.html", "url": "/y"}, 7], "changed": ["z.html"]})
    assert [a["path"] for a in p["added"]] == ["x.html", "y.html"] and p["changed"][0]["rows"] is None
    assert diffview.preview(None)["empty"]


def test_artifact_links(tmp_path: Path) -> None:
    root = tmp_path / "jobs" / "bld_1"
    (root / "out" / "en").mkdir(parents=True)
    (root / "out" / "en" / "index.html").write_text("<html>")
    j = job(result={"artifacts": {"site": "out", "pdf.en": "out/pdf/en.pdf", "reports.linkcheck": "reports/linkcheck.csv"}})
    links = {a["name"]: a for a in views._artifacts(j, tmp_path)}
    assert links["site"]["url"] == "/api/builds/bld_1/artifacts/out/en/index.html"
    assert links["pdf.en"]["label"] == "PDF (en)" and links["reports.linkcheck"]["file"] == "linkcheck.csv"


async def test_store_dashboard_reads(tmp_path: Path) -> None:
    clock = seed.Clock(1000.0)
    store = await Store.open(f"sqlite:///{tmp_path / 'x.db'}", clock=clock)
    try:
        done = await seed.finished_job(store, clock, created=1000.0, wait=5, run=20)
        clock.now = 2000.0
        low = (await store.submit(JobSpec(kind="build", priority=10, dedupe=False))).job
        high = (await store.submit(JobSpec(kind="build", priority=90, dedupe=False))).job
        mid = (await store.submit(JobSpec(kind="build", dedupe=False))).job
        order = await store.pending_ids()
        assert order == [high.id, mid.id, low.id]
        for j in (low, high, mid):
            assert await store.queue_position(await store.get(j.id)) == order.index(j.id) + 1
        kinds = [e["type"] for e in await store.transitions(done)]
        assert "progress" not in kinds and kinds[0] == "status" and "stage" in kinds
        assert await store.completed_durations("build", 0) == [(1025.0, 20.0)]
        assert await store.completed_durations("build", 1026) == []
        spans = await store.job_spans(1500.0)
        assert {s[1] for s in spans} == {2000.0} and len(spans) == 3
    finally:
        await store.close()


def test_difflib_table_read_back_as_text_rows() -> None:
    import difflib

    table = difflib.HtmlDiff(wrapcolumn=70).make_table(
        ["Welcome to the docs.", "Old line", "Same", "x" * 80] + ["k"] * 10 + ["end"],
        ["Welcome to the new docs.", "Same", "x" * 80, "Added <b> line"] + ["k"] * 10 + ["END"],
        "live", "candidate", context=True, numlines=2)
    rows = diffview.from_difflib_table(table)
    assert rows[0]["tag"] == "replace" and rows[0]["rseg"] == [("Welcome to the", False), (" new", True), (" docs.", False)]
    assert (rows[1]["tag"], rows[1]["left"], rows[1]["right"]) == ("delete", "Old line", None)
    assert (rows[4]["lno"], rows[4]["left"]) == (None, "x" * 10), "a wrapped line continues without a number"
    assert (rows[5]["tag"], rows[5]["right"]) == ("insert", "Added <b> line"), "text, not markup"
    assert [r["tag"] for r in rows].count("gap") == 1 and rows[-1]["tag"] == "replace"
    p = diffview.preview({"added": ["en/new/"], "changed": [{"url": "en/", "added_lines": 1, "removed_lines": 0,
                                                             "diff_html": table}], "truncated": True})
    assert p["changed"][0]["path"] == "en/" and p["changed"][0]["stats"] == {"added": 1, "removed": 0} and p["truncated"]
