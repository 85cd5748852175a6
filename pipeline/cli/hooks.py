"""``pressroom hook install|uninstall``: the git trigger's command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from pipeline.cli import options
from pipeline.cli.options import ExitCode
from pipeline.intake import hookinstall


@click.group("hook")
def hook() -> None:
    """Build on every commit: install or remove pressroom's git post-commit hook."""


@hook.command("install")
@click.argument("repo", type=click.Path(file_okay=False, path_type=Path), default=".")
@options.server_option(help="Daemon URL the hook submits to (PRESSROOM_SERVER; default from [server] host/port).")
@options.token_option(help="Bearer token with the submit scope, kept in the repository's git config (PRESSROOM_TOKEN).")
@click.pass_context
def install(ctx: click.Context, repo: Path, server: str | None, token: str | None) -> None:
    """Install the post-commit hook in REPO (default: the current folder); an existing hook is chained."""
    url = options.server_url(ctx, server)
    _run(ctx, lambda: hookinstall.install(repo, server=url, token=token))


@hook.command("uninstall")
@click.argument("repo", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.pass_context
def uninstall(ctx: click.Context, repo: Path) -> None:
    """Remove only what `hook install` added to REPO and restore a chained hook."""
    _run(ctx, lambda: hookinstall.uninstall(repo))


def _run(ctx: click.Context, action: Callable[[], list[str]]) -> None:
    try:
        for line in action():
            options.console.print(line, highlight=False, markup=False, soft_wrap=True)
    except hookinstall.HookError as exc:
        options.fail(ctx, str(exc), ExitCode.USAGE)


commands = [hook]
