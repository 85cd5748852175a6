"""Per-language releases (``[translate] fan_out``): the deploy stage composes with the live release.

A fanned-out build's deploy (``ctx.language`` = the source language) carries the other languages'
folders over from the live release; a translate job's deploy replaces only its ``/<lang>/``. Carried
files are hard links to the live release's.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from stages.base import StageContext, StageResult
from stages.deploy import release
from stages.deploy.options import Options
from stages.deploy.stage import run
from stages.site.options import SiteOptions

LANGS = ["en", "es", "de"]


def _job(data: Path, job_id: str, built: dict[str, str], root_files: bool = True) -> Path:
    """A job workspace whose ``out/`` holds ``{lang: page text}`` (one index page per language)."""
    ws = data / "jobs" / job_id
    out = ws / "out"
    for lang, text in built.items():
        (out / lang).mkdir(parents=True, exist_ok=True)
        (out / lang / "index.html").write_text(f"<html>{text}</html>")
    if root_files:
        (out / "index.html").write_text(f"<html>root of {job_id}</html>")
        (out / "assets").mkdir(exist_ok=True)
        (out / "assets" / "site.css").write_text("body{}")
    return ws


def _ctx(data: Path, ws: Path, language: str | None, built: list[str], target: str | None = None) -> StageContext[Any]:
    source = data / "source"
    for lang in LANGS:
        (source / lang).mkdir(parents=True, exist_ok=True)
        (source / lang / "index.md").write_text(f"# {lang}\n")
    outputs = {"site_dir": "out", "languages": {lang: {"pages": [{"file": f"{lang}/index.html"}]} for lang in built}}
    return StageContext(
        job_id=ws.name, workspace=ws, source=source, out=ws / "out", cache_dir=data / "cache", sites_dir=data / "sites",
        site=SiteOptions(name="docs", base_url="http://127.0.0.1:8080/sites/staging/", default_language="en", languages=LANGS),
        options=Options(), language=language, previous={"render_html": StageResult(outputs=outputs)}, target=target,
    )


def _deploy(data: Path, job_id: str, built: dict[str, str], language: str | None, target: str | None = None) -> StageResult:
    ws = _job(data, job_id, built)
    return asyncio.run(run(_ctx(data, ws, language, list(built), target)))


def _live(data: Path, target: str = "staging") -> Path:
    path = release.current_path(data / "sites" / target)
    assert path is not None
    return path


def test_translation_first_then_source_carries_it_over(tmp_path: Path) -> None:
    _deploy(tmp_path, "trn_de1", {"de": "Hallo"}, "de")
    live = _live(tmp_path)
    assert (live / "de" / "index.html").read_text() == "<html>Hallo</html>"
    assert (live / "index.html").is_file()  # nothing live yet: the job's own root files come along

    result = _deploy(tmp_path, "bld_1", {"en": "Hello"}, "en")
    live = _live(tmp_path)
    assert sorted(p.name for p in live.iterdir()) == ["assets", "de", "en", "index.html"]
    assert (live / "de" / "index.html").read_text() == "<html>Hallo</html>"
    assert (live / "index.html").read_text() == "<html>root of bld_1</html>"
    assert result.outputs["promotion"]["decision"] == "review"  # the source build still asks for promotion


def test_translation_replaces_only_its_language_by_hard_links(tmp_path: Path) -> None:
    _deploy(tmp_path, "bld_1", {"en": "Hello"}, "en")
    _deploy(tmp_path, "trn_es1", {"es": "Hola"}, "es")
    before = _live(tmp_path)
    result = _deploy(tmp_path, "trn_de1", {"de": "Hallo"}, "de")
    live = _live(tmp_path)
    assert live != before
    assert sorted(p.name for p in live.iterdir()) == ["assets", "de", "en", "es", "index.html"]
    # the translate job's own root files are not published over the source build's
    assert (live / "index.html").read_text() == "<html>root of bld_1</html>"
    for rel in ("en/index.html", "es/index.html", "assets/site.css", "index.html"):
        assert os.stat(live / rel).st_ino == os.stat(before / rel).st_ino, rel
    assert result.outputs["language"] == "de"
    assert result.outputs["language_url"] == "http://127.0.0.1:8080/sites/staging/de/"
    assert result.outputs["promotion"] == {"decision": "none", "to": None}

    _deploy(tmp_path, "trn_es2", {"es": "Hola otra vez"}, "es")
    live = _live(tmp_path)
    assert (live / "es" / "index.html").read_text() == "<html>Hola otra vez</html>"
    assert (live / "de" / "index.html").read_text() == "<html>Hallo</html>"


def test_two_languages_deployed_at_once_both_stay(tmp_path: Path) -> None:
    _deploy(tmp_path, "bld_1", {"en": "Hello"}, "en")
    ctxs = [_ctx(tmp_path, _job(tmp_path, f"trn_{lang}1", {lang: lang}), lang, [lang]) for lang in ("es", "de")]

    async def both() -> None:
        await asyncio.gather(*(run(c) for c in ctxs))

    asyncio.run(both())
    assert sorted(p.name for p in _live(tmp_path).iterdir()) == ["assets", "de", "en", "es", "index.html"]


def test_source_release_drops_nothing_it_did_not_build(tmp_path: Path) -> None:
    _deploy(tmp_path, "bld_1", {"en": "Hello"}, "en")
    _deploy(tmp_path, "trn_es1", {"es": "Hola"}, "es")
    _deploy(tmp_path, "bld_2", {"en": "Hello again"}, "en")
    live = _live(tmp_path)
    assert (live / "en" / "index.html").read_text() == "<html>Hello again</html>"
    assert (live / "es" / "index.html").read_text() == "<html>Hola</html>"


def test_every_language_built_together_is_not_composed(tmp_path: Path) -> None:
    _deploy(tmp_path, "trn_es1", {"es": "Hola"}, "es")
    _deploy(tmp_path, "bld_1", {"en": "Hello"}, None)  # fan_out = false: the build's output is the release
    assert sorted(p.name for p in _live(tmp_path).iterdir()) == ["assets", "en", "index.html"]


def test_translation_preview_target_holds_only_that_job(tmp_path: Path) -> None:
    _deploy(tmp_path, "bld_1", {"en": "Hello"}, "en")
    result = _deploy(tmp_path, "trn_de1", {"de": "Hallo"}, "de", target="translation-de")
    preview = _live(tmp_path, "translation-de")
    assert sorted(p.name for p in preview.iterdir()) == ["assets", "de", "index.html"]
    assert result.outputs["live_url"] == "http://127.0.0.1:8080/sites/translation-de/"
    assert not (_live(tmp_path) / "de").exists()


@pytest.mark.parametrize("name", ["translation-de", "translation-pt-BR", "translation-zh_Hans"])
def test_translation_previews_are_preview_targets(name: str) -> None:
    opts = Options()
    target = opts.target_named(name)
    assert target is not None and target.kind == "directory" and target.keep_releases == 1


def test_language_releases_do_not_use_up_keep_releases(tmp_path: Path) -> None:
    """Each build fans out a release per language; ``keep_releases`` still counts builds, so the
    last N builds can be rolled back to however many languages deployed after them."""
    root = tmp_path / "target"
    release.releases_dir(root).mkdir(parents=True)
    names = []
    for build in range(4):
        for job, lang in ((f"bld_{build}", None), (f"trn_{build}_de", "de"), (f"trn_{build}_es", "es")):
            incoming = release.releases_dir(root) / f".incoming-{job}"
            incoming.mkdir()
            (incoming / "index.html").write_text(job)
            names.append(release.finalize(root, incoming, job_id=job, created_at="", files=1, pages=1, language=lang).name)
    release.swap_current(root, names[-1])
    removed = release.prune(root, keep=2)
    left = {r.name for r in release.list_releases(root)}
    assert {"bld_2", "bld_3", "trn_2_de", "trn_2_es", "trn_3_de", "trn_3_es"} == left
    assert set(removed) == {"bld_0", "bld_1", "trn_0_de", "trn_0_es", "trn_1_de", "trn_1_es"}
    assert [r.language for r in release.list_releases(root)][:3] == ["es", "de", None]
