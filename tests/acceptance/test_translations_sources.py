"""Where a language's pages come from, end to end through the real daemon: a gettext catalog, and
machine translation from a LibreTranslate-compatible stub on 127.0.0.1 (issue #15)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import polib
import pytest

from stages.site.options import SiteOptions
from stages.translate import workflow
from tests.acceptance.translation_daemon import (
    call,
    children_spawned,
    get,
    served,
    start,
    wait_status,
)
from tests.conftest import SAMPLES, tar_gz
from tests.translate_stub import translate_stub

pytestmark = pytest.mark.slow

PAGE = "guide/navigation.md"
SITE = SiteOptions(default_language="en", languages=["en", "es", "de"])
NEVER_SENT = ("```", "def hello", 'print("hello")', "echo hello", "{*", "example-config.toml", "http://",
              "https://", "writing-pages.md", "weight")


def pack(root: Path) -> bytes:
    return tar_gz({p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()})


def build_translations(d: Any, body: bytes) -> dict[str, dict[str, Any]]:
    """Submit, wait for the build and every translation; each language's full status."""
    build = call(d, "POST", "/api/builds", body)[1]["job_id"]
    view = children_spawned(d, build)
    return {lang: wait_status(d, t["translation_id"], ("COMPLETED", "FAILED"), f"{lang} to finish")
            for lang, t in view["translations"].items()}


def test_a_po_catalog_translates_a_missing_page(daemon: Any, tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(SAMPLES, site)
    d = start(daemon, translate=("translate", "render_html", "linkcheck", "deploy"))
    before = build_translations(d, pack(site))["de"]["translation"]
    assert before["source_pages"] and before["missing"] >= 1

    report = workflow.extract(site, SITE, "de")
    assert not report.errors
    catalog = site / "locales" / "de" / PAGE.replace(".md", ".po")
    cat = polib.pofile(str(catalog))
    for entry in cat:
        entry.msgstr = f"PO-DE {entry.msgid}"
    cat.save(str(catalog))
    after = build_translations(d, pack(site))["de"]
    assert after["status"] == "COMPLETED", after["error"]
    t = after["translation"]
    assert (t["translated"], t["missing"], t["machine"]) == (before["translated"] + 1, before["missing"] - 1, 0)
    assert t["stale"] == before["stale"] and t["source_pages"] == before["source_pages"]
    assert t["completion"] == round(100 * t["translated"] / t["source_pages"], 1)
    assert t["published"] is True
    code, page = served(d, "/sites/staging/de/guide/navigation/")
    assert code == 200 and "PO-DE Navigation" in page and "fallback-note" not in page
    parent = get(d, f"/api/builds/{after['parent_id']}/status")["translations"]["de"]
    assert parent["translated"] == t["translated"] and parent["completion"] == t["completion"]


def test_machine_translation_fills_the_gaps_and_waits_for_review(daemon: Any, tmp_path: Path) -> None:
    with translate_stub("MT") as stub:
        d = start(daemon, translate=("translate", "render_html", "linkcheck", "deploy"),
                  extra=f'[translate]\nmachine = true\nprovider = "{stub.url}"\n')
        done = build_translations(d, pack(SAMPLES))
    for lang, job in done.items():
        assert job["status"] == "COMPLETED", (lang, job["error"])
        t = job["translation"]
        assert t["machine"] > 0 and t["missing"] == 0 and t["stale"] == 0
        assert t["translated"] + t["machine"] == t["source_pages"]
        assert t["completion"] == round(100 * t["translated"] / t["source_pages"], 1)  # machine is not complete
        # machine pages are queued for review: previewable, not published
        assert t["published"] is False and t["needs_review"] is True
        assert t["preview_url"].endswith(f"/sites/translation-{lang}/{lang}/")
        assert served(d, f"/sites/staging/{lang}/")[0] == 404
    code, page = served(d, "/sites/translation-es/es/guide/code-and-includes/")
    assert code == 200 and "MT Code and includes" in page and "machine-note" in page
    assert "MT def" not in page and "MT print" not in page and "hello.py" in page  # code blocks stay as written
    assert stub.received and {b.get("target") for b in stub.bodies} == {"es", "de"}
    assert {b.get("source") for b in stub.bodies} == {"en"}
    for text in stub.received:
        for never in NEVER_SENT:
            assert never not in text, (never, text)
