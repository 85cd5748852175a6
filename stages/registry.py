"""Where each named stage lives. Modules load lazily so a missing stage is a clear job error."""

from __future__ import annotations

import importlib
from typing import cast

from stages.base import StageFn

STAGES: dict[str, str] = {
    "noop": "stages.noop:run",
    "lint": "stages.lint.stage:run",
    "render_html": "stages.render_html.stage:run",
    "render_pdf": "stages.render_pdf.stage:run",
    "linkcheck": "stages.linkcheck.stage:run",
    "deploy": "stages.deploy.stage:run",
}


class StageNotFound(LookupError):
    """The pipeline names a stage that is not installed."""

    code = "stage_not_found"


def load(name: str) -> StageFn:
    target = STAGES.get(name)
    if target is None:
        raise StageNotFound(f"no stage named {name!r}; known stages: {', '.join(sorted(STAGES))}")
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == module_name or module_name.startswith(exc.name + ".")):
            raise StageNotFound(f"stage {name!r} is configured but not installed ({target})") from exc
        raise
    return cast(StageFn, getattr(module, attr))
