"""``[stages.openapi]`` options."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from stages.base import StageOptions


class Options(StageOptions):
    specs: list[str] = Field(default_factory=list)
    """OpenAPI 3.0/3.1 specs (YAML or JSON), relative to the submission root; none means the stage is skipped."""
    path: str = "api/"
    """Folder, inside the docs, that receives the generated reference pages (a page per tag, one per schema)."""
    auto_publish: Literal["non-breaking", "never", "always"] = "non-breaking"
    """When a spec changed: ``non-breaking`` promotes valid changes without breaking ones without review,
    ``never`` always asks a reviewer, ``always`` never does."""
    compare_target: str = "production"
    """Deploy target whose live release holds the published spec that breaking changes are judged against."""
    nav_title: str = "API reference"
    """Nav section title when the site's nav does not name the spec itself."""
