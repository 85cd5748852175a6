"""Docs that must not drift from code: the config reference and the error runbooks."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline import errors
from pipeline.config import reference

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_config_reference_is_generated_from_the_model() -> None:
    assert (DOCS / "config.md").read_text() == reference.render(), "run: python -m pipeline.config.reference > docs/config.md"


def test_every_error_code_has_a_runbook() -> None:
    text = (DOCS / "errors.md").read_text()
    anchors = set(re.findall(r"\{ #([a-z_]+) \}", text))
    missing = sorted(set(errors.all_codes()) - anchors)
    assert not missing, f"docs/errors.md lacks runbooks for {missing}"


def test_every_error_code_in_the_source_has_a_runbook() -> None:
    """Codes written as literals anywhere in pipeline/ and stages/ (stage errors, delivery errors)."""
    root = DOCS.parent
    anchors = set(re.findall(r"\{ #([a-z_]+) \}", (DOCS / "errors.md").read_text()))
    found: set[str] = set()
    for path in [*root.joinpath("pipeline").rglob("*.py"), *root.joinpath("stages").rglob("*.py")]:
        found |= set(re.findall(r'(?:error_code|code)\s*=\s*"([a-z_]+)"', path.read_text()))
    internal = {"store_error", "delivery_transient"}  # never shown to users
    assert not sorted(found - anchors - internal)
