"""Every stage the pipeline can name, with its run function, options class and config table.

The orchestrator and the config model read this table instead of knowing stages one by one: a
pipeline name (``render_html``) maps to the ``[stages.<key>]`` table that configures it (``html``)
and to the options class that table validates into. Options modules are small and imported here
at once; run functions load on first use, so a stage whose package is missing fails its job with
``stage_not_found`` instead of stopping the daemon from starting, and the heavy libraries a stage
needs (WeasyPrint, markdown-it) are paid for only by the processes that run it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import cast

from stages.base import StageFn, StageNotFound, StageOptions
from stages.deploy.options import Options as DeployOptions
from stages.linkcheck.options import Options as LinkcheckOptions
from stages.lint.options import Options as LintOptions
from stages.openapi.options import Options as OpenApiOptions
from stages.render_html.options import Options as HtmlOptions
from stages.render_pdf.options import Options as PdfOptions
from stages.translate.options import TranslateOptions


@dataclass(frozen=True)
class StageSpec:
    """One installed stage."""

    name: str
    """Its name in ``[pipeline] build`` and in the job's stage list."""
    run: str
    """``module:function`` of its ``async def run(ctx) -> StageResult``."""
    options: type[StageOptions]
    """The class its ``ctx.options`` is an instance of."""
    config_key: str | None
    """Its ``[stages.<key>]`` table; None for a stage with no table (it runs with default options
    and the job timeout of ``[workers]``)."""

    def load(self) -> StageFn:
        """Import the run function; :class:`StageNotFound` when its module is not installed."""
        module_name, _, attr = self.run.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and (exc.name == module_name or module_name.startswith(exc.name + ".")):
                raise StageNotFound(f"stage {self.name!r} is configured but not installed ({self.run})") from exc
            raise
        return cast(StageFn, getattr(module, attr))


STAGES: dict[str, StageSpec] = {
    spec.name: spec
    for spec in (
        StageSpec("noop", "stages.noop:run", StageOptions, None),
        StageSpec("lint", "stages.lint.stage:run", LintOptions, "lint"),
        StageSpec("openapi", "stages.openapi.stage:run", OpenApiOptions, "openapi"),
        StageSpec("render_html", "stages.render_html.stage:run", HtmlOptions, "html"),
        StageSpec("render_pdf", "stages.render_pdf.stage:run", PdfOptions, "pdf"),
        StageSpec("linkcheck", "stages.linkcheck.stage:run", LinkcheckOptions, "linkcheck"),
        StageSpec("deploy", "stages.deploy.stage:run", DeployOptions, "deploy"),
        # [translate], not [stages.translate]: the orchestrator passes that table as ctx.options
        StageSpec("translate", "stages.translate.stage:run", TranslateOptions, None),
    )
}


def get(name: str) -> StageSpec:
    """The stage called ``name``; :class:`StageNotFound` when there is none."""
    spec = STAGES.get(name)
    if spec is None:
        raise StageNotFound(f"no stage named {name!r}; known stages: {', '.join(sorted(STAGES))}")
    return spec


def load(name: str) -> StageFn:
    """The run function of the stage called ``name``."""
    return get(name).load()
