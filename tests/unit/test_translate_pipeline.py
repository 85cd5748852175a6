"""Which stages a translate job runs: by default the build's own, for one language (lint and the
PDF included, so fanning out never drops a check the serial build made), or ``[pipeline] translate``."""

from __future__ import annotations

from pathlib import Path

from pipeline.config.schema import Config
from pipeline.jobs import translate
from pipeline.store import Job


def _build(payload: dict[str, object] | None = None) -> Job:
    return Job(id="bld_1", kind="build", status="PROCESSING", payload=payload or {}, trigger={"kind": "api"},
               created_at=0.0, updated_at=0.0)


def test_default_is_translate_then_the_builds_stages() -> None:
    cfg = Config()
    assert cfg.pipeline.translate_stages() == ["translate", *cfg.pipeline.build]
    assert "lint" in cfg.pipeline.translate_stages() and "render_pdf" in cfg.pipeline.translate_stages()


def test_a_build_with_its_own_stage_list_passes_it_on() -> None:
    cfg = Config()
    [spec] = translate.child_specs(cfg, _build({"pipeline": ["render_html", "deploy"]}), Path("/src"), ["de"])
    assert spec.payload["pipeline"] == ["translate", "render_html", "deploy"]
    assert spec.payload["language"] == "de" and spec.idempotency_key == "bld_1:translate:de"


def test_the_configured_list_wins() -> None:
    cfg = Config.model_validate({"pipeline": {"translate": ["translate", "render_html"]}})
    [spec] = translate.child_specs(cfg, _build({"pipeline": ["lint", "render_html"]}), Path("/src"), ["es"])
    assert spec.payload["pipeline"] == ["translate", "render_html"]
