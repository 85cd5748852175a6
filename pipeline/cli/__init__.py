"""The ``pressroom`` command: one click group, one module per command family.

Each command loads the config and calls a plain function. Every option has a ``PRESSROOM_*``
environment variable (``--server`` is ``PRESSROOM_SERVER``). Commands end with the exit codes of
:class:`pipeline.cli.options.ExitCode`; only ``linkcheck`` keeps LinkChecker's own.
"""

from __future__ import annotations

import click

from pipeline import __version__
from pipeline.cli import audit, build, config, deliveries, hooks, jobs, reviews, serve, translate


@click.group(context_settings={"auto_envvar_prefix": "PRESSROOM", "help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Config file (default: ./config.toml when present).")
@click.version_option(__version__, prog_name="pressroom")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """pressroom: build, check and publish documentation as persistent jobs."""
    ctx.ensure_object(dict)["config_path"] = config_path


for family in (serve, config, build, jobs, reviews, deliveries, hooks, audit, translate):
    for command in family.commands:
        cli.add_command(command)


def main() -> None:
    """The ``pressroom`` console script and ``python -m pipeline``."""
    cli(prog_name="pressroom")
