"""``[stages.linkcheck]`` options."""

from __future__ import annotations

from typing import Literal

from stages.base import StageOptions


class Options(StageOptions):
    external: Literal["off", "warn", "fail"] = "off"
    """Check external links: not at all, report as warnings, or fail the build."""
    fail_on_broken: bool = True
    """Broken internal links and anchors fail the build."""
