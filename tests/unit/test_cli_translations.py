"""``pressroom status`` of a fanned-out build lists its languages: each translation's own job,
status and figures, with language codes printed as text (a submitted tree names them)."""

from __future__ import annotations

from rich.console import Console

from pipeline.cli.jobs import print_status

STATUS = {
    "job_id": "bld_1", "kind": "build", "status": "COMPLETED", "stage": "deploy", "progress": 100.0, "stages": [],
    "live_url": "http://127.0.0.1:8081/sites/staging/",
    "translations": {
        "de": {"translation_id": "trn_de", "status": "COMPLETED", "completion": 15.4, "translated": 2, "stale": 1,
               "missing": 10, "machine": 0, "live_url": "http://127.0.0.1:8081/sites/staging/de/"},
        "[bold]es": {"translation_id": "trn_es", "status": "PROCESSING", "completion": None},
    },
}


def test_status_lists_every_language_with_its_figures() -> None:
    console = Console(record=True, width=200)
    print_status(STATUS, console)
    text = console.export_text()
    row = next(line for line in text.splitlines() if line.strip().startswith("de "))
    assert row.split()[:8] == ["de", "trn_de", "COMPLETED", "15.4%", "2", "1", "10", "0"]
    assert "http://127.0.0.1:8081/sites/staging/de/" in row
    assert "[bold]es" in text and "PROCESSING" in text  # markup in a language code is printed, not applied


def test_a_build_without_languages_prints_no_table() -> None:
    console = Console(record=True, width=200)
    print_status({**STATUS, "translations": {}}, console)
    assert "translations" not in console.export_text()
