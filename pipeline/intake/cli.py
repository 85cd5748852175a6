"""``pressroom hook install|uninstall``: the git trigger's command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from pipeline.intake import githook


@click.group("hook")
def hook() -> None:
    """Build on every commit: install or remove pressroom's git post-commit hook."""


@hook.command("install")
@click.argument("repo", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--server", envvar="PRESSROOM_SERVER", default=None,
              help="Daemon URL the hook submits to (PRESSROOM_SERVER; default from [server] host/port).")
@click.option("--token", envvar="PRESSROOM_TOKEN", default=None,
              help="Bearer token with the submit scope, kept in the repository's git config (PRESSROOM_TOKEN).")
@click.pass_context
def install(ctx: click.Context, repo: Path, server: str | None, token: str | None) -> None:
    """Install the post-commit hook in REPO (default: the current folder); an existing hook is chained."""
    from pipeline import cli as cli_mod

    url = cli_mod._server(ctx, server)
    _run(ctx, lambda: githook.install(repo, server=url, token=token))


@hook.command("uninstall")
@click.argument("repo", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.pass_context
def uninstall(ctx: click.Context, repo: Path) -> None:
    """Remove only what `hook install` added to REPO and restore a chained hook."""
    _run(ctx, lambda: githook.uninstall(repo))


def _run(ctx: click.Context, action: Callable[[], list[str]]) -> None:
    from pipeline import cli as cli_mod

    try:
        for line in action():
            cli_mod.console.print(line, highlight=False, markup=False, soft_wrap=True)
    except githook.HookError as exc:
        cli_mod.err_console.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        ctx.exit(cli_mod.EXIT_USAGE)
