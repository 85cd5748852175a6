"""The stage registry and the config agree: each stage's table exists, of the declared class."""

from __future__ import annotations

import pytest

from pipeline.config import schema
from stages import registry
from stages.base import StageNotFound, StageOptions


@pytest.mark.parametrize("name", sorted(registry.STAGES))
def test_each_stage_table_has_the_declared_options_class(name: str) -> None:
    spec = registry.STAGES[name]
    if name == "translate":  # its table is [translate], which the orchestrator passes as ctx.options
        assert issubclass(schema.TranslateConfig, spec.options) and spec.config_key is None
        assert isinstance(schema.Config().translate, spec.options)
        return
    if spec.config_key is None:
        assert spec.options is StageOptions
        return
    field = schema.StagesConfig.model_fields[spec.config_key]
    assert field.annotation is spec.options
    assert isinstance(getattr(schema.StagesConfig(), spec.config_key), spec.options)


@pytest.mark.parametrize("name", sorted(registry.STAGES))
def test_each_stage_loads(name: str) -> None:
    assert callable(registry.load(name))


def test_an_unknown_stage_is_a_stage_error_with_its_code() -> None:
    with pytest.raises(StageNotFound) as err:
        registry.get("no_such_stage")
    assert err.value.code == "stage_not_found" and "known stages: deploy" in str(err.value)
