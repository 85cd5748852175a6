"""``pressroom translate extract|mark|status`` as a translator types them: the real command in a
fresh process, in a folder of its own with no config file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

from tests.conftest import CORPUS, REPO, SAMPLES, make_tree

PRESSROOM = REPO / ".venv" / "bin" / "pressroom"


def pressroom(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSROOM_")}
    cmd = [str(PRESSROOM)] if PRESSROOM.exists() else [sys.executable, "-m", "pipeline"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def status(site: Path, cwd: Path, *args: str) -> dict[str, dict[str, object]]:
    r = pressroom("translate", "status", "--json", *args, str(site), cwd=cwd)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["languages"]  # type: ignore[no-any-return]


def test_status_of_content_samples(tmp_path: Path) -> None:
    site = shutil.copytree(SAMPLES, tmp_path / "samples")
    langs = status(site, tmp_path)
    assert list(langs) == ["de", "es"]
    de = langs["de"]
    assert {k: de[k] for k in ("source_pages", "translated", "stale", "missing", "machine", "completion")} == {
        "source_pages": 13, "translated": 2, "stale": 1, "missing": 10, "machine": 0, "completion": 15.4}
    assert de["pages"]["about.md"] == {"state": "stale", "origin": "folder", "path": "de/about.md"}  # type: ignore[index]
    assert langs["es"]["completion"] == 30.8
    text = pressroom("translate", "status", "--pages", str(site), cwd=tmp_path)
    assert text.returncode == 0 and "15.4%" in text.stdout and "30.8%" in text.stdout
    assert "de stale    about.md" in text.stdout


def test_status_of_the_fastapi_corpus(tmp_path: Path) -> None:
    if not CORPUS.is_dir():
        pytest.fail(f"the FastAPI corpus is missing at {CORPUS}")
    site = tmp_path / "fastapi"
    shutil.copytree(CORPUS / "docs", site / "docs")
    langs = status(site, tmp_path)
    assert {lang: (v["completion"], v["translated"], v["missing"], v["source_pages"]) for lang, v in langs.items()} == {
        "de": (79.5, 120, 31, 151), "es": (79.5, 120, 31, 151), "zh": (79.5, 120, 31, 151)}


def test_the_config_names_the_languages(tmp_path: Path) -> None:
    site = shutil.copytree(SAMPLES, tmp_path / "samples")
    (tmp_path / "config.toml").write_text('[site]\nsource = "samples"\nlanguages = ["en", "es"]\n')
    r = pressroom("translate", "status", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert list(json.loads(r.stdout)["languages"]) == ["es"]
    assert list(status(site, tmp_path, "--lang", "de")) == ["de"]


def test_extract_then_translate_then_extract_after_a_source_change(tmp_path: Path) -> None:
    site = make_tree(tmp_path / "site", {
        "en/index.md": "# Welcome\n\nThis is the start page of the handbook.\n\n```sh\npip install x\n```\n",
        "en/guide.md": "# Guide\n\nRead this first.\n", "de/guide.md": "# Anleitung\n\nZuerst lesen.\n"})
    r = pressroom("translate", "extract", "--lang", "de", str(site), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "de: 1 catalogs written, 0 unchanged, 1 pages translated as files" in r.stdout
    catalog = site / "locales/de/index.po"
    assert sorted(p.name for p in (site / "locales/de").iterdir()) == ["index.po"]
    cat = polib.pofile(str(catalog))
    assert [e.msgid for e in cat] == ["Welcome", "This is the start page of the handbook."]
    assert "X-Source-Hash" in cat.metadata
    again = pressroom("translate", "extract", "--lang", "de", str(site), cwd=tmp_path)
    assert "0 catalogs written, 1 unchanged" in again.stdout
    cat[0].msgstr, cat[1].msgstr = "Willkommen", "Dies ist die Startseite des Handbuchs."
    cat.save(str(catalog))
    assert status(site, tmp_path)["de"]["pages"]["index.md"] == {  # type: ignore[index]
        "state": "translated", "origin": "po", "path": "locales/de/index.po"}
    assert status(site, tmp_path)["de"]["completion"] == 100.0
    page = site / "en/index.md"
    page.write_text(page.read_text().replace("start page of the handbook", "start page of this handbook"))
    r = pressroom("translate", "extract", str(site), cwd=tmp_path)
    assert r.returncode == 0 and "1 fuzzy" in r.stdout
    cat = polib.pofile(str(catalog))
    assert [(e.msgid, e.msgstr, e.fuzzy) for e in cat] == [
        ("Welcome", "Willkommen", False),
        ("This is the start page of this handbook.", "Dies ist die Startseite des Handbuchs.", True)]
    assert status(site, tmp_path)["de"]["pages"]["index.md"]["state"] == "stale"  # type: ignore[index]
    every = pressroom("translate", "extract", "--all", "--lang", "de", str(site), cwd=tmp_path)
    assert every.returncode == 0 and (site / "locales/de/guide.po").is_file()


def test_mark_records_the_source_hash(tmp_path: Path) -> None:
    site = make_tree(tmp_path / "site", {"en/a.md": "# A\n\nText.\n", "en/b.md": "# B\n",
                                         "de/a.md": "---\ntitle: A\n---\n# A\n\nText (de).\n", "de/b.md": "# B (de)\n"})
    r = pressroom("translate", "mark", "de", "a.md", str(site / "de/b.md"), "--source", str(site), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "marked a.md (de/a.md) source_hash" in r.stdout and "marked b.md (de/b.md)" in r.stdout
    text = (site / "de/a.md").read_text()
    assert text.startswith('---\ntitle: A\nsource_hash: "') and text.endswith("---\n# A\n\nText (de).\n")
    (site / "en/a.md").write_text("# A\n\nText, changed.\n")
    pages = status(site, tmp_path)["de"]["pages"]
    assert pages["a.md"]["state"] == "stale" and pages["b.md"]["state"] == "translated"  # type: ignore[index]
    r = pressroom("translate", "mark", "de", "a.md", "--source", str(site), cwd=tmp_path)
    assert r.returncode == 0 and status(site, tmp_path)["de"]["stale"] == 0
    unknown = pressroom("translate", "mark", "de", "nope.md", "--source", str(site), cwd=tmp_path)
    assert unknown.returncode == 2 and "nope.md: no de translation" in unknown.stderr
    nothing = pressroom("translate", "mark", "de", "--source", str(site), cwd=tmp_path)
    assert nothing.returncode == 2


def test_mark_unmarked_adopts_existing_translations(tmp_path: Path) -> None:
    site = make_tree(tmp_path / "site", {"en/a.md": "# A\n", "en/b.md": "# B\n", "de/a.md": "# A\n", "de/b.md": "# B\n"})
    r = pressroom("translate", "mark", "de", "--unmarked", "--source", str(site), cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.count("marked ") == 2
    r = pressroom("translate", "mark", "de", "--unmarked", "--source", str(site), cwd=tmp_path)
    assert r.returncode == 0 and "marked" not in r.stdout


def test_a_missing_source_is_a_usage_error(tmp_path: Path) -> None:
    r = pressroom("translate", "status", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert r.returncode == 2
