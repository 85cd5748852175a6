"""``[stages.lint]`` options."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from stages.base import StageOptions


class Options(StageOptions):
    fail_on: Literal["error", "warning", "never"] = "error"
    """Which severity fails the build."""
    enable: list[str] = Field(default_factory=list)
    """markdownlint rule ids to turn on in addition to the defaults."""
    disable: list[str] = Field(default_factory=lambda: ["MD013"])
    """markdownlint rule ids to turn off."""
    severity: dict[str, Literal["error", "warning", "info"]] = Field(default_factory=dict)
    """Per-rule severity overrides, e.g. ``{ MD001 = "error", "broken-link" = "warning" }``."""
    show_first: int = 50
    """How many findings the status endpoint shows in full."""
