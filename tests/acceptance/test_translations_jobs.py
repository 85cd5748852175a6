"""Translations fan out (issue #15), against the real daemon process: one translate job per language.

Each test builds ``content-samples/`` (en source, es and de translations). The translate jobs run
``noop`` first, which waits for a gate file per language (``.noop-wait`` in the source), so a test
decides when a language may go on instead of guessing how long anything takes.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.translation_daemon import (
    LANGS,
    archive,
    call,
    children_spawned,
    get,
    live,
    served,
    start,
    submit,
    wait_status,
)

pytestmark = pytest.mark.slow


def test_fan_out_source_live_first_then_each_language(daemon: Any, tmp_path: Path) -> None:
    gates = tmp_path / "gates"
    gates.mkdir()
    d = start(daemon)
    build = submit(d, archive(gates))
    view = children_spawned(d, build)
    assert view["status"] == "COMPLETED"
    assert view["children"] == {"total": 2, "done": 0, "failed": 0}
    # The source language is live while both translations are held at their gate.
    assert {t["status"] for t in view["translations"].values()} <= {"PENDING", "PROCESSING"}
    assert served(d, "/sites/staging/en/")[0] == 200
    assert served(d, "/sites/staging/es/")[0] == 404
    assert [s["name"] for s in view["stages"]] == ["lint", "render_html", "linkcheck", "deploy"]

    ids = {lang: t["translation_id"] for lang, t in view["translations"].items()}
    assert all(i.startswith("trn_") for i in ids.values())
    for lang in LANGS:
        (gates / lang).touch()
    for lang, trn in ids.items():
        wait_status(d, trn, ("COMPLETED",), f"{lang} to complete")
    view = get(d, f"/api/builds/{build}/status")
    assert view["children"] == {"total": 2, "done": 2, "failed": 0}
    for lang in LANGS:
        t = view["translations"][lang]
        assert t["status"] == "COMPLETED" and t["translation_id"] == ids[lang]
        assert t["live_url"] == f"{d.sites_url}/sites/staging/{lang}/"
        assert {"completion", "translated", "stale", "missing", "machine"} <= set(t)
    code, page = served(d, "/sites/staging/es/")
    assert code == 200 and "pequeño sitio" in page
    code, page = served(d, "/sites/staging/de/")
    assert code == 200 and "Pressroom-Beispieldokumentation" in page
    assert served(d, "/sites/staging/en/")[0] == 200
    assert sorted(p.name for p in live(d).iterdir() if p.is_dir()) == ["assets", "de", "en", "es"]

    # One language's full status, as any job's: stages, timestamps, its build, the translation.
    full = get(d, f"/api/translations/{ids['de']}/status")
    assert full["kind"] == "translate" and full["parent_id"] == build and full["language"] == "de"
    assert [(s["name"], s["status"]) for s in full["stages"]] == [
        ("noop", "passed"), ("render_html", "passed"), ("linkcheck", "passed"), ("deploy", "passed")]
    assert full["started_at"] and full["finished_at"]
    assert full["translation"]["published"] is True
    assert full["translation"]["live_url"] == f"{d.sites_url}/sites/staging/de/"
    assert call(d, "GET", f"/api/translations/{build}/status")[0] == 404

    # The next build's English release carries es/ and de/ over (hard links), before its own
    # translations are done.
    before = live(d)
    for lang in LANGS:
        (gates / lang).unlink()
    build2 = submit(d, archive(gates, {"en/changed.md": "# Changed\n\nA new page.\n"}))
    view2 = children_spawned(d, build2)
    assert {t["status"] for t in view2["translations"].values()} <= {"PENDING", "PROCESSING"}
    after = live(d)
    assert after != before and (after / "en" / "changed" / "index.html").is_file()
    for rel in ("es/index.html", "de/index.html"):
        assert (after / rel).stat().st_ino == (before / rel).stat().st_ino, rel
    assert served(d, "/sites/staging/es/")[0] == 200
    for lang in LANGS:
        (gates / lang).touch()
    for t in view2["translations"].values():
        wait_status(d, t["translation_id"], ("COMPLETED",))


def test_cancel_and_retry_one_language_and_the_build(daemon: Any, tmp_path: Path) -> None:
    gates = tmp_path / "gates"
    gates.mkdir()
    d = start(daemon)
    build = submit(d, archive(gates))
    ids = {lang: t["translation_id"] for lang, t in children_spawned(d, build)["translations"].items()}

    code, doc = call(d, "POST", f"/api/translations/{ids['es']}/cancel")
    assert code == 202, doc
    wait_status(d, ids["es"], ("CANCELLED",))
    assert get(d, f"/api/builds/{ids['de']}/status")["status"] in ("PENDING", "PROCESSING")
    assert get(d, f"/api/builds/{build}/status")["children"] == {"total": 2, "done": 1, "failed": 1}
    assert call(d, "POST", f"/api/translations/{build}/cancel")[0] == 404  # a build is not a translation

    code, doc = call(d, "POST", f"/api/translations/{ids['es']}/retry")
    assert code == 202 and doc["status"] == "PENDING", doc
    assert get(d, f"/api/builds/{build}/status")["children"] == {"total": 2, "done": 0, "failed": 0}
    (gates / "es").touch()
    wait_status(d, ids["es"], ("COMPLETED",))
    assert served(d, "/sites/staging/es/")[0] == 200

    # Cancelling the (completed) build stops its translation still running.
    code, doc = call(d, "POST", f"/api/builds/{build}/cancel")
    assert code == 202, doc
    assert doc["status"] == "COMPLETED"
    wait_status(d, ids["de"], ("CANCELLED",))
    view = get(d, f"/api/builds/{build}/status")
    assert view["children"] == {"total": 2, "done": 2, "failed": 1}
    assert view["translations"]["es"]["status"] == "COMPLETED"
    assert call(d, "POST", f"/api/builds/{build}/cancel")[0] == 409  # nothing left to cancel
    assert served(d, "/sites/staging/de/")[0] == 404

    # The builds routes work on a translation's ID too.
    code, doc = call(d, "POST", f"/api/builds/{ids['de']}/retry")
    assert code == 202, doc
    (gates / "de").touch()
    wait_status(d, ids["de"], ("COMPLETED",))
    assert get(d, f"/api/builds/{build}/status")["children"] == {"total": 2, "done": 2, "failed": 0}
    assert served(d, "/sites/staging/de/")[0] == 200


def test_retrying_a_failed_build_makes_no_second_set(daemon: Any, tmp_path: Path) -> None:
    gates = tmp_path / "gates"
    gates.mkdir()
    d = start(daemon, fail_on_broken=True, translate=("noop", "render_html", "deploy"))
    broken = {"en/broken.md": "# Broken\n\nSee [nowhere](nowhere/missing.md).\n"}
    build = submit(d, archive(gates, broken))
    view = children_spawned(d, build)
    assert view["status"] == "FAILED" and view["error"]["code"] == "broken_links", view["error"]
    ids = {lang: t["translation_id"] for lang, t in view["translations"].items()}
    (gates / "es").touch()
    wait_status(d, ids["es"], ("COMPLETED",))
    assert call(d, "POST", f"/api/builds/{ids['de']}/cancel")[0] == 202
    wait_status(d, ids["de"], ("CANCELLED",))

    code, doc = call(d, "POST", f"/api/builds/{build}/retry")
    assert code == 202, doc
    view = wait_status(d, build, ("FAILED",), "the retried build", lambda v: v["attempt"] == 1 and v["finished_at"])
    # Same two children: the completed one untouched, the cancelled one queued again.
    assert {lang: t["translation_id"] for lang, t in view["translations"].items()} == ids
    es = get(d, f"/api/translations/{ids['es']}/status")
    assert es["status"] == "COMPLETED" and es["attempt"] == 1
    assert get(d, f"/api/builds/{ids['de']}/status")["status"] in ("PENDING", "PROCESSING")
    listed = get(d, "/api/builds?kind=translate&limit=50")["jobs"]
    assert sorted(j["job_id"] for j in listed) == sorted(ids.values())
    (gates / "de").touch()
    wait_status(d, ids["de"], ("COMPLETED",))
    assert get(d, f"/api/builds/{build}/status")["children"] == {"total": 2, "done": 2, "failed": 0}


def test_a_newer_build_of_the_branch_supersedes_the_older_languages(daemon: Any, tmp_path: Path) -> None:
    gates = tmp_path / "gates"
    gates.mkdir()
    d = start(daemon)
    old = submit(d, archive(gates), branch="main")
    old_ids = {lang: t["translation_id"] for lang, t in children_spawned(d, old)["translations"].items()}
    new = submit(d, archive(gates, {"en/changed.md": "# Changed\n"}), branch="main")
    new_ids = {lang: t["translation_id"] for lang, t in children_spawned(d, new)["translations"].items()}
    for lang, trn in old_ids.items():
        view = wait_status(d, trn, ("CANCELLED",), f"the older {lang} to stop")
        assert view["error"]["code"] in ("cancelled", "superseded")
    for lang in LANGS:
        (gates / lang).touch()
    for trn in new_ids.values():
        wait_status(d, trn, ("COMPLETED",))
    assert served(d, "/sites/staging/en/changed/")[0] == 200


def test_translate_job_killed_mid_run_resumes_without_the_source(daemon: Any, tmp_path: Path) -> None:
    gates = tmp_path / "gates"
    gates.mkdir()
    d = start(daemon, lease=2, heartbeat=0.5)
    build = submit(d, archive(gates))
    view = children_spawned(d, build)
    ids = {lang: t["translation_id"] for lang, t in view["translations"].items()}
    for trn in ids.values():
        wait_status(d, trn, ("PROCESSING",), check=lambda v: v["stage"] == "noop")
    source_release = live(d)

    d.kill()  # SIGKILL mid-run: both translate jobs keep a lease nobody renews
    d.start()
    for trn in ids.values():
        wait_status(d, trn, ("PROCESSING",), "the reclaimed attempt", lambda v: v["attempt"] == 2)
    for lang in LANGS:
        (gates / lang).touch()
    for lang, trn in ids.items():
        done = wait_status(d, trn, ("COMPLETED",))
        assert done["attempt"] == 2
        events = call(d, "GET", f"/api/builds/{trn}/status")[1]
        assert events["status"] == "COMPLETED"
        assert served(d, f"/sites/staging/{lang}/")[0] == 200

    after = get(d, f"/api/builds/{build}/status")
    assert after["attempt"] == 1 and after["finished_at"] == view["finished_at"]  # the source was not redone
    assert [s["finished_at"] for s in after["stages"]] == [s["finished_at"] for s in view["stages"]]
    assert after["children"] == {"total": 2, "done": 2, "failed": 0}
    assert (live(d) / "en" / "index.html").stat().st_ino == (source_release / "en" / "index.html").stat().st_ino
    with urllib.request.urlopen(f"{d.url}/api/builds/{ids['es']}/events", timeout=30) as r:
        frames = [json.loads(line[6:]) for line in r.read().decode().splitlines() if line.startswith("data: ")]
    assert any(f.get("status") == "PENDING" and f.get("error_code") == "lease_expired" for f in frames)


def test_unpublished_language_goes_to_its_preview_and_completes(daemon: Any, tmp_path: Path) -> None:
    gates = tmp_path / "gates"
    gates.mkdir()
    for lang in LANGS:
        (gates / lang).touch()
    d = start(daemon, extra="[languages.de]\nmin_completion = 50\n")
    build = submit(d, archive(gates))
    ids = {lang: t["translation_id"] for lang, t in children_spawned(d, build)["translations"].items()}
    de = wait_status(d, ids["de"], ("COMPLETED",))
    wait_status(d, ids["es"], ("COMPLETED",))
    full = get(d, f"/api/translations/{ids['de']}/status")
    t = full["translation"]
    assert t["published"] is False and t["live_url"] is None
    assert t["preview_url"] == f"{d.sites_url}/sites/translation-de/de/"
    assert de["live_urls"] == {"translation-de": f"{d.sites_url}/sites/translation-de/"}
    assert served(d, "/sites/translation-de/de/")[0] == 200
    assert served(d, "/sites/staging/de/")[0] == 404
    assert served(d, "/sites/staging/es/")[0] == 200
    entry = get(d, f"/api/builds/{build}/status")["translations"]["de"]
    assert entry["live_url"] is None and entry["preview_url"] == t["preview_url"]
