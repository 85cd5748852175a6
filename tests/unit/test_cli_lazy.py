"""The ``pressroom`` group imports a command's module only when that command runs.

``pressroom build`` is what a writer waits for; the daemon's client, the store and the API are
imports it does not use. The table of commands is checked against every family's ``commands``
so a new command cannot be forgotten.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import click

from pipeline import cli as cli_mod


def test_the_command_table_names_every_command_of_every_family() -> None:
    declared: dict[str, str] = {}
    for family in cli_mod.FAMILIES:
        module = f"pipeline.cli.{family}"
        for command in importlib.import_module(module).commands:
            declared[command.name] = module
    declared["linkcheck"] = "stages.linkcheck.cli"
    assert declared == cli_mod.COMMANDS


def test_every_command_resolves_and_unknown_ones_do_not() -> None:
    ctx = click.Context(cli_mod.cli)
    for name in cli_mod.COMMANDS:
        command = cli_mod.cli.get_command(ctx, name)
        assert command is not None and command.name == name
    assert cli_mod.cli.get_command(ctx, "no-such-command") is None
    assert cli_mod.cli.list_commands(ctx) == sorted(cli_mod.COMMANDS)


def loaded_after(code: str) -> list[str]:
    probe = ("import sys\n" + code + "\nheavy = ('aiohttp', 'sqlalchemy', 'pydantic', 'rich', 'jinja2', 'markdown_it')\n"
             "print(' '.join(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    return out.stdout.split()


def test_resolving_build_loads_no_client_store_config_or_stage() -> None:
    assert loaded_after("import click\nfrom pipeline.cli import cli\ncli.get_command(click.Context(cli), 'build')") == []


def test_the_runner_does_not_load_the_sql_store() -> None:
    assert "sqlalchemy" not in loaded_after("import pipeline.jobs.runner, pipeline.jobs.local")
