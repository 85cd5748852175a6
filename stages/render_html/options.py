"""``[stages.html]`` options."""

from __future__ import annotations

from stages.base import StageOptions


class Options(StageOptions):
    incremental: bool = True
    """Use the content-hash cache to render only what changed."""
