"""``[stages.pdf]`` options."""

from __future__ import annotations

from stages.base import StageOptions


class Options(StageOptions):
    required: bool = False
    """A PDF failure degrades the build unless this is true."""
    timeout: float = 300.0
