"""``pressroom build`` and ``pressroom linkcheck``: work done in this process, without a daemon."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import click

from pipeline import errors
from pipeline.cli import buildstamp, options
from pipeline.cli.options import ExitCode
from pipeline.jobs import local


@click.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="site", show_default=True,
              help="Output folder: written beside and swapped in on success; only an earlier build's output is replaced.")
@click.option("--stages", "stage_list", default=None, help="Comma-separated stages (default: the build pipeline without deploy).")
@click.option("--root", "include_root", type=click.Path(exists=True, file_okay=False), default=None,
              help="Folder includes may read from (default: the git work tree holding PATH, else the current folder).")
@click.option("--drafts", is_flag=True, default=False, help="Build pages marked draft: true.")
@click.option("--strict", is_flag=True, default=False, help="Lint warnings count as errors.")
@click.option("--fail-on", "fail_on", type=click.Choice(["never", "error", "warning"]), default=None,
              help="Which lint severity fails the build (overrides [stages.lint] fail_on).")
@click.pass_context
def build(ctx: click.Context, path: str, out_dir: str, stage_list: str | None, include_root: str | None,
          drafts: bool, strict: bool, fail_on: str | None) -> None:
    """Build PATH into --out in this process, without a daemon (CI and local previews).

    Lint findings never stop the other stages: the site is written so it can be looked at, and
    the command exits 1 when lint fails (per --fail-on / --strict).
    """
    # a batch command: collect cycles every 200,000 allocations, not 700 (as mypy does). The
    # imports below (the config schema, the Markdown engine, Jinja) allocate a few hundred
    # thousand long-lived objects, and the default thresholds walk them all in full collections:
    # 40 ms of a 0.4 s one-page rebuild. Forked pool workers inherit it.
    gc.set_threshold(200_000, 30, 30)
    key = buildstamp.key({"path": os.path.abspath(path), "out": os.path.abspath(out_dir), "stages": stage_list,
                          "root": include_root, "drafts": drafts, "strict": strict, "fail_on": fail_on},
                         options.config_file(ctx))
    try:
        local.check_out(Path(path), Path(out_dir))
    except errors.OutputRefused as exc:
        options.err_console.print(f"error: {exc}", markup=False, highlight=False)
        ctx.exit(ExitCode.USAGE)
    done = buildstamp.unchanged(Path(out_dir) / local.MARKER, Path(path), key)
    if done is not None:  # nothing the last build read has changed: its output stands as it is
        for line in done.get("lines", []):
            click.echo(line)
        click.echo(f"nothing changed since the last build: {out_dir} left as it was")
        ctx.exit(ExitCode.OK if done.get("ok") else ExitCode.FAILED)
    cfg = local.with_overrides(options.load_config(ctx), include_root=Path(include_root) if include_root else None,
                               drafts=drafts, strict=strict, fail_on=fail_on)
    options.setup_logging()
    names = stage_list.split(",") if stage_list else None
    import asyncio  # here: the no-change check above needs no event loop

    options.QUICK_EXIT = True  # the pool is shut down and the temporary folders removed by then
    try:
        ok = asyncio.run(local.build(cfg, Path(path), Path(out_dir), names, stamp_key=key))
    except errors.OutputRefused as exc:
        options.err_console.print(f"error: {exc}", markup=False, highlight=False)
        ctx.exit(ExitCode.USAGE)
    ctx.exit(ExitCode.OK if ok else ExitCode.FAILED)


# linkcheck keeps LinkChecker's options and exit codes, so it lives with the stage it drives
# (stages/linkcheck/cli.py, found through pipeline.cli.COMMANDS).
commands = [build]
