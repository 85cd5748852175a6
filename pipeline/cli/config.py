"""``pressroom init`` and ``pressroom check-config``: write a starter config, validate one."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli import options
from pipeline.config import starter


@click.command()
@click.argument("directory", type=click.Path(file_okay=False), default=".")
@click.option("--force", is_flag=True, help="Overwrite an existing config.toml.")
def init(directory: str, force: bool) -> None:
    """Write a commented starter config.toml and sample content into DIRECTORY."""
    for p in starter.init(Path(directory), force=force):
        options.console.print(f"wrote {p}")


@click.command("check-config")
@click.pass_context
def check_config(ctx: click.Context) -> None:
    """Validate the config file and print every problem at once."""
    cfg = options.load_config(ctx)
    options.console.print(f"{cfg.path}: ok")


commands = [init, check_config]
