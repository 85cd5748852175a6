"""The translate stage as a job runs it: outputs, findings, the overlay of PO and machine pages,
git dates recorded beside a snapshot, and the [translate] table as its options."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import stages.translate
from pipeline.config.schema import Config, TranslateConfig
from stages import registry
from stages.base import StageError
from stages.context import local_context
from stages.site.gitdates import SIDECAR
from stages.translate import po, stage
from stages.translate.options import TranslateOptions
from tests.conftest import SAMPLES, make_tree


def _ctx(source: Path, tmp: Path, lang: str | None, **options: Any) -> Any:
    ws = tmp / "ws"
    ws.mkdir(exist_ok=True)
    return local_context(source, ws / "out", workspace=ws, options=TranslateOptions(**options), language=lang)


async def test_content_samples_german(tmp_path: Path) -> None:
    result = await stage.run(_ctx(SAMPLES, tmp_path, "de"))
    assert result.status == "passed"
    out = result.outputs
    assert {k: out[k] for k in ("language", "source_language", "overlay_dir", "source_pages", "translated", "stale",
                                 "missing", "machine", "completion")} == {
        "language": "de", "source_language": "en", "overlay_dir": "translate/de", "source_pages": 13,
        "translated": 2, "stale": 1, "missing": 10, "machine": 0, "completion": 15.4}
    assert result.counts == {"source_pages": 13, "translated": 2, "stale": 1, "missing": 10, "machine": 0}
    assert out["pages"]["about.md"] == {"state": "stale", "origin": "folder", "path": "de/about.md"}
    assert out["pages"]["index.md"] == {"state": "translated", "origin": "folder", "path": "de/index.md"}
    stale = [f for f in result.findings if f.rule == "translation-stale"]
    assert [(f.file, f.severity, f.language) for f in stale] == [("de/about.md", "warning", "de")]
    assert sum(f.rule == "translation-missing" for f in result.findings) == 10
    assert (tmp_path / "ws/translate/de").is_dir() and not any((tmp_path / "ws/translate/de").iterdir())
    json.dumps(out)  # stored as the job's result


async def test_a_translated_catalog_becomes_an_overlay_page(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "site", {"en/index.md": "# Home\n\nWelcome.\n\n```\nkeep()\n```\n",
                                         "en/guide.md": "# Guide\n\nRead this.\n"})
    cat, _ = po.extract((src / "en/index.md").read_text(), "index.md", "fr")
    for entry in cat:
        entry.msgstr = {"Home": "Accueil", "Welcome.": "Bienvenue."}[entry.msgid]
    path = po.catalog_path(src, "po", "fr", "index.md")
    path.parent.mkdir(parents=True)
    cat.save(str(path))
    result = await stage.run(_ctx(src, tmp_path, "fr", po_dir="po"))
    assert result.outputs["pages"]["index.md"] == {"state": "translated", "origin": "po", "path": "translate/fr/index.md"}
    assert (tmp_path / "ws/translate/fr/index.md").read_text() == "# Accueil\n\nBienvenue.\n\n```\nkeep()\n```\n"
    assert result.outputs["completion"] == 50.0
    again = await stage.run(_ctx(src, tmp_path, "fr"))  # default po_dir "locales": no catalog there
    assert again.outputs["pages"]["index.md"]["state"] == "missing"
    assert not (tmp_path / "ws/translate/fr/index.md").exists()  # the overlay is this run's alone


@pytest.fixture
def fake_machine(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Stands in for stages/translate/machine.py (another part): records each call."""
    calls: list[dict[str, Any]] = []
    module = types.ModuleType("stages.translate.machine")

    async def translate_pages(texts: dict[str, str], *, source: str, target: str, provider: str,
                              api_key: str | None, timeout: float) -> dict[str, str]:
        calls.append({"texts": texts, "source": source, "target": target, "provider": provider,
                      "api_key": api_key, "timeout": timeout})
        if provider.endswith(":9"):
            raise ConnectionError("provider down")
        return {src: text.replace("# ", f"# [{target}] ") for src, text in texts.items()}

    module.translate_pages = translate_pages  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "stages.translate.machine", module)
    monkeypatch.setattr(stages.translate, "machine", module, raising=False)
    return calls


