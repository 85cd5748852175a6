"""``pressroom build`` and ``pressroom linkcheck``: work done in this process, without a daemon."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from pipeline.cli import options
from pipeline.cli.options import ExitCode
from pipeline.jobs import local
from stages.linkcheck import cli as linkcheck_cli


@click.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="site", show_default=True)
@click.option("--stages", "stage_list", default=None, help="Comma-separated stages (default: the build pipeline without deploy).")
@click.pass_context
def build(ctx: click.Context, path: str, out_dir: str, stage_list: str | None) -> None:
    """Build PATH into --out in this process, without a daemon (CI and local previews)."""
    cfg = options.load_config(ctx)
    options.setup_logging()
    names = stage_list.split(",") if stage_list else None
    ok = asyncio.run(local.build(cfg, Path(path), Path(out_dir), names, options.console))
    ctx.exit(ExitCode.OK if ok else ExitCode.FAILED)


# linkcheck keeps LinkChecker's options and exit codes, so it lives with the stage it drives.
commands = [build, linkcheck_cli.linkcheck]
