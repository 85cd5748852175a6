"""``[stages.deploy]`` options and its targets."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from stages.base import StageOptions


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["directory", "git", "command"] = "directory"
    path: str | None = None
    """For ``directory``: where releases go (default ``<data_dir>/sites/<name>``)."""
    requires_approval: bool = False
    keep_releases: int = 5


def _default_targets() -> dict[str, Target]:
    return {"staging": Target(), "production": Target(requires_approval=True)}


class Options(StageOptions):
    target: str = "staging"
    """The target every build deploys to; others are reached by promotion."""
    targets: dict[str, Target] = Field(default_factory=_default_targets)