async def test_machine_translation_fills_missing_and_stale_pages(tmp_path: Path, fake_machine: list[dict[str, Any]],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T1A_MT_KEY", "s3cret")
    src = make_tree(tmp_path / "site", {
        "en/a.md": "# A\n", "en/b.md": "---\ntitle: B\n---\n# B\n", "en/c.md": "# C\n",
        "de/a.md": "# A (de)\n", "de/c.md": '---\nsource_hash: "0000000000000000"\n---\n# C (alt)\n'})
    result = await stage.run(_ctx(src, tmp_path, "de", machine=True, provider="http://127.0.0.1:5000",
                                  api_key_env="T1A_MT_KEY", request_timeout=7))
    [call] = fake_machine
    assert sorted(call["texts"]) == ["b.md", "c.md"]
    assert call["texts"]["c.md"] == "# C\n"  # the source page, not the stale translation
    assert (call["source"], call["target"], call["api_key"], call["timeout"]) == ("en", "de", "s3cret", 7)
    pages = result.outputs["pages"]
    assert pages["b.md"] == {"state": "machine", "origin": "machine", "path": "translate/de/b.md"}
    assert pages["c.md"]["state"] == "machine" and pages["a.md"]["state"] == "translated"
    assert (tmp_path / "ws/translate/de/b.md").read_text() == "---\ntitle: B\nmachine_translated: true\n---\n# [de] B\n"
    assert (tmp_path / "ws/translate/de/c.md").read_text() == "---\nmachine_translated: true\n---\n# [de] C\n"
    assert (result.outputs["machine"], result.outputs["translated"], result.outputs["completion"]) == (2, 1, 33.3)
    assert {f.rule for f in result.findings} == {"translation-machine"}
    assert "s3cret" not in json.dumps(result.outputs)


async def test_machine_translation_is_off_unless_asked_and_a_failure_is_a_finding(
        tmp_path: Path, fake_machine: list[dict[str, Any]]) -> None:
    src = make_tree(tmp_path / "site", {"en/a.md": "# A\n", "de/b.md": "# B\n"})
    off = await stage.run(_ctx(src, tmp_path, "de", provider="http://127.0.0.1:5000"))
    no_provider = await stage.run(_ctx(src, tmp_path, "de", machine=True))
    assert not fake_machine and off.outputs["missing"] == no_provider.outputs["missing"] == 1
    down = await stage.run(_ctx(src, tmp_path, "de", machine=True, provider="http://127.0.0.1:9"))
    assert down.status == "passed" and down.outputs["missing"] == 1 and down.outputs["machine"] == 0
    failed = [f for f in down.findings if f.rule == "translation-machine-failed"]
    assert len(failed) == 1 and "provider down" in failed[0].message and failed[0].severity == "warning"


async def test_git_dates_recorded_beside_a_snapshot(tmp_path: Path) -> None:
    """A job's snapshot has no .git: the dates the submission recorded say what is stale."""
    src = make_tree(tmp_path / "ws/source", {"en/a.md": "# A\n", "en/b.md": "# B\n", "de/a.md": "# A\n", "de/b.md": "# B\n"})
    (tmp_path / "ws" / SIDECAR).write_text(json.dumps({"files": {
        "en/a.md": 200, "de/a.md": 100, "en/b.md": 100, "de/b.md": 200}, "note": ""}))
    result = await stage.run(_ctx(src, tmp_path, "de"))
    assert result.outputs["pages"]["a.md"]["state"] == "stale"
    assert result.outputs["pages"]["b.md"]["state"] == "translated"


async def test_a_translate_job_reads_the_dates_beside_its_builds_snapshot(tmp_path: Path) -> None:
    build = tmp_path / "data/jobs/bld1"
    src = make_tree(build / "source", {"en/a.md": "# A\n", "de/a.md": "# A\n"})
    (build / SIDECAR).write_text(json.dumps({"files": {"en/a.md": 200, "de/a.md": 100}, "note": ""}))
    ws = tmp_path / "data/jobs/trn1"
    ws.mkdir()
    ctx = local_context(src, ws / "out", workspace=ws, options=TranslateOptions(), language="de")
    assert (await stage.run(ctx)).outputs["pages"]["a.md"]["state"] == "stale"
    (build / SIDECAR).unlink()
    assert (await stage.run(ctx)).outputs["pages"]["a.md"]["state"] == "translated"


async def test_the_stage_needs_a_language(tmp_path: Path) -> None:
    with pytest.raises(StageError):
        await stage.run(_ctx(SAMPLES, tmp_path, None))


def test_registered_with_the_translate_table_as_its_options() -> None:
    spec = registry.get("translate")
    assert spec.options is TranslateOptions and spec.config_key is None
    assert spec.load() is stage.run
    cfg = Config.model_validate({"translate": {"provider": "http://127.0.0.1:5000", "machine": True, "po_dir": "po",
                                               "api_key_env": "MT_KEY", "auto_publish": True, "fan_out": False}})
    assert isinstance(cfg.translate, TranslateConfig) and isinstance(cfg.translate, TranslateOptions)
    assert (cfg.translate.machine, cfg.translate.po_dir, cfg.translate.fan_out) == (True, "po", False)
    assert TranslateConfig().fan_out is True and TranslateConfig().provider == "none"


async def test_machine_pages_through_the_real_client_and_a_stub_provider(tmp_path: Path) -> None:
    """The stage with stages/translate/machine.py against a LibreTranslate stand-in on 127.0.0.1."""
    from aiohttp import web

    seen: list[dict[str, Any]] = []

    async def translate(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append(body)
        return web.json_response({"translatedText": [f"«{q}»" for q in body["q"]]})

    app = web.Application()
    app.router.add_post("/translate", translate)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        src = make_tree(tmp_path / "site", {"en/index.md": "# Home\n\nWelcome.\n\n```py\nprint('hi')\n```\n",
                                             "de/other.md": "# Anderes\n"})
        result = await stage.run(_ctx(src, tmp_path, "de", machine=True, provider=f"http://127.0.0.1:{port}"))
    finally:
        await runner.cleanup()
    assert result.outputs["pages"]["index.md"] == {"state": "machine", "origin": "machine", "path": "translate/de/index.md"}
    page = (tmp_path / "ws/translate/de/index.md").read_text()
    assert page.startswith("---\nmachine_translated: true\n---\n") and "```py\nprint('hi')\n```" in page
    assert "«" in page
    sent = [q for body in seen for q in body["q"]]
    assert sent and not any("print" in q for q in sent)
    assert all(body["source"] == "en" and body["target"] == "de" for body in seen)
