"""The publishing rule of a finished translate job, branch by branch, and its config keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline import config as config_mod
from pipeline.jobs import translation_policy as policy
from pipeline.jobs.translation_policy import Decision
from tests.unit.test_config import problems


def cfg(lang: dict[str, Any] | None = None, *, machine_auto: bool = False) -> config_mod.Config:
    data: dict[str, Any] = {"translate": {"auto_publish": machine_auto}}
    if lang is not None:
        data["languages"] = {"de": lang}
    return config_mod.parse(data)


def outputs(translated: int, stale: int = 0, missing: int = 0, machine: int = 0) -> dict[str, Any]:
    pages = translated + stale + missing + machine
    return {"language": "de", "source_pages": pages, "translated": translated, "stale": stale, "missing": missing,
            "machine": machine, "completion": round(translated / pages * 100, 1) if pages else 0.0}


def test_defaults_publish_whatever_the_completion() -> None:
    assert policy.decide(cfg(), "de", outputs(1, missing=9)) == Decision(True, False, policy.AUTO_PUBLISH)
    assert policy.decide(cfg({}), "de", outputs(0, missing=3)) == Decision(True, False, policy.AUTO_PUBLISH)


def test_below_min_completion_is_previewable_only_and_not_queued() -> None:
    d = policy.decide(cfg({"min_completion": 80}), "de", outputs(7, missing=3))
    assert d == Decision(False, False, "below_min_completion")


def test_min_completion_boundary_publishes() -> None:
    assert policy.decide(cfg({"min_completion": 70}), "de", outputs(7, missing=3)).publish is True


def test_min_completion_wins_over_every_auto_publish_mode() -> None:
    for mode in (True, False, "when-complete"):
        d = policy.decide(cfg({"min_completion": 90, "auto_publish": mode}), "de", outputs(5, missing=5))
        assert d.reason == policy.BELOW_MIN_COMPLETION and not d.publish and not d.needs_review


def test_auto_publish_false_always_needs_review() -> None:
    d = policy.decide(cfg({"auto_publish": False}), "de", outputs(10))
    assert d == Decision(False, True, policy.REVIEW_REQUIRED)


def test_when_complete_publishes_at_100_percent() -> None:
    d = policy.decide(cfg({"auto_publish": "when-complete"}), "de", outputs(10))
    assert d == Decision(True, False, policy.COMPLETE)


@pytest.mark.parametrize("counts", [{"stale": 1}, {"missing": 1}, {"machine": 1}])
def test_when_complete_below_100_needs_review(counts: dict[str, int]) -> None:
    d = policy.decide(cfg({"auto_publish": "when-complete"}), "de", outputs(9, **counts))
    assert d == Decision(False, True, policy.INCOMPLETE)


def test_when_complete_rounded_to_100_still_waits_for_the_last_page() -> None:
    out = {**outputs(1999, missing=1), "completion": 100.0}
    assert policy.decide(cfg({"auto_publish": "when-complete"}), "de", out).needs_review is True


def test_when_complete_machine_pages_need_review_even_if_machine_auto_publish() -> None:
    out = {**outputs(10), "machine": 1}
    d = policy.decide(cfg({"auto_publish": "when-complete"}, machine_auto=True), "de", out)
    assert d.needs_review and not d.publish


def test_machine_pages_need_review_unless_translate_auto_publish() -> None:
    assert policy.decide(cfg(), "de", outputs(8, machine=2)) == Decision(False, True, policy.MACHINE_PAGES)
    assert policy.decide(cfg(machine_auto=True), "de", outputs(8, machine=2)) == Decision(True, False, policy.AUTO_PUBLISH)


def test_other_languages_are_not_affected() -> None:
    assert policy.decide(cfg({"auto_publish": False}), "es", outputs(10)).publish is True


def test_empty_or_missing_counts_are_zero() -> None:
    assert policy.decide(cfg({"min_completion": 1}), "de", {}).reason == policy.BELOW_MIN_COMPLETION
    assert policy.decide(cfg(), "de", {"completion": None}).publish is True


def test_explain_names_the_key() -> None:
    c = cfg({"min_completion": 80})
    assert "[languages.de] min_completion (80%)" in policy.explain(policy.BELOW_MIN_COMPLETION, c, "de")
    assert policy.explain("unknown_reason", c, "de") == "unknown_reason"


def test_config_errors_name_file_table_and_key(tmp_path: Path) -> None:
    assert problems(tmp_path, '[languages.de]\nauto_publish = "sometimes"\n') == [
        'config.toml: [languages.de] auto_publish: expected true, false or "when-complete", got "sometimes"']
    assert problems(tmp_path, "[languages.de]\nauto_publish = 1\n") == [
        'config.toml: [languages.de] auto_publish: expected true, false or "when-complete", got 1']
    assert problems(tmp_path, "[languages.es]\nmin_completion = 120\n") == [
        "config.toml: [languages.es] min_completion: expected a number <= 100, got 120"]
    assert problems(tmp_path, "[languages.es]\nmin_completion = -1\n") == [
        "config.toml: [languages.es] min_completion: expected a number >= 0, got -1"]


def test_config_values_load(tmp_path: Path) -> None:
    p = tmp_path / "config.toml"
    p.write_text('[languages.de]\nauto_publish = "when-complete"\nmin_completion = 50\n[languages.es]\nauto_publish = false\n')
    loaded = config_mod.load(p)
    assert loaded.languages["de"].auto_publish == "when-complete" and loaded.languages["de"].min_completion == 50
    assert loaded.languages["es"].auto_publish is False and loaded.languages["es"].min_completion == 0
