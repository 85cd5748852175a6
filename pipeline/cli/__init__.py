"""The ``pressroom`` command: one click group, one module per command family.

Each command loads the config and calls a plain function. Every option has a ``PRESSROOM_*``
environment variable (``--server`` is ``PRESSROOM_SERVER``). Commands end with the exit codes of
:class:`pipeline.cli.options.ExitCode`; only ``linkcheck`` keeps LinkChecker's own.

A command's module is imported only when that command runs (:data:`COMMANDS`): a user waits for
``pressroom build`` to start, and the daemon's client (aiohttp), the store (SQLAlchemy) and the
API are a third of a second of imports that ``build`` does not use.
"""

from __future__ import annotations

import importlib

import click

from pipeline import __version__

COMMANDS: dict[str, str] = {
    "serve": "pipeline.cli.serve", "migrate": "pipeline.cli.serve", "healthcheck": "pipeline.cli.serve",
    "init": "pipeline.cli.config", "check-config": "pipeline.cli.config",
    "build": "pipeline.cli.build", "linkcheck": "stages.linkcheck.cli",
    "submit": "pipeline.cli.jobs", "status": "pipeline.cli.jobs", "list": "pipeline.cli.jobs",
    "cancel": "pipeline.cli.jobs", "retry": "pipeline.cli.jobs",
    "approve": "pipeline.cli.reviews", "reject": "pipeline.cli.reviews", "rollback": "pipeline.cli.reviews",
    "deliveries": "pipeline.cli.deliveries", "hook": "pipeline.cli.hooks", "audit": "pipeline.cli.audit",
    "translate": "pipeline.cli.translate",
}
"""Command name -> the module that defines it. A new command family adds its names here
(tests/unit/test_cli_lazy.py checks this table against every family's ``commands``)."""

FAMILIES = ("serve", "config", "build", "jobs", "reviews", "deliveries", "hooks", "audit", "translate")
"""The modules under ``pipeline.cli`` that hold commands, each in its ``commands`` list."""


class LazyGroup(click.Group):
    """Finds a command through :data:`COMMANDS` and imports only its module."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        found = {c.name: c for c in _module_commands(importlib.import_module(module))}
        return found.get(cmd_name)


def _module_commands(module: object) -> list[click.Command]:
    listed = getattr(module, "commands", None)
    if listed is not None:
        return list(listed)
    return [c for c in vars(module).values() if isinstance(c, click.Command)]


@click.group(cls=LazyGroup, context_settings={"auto_envvar_prefix": "PRESSROOM", "help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Config file (default: ./config.toml when present).")
@click.version_option(__version__, prog_name="pressroom")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """pressroom: build, check and publish documentation as persistent jobs."""
    ctx.ensure_object(dict)["config_path"] = config_path


def main() -> None:
    """The ``pressroom`` console script and ``python -m pipeline``.

    A command that set :data:`options.QUICK_EXIT` ends without the interpreter's teardown:
    freeing a build's objects one by one costs 0.1-0.4 s after the work is done, and the command
    has already shut its pool down, removed its temporary folders and closed its files.
    """
    from pipeline.cli import options

    try:
        cli(prog_name="pressroom")
    except SystemExit as exc:
        if not options.QUICK_EXIT:
            raise
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        options.quick_exit(code)
