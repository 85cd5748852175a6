"""What every ``pressroom`` command shares: exit codes, the daemon options, config, error reporting.

Each command family declares ``--server``/``--token`` through :func:`client_options` and runs its
requests through :func:`run_client`, so an error from the daemon gives the same message and the
same exit code whichever command met it (the table is in docs/quickstart.md, "Exit codes").
"""

from __future__ import annotations

import contextlib
import enum
import functools
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:  # imported where used: `pressroom build` with nothing changed needs neither
    from rich.console import Console

    from pipeline import config as config_mod

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


class ExitCode(enum.IntEnum):
    """The exit codes of every command except ``linkcheck``, which keeps LinkChecker's."""

    OK = 0
    FAILED = 1
    """The job failed or was cancelled, or the daemon refused the request (bad token, wrong state)."""
    USAGE = 2
    """The command line is wrong: a bad option or argument, or a job, target or delivery the daemon
    does not know (HTTP 404)."""
    CONFIG = 3
    """The config file is invalid; every problem is printed."""
    UNREACHABLE = 4
    """No daemon answers at ``--server``, or the connection broke before the answer."""


@functools.cache
def _consoles() -> tuple[Console, Console]:
    from rich.console import Console

    return Console(stderr=False), Console(stderr=True)


def __getattr__(name: str) -> Any:
    """``options.console`` and ``options.err_console``, made on first use (rich costs an import)."""
    if name == "console":
        return _consoles()[0]
    if name == "err_console":
        return _consoles()[1]
    raise AttributeError(name)

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"default": {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"}},
    "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}},
    "loggers": {"pipeline": {"level": "INFO"}, "stages": {"level": "INFO"}, "aiohttp.access": {"level": "WARNING"}},
    "root": {"handlers": ["default"], "level": "WARNING"},
}


QUICK_EXIT = False
"""Set by a command whose process may end without the interpreter's teardown (see ``main``)."""


def quick_exit(code: int) -> NoReturn:
    """Flush what was written and end the process at once."""
    import logging
    import os
    import sys

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def setup_logging() -> None:
    """Log to stderr; only commands that run pipeline work in this process (serve, build) call it.

    :data:`LOGGING` applied by hand: ``logging.config`` is an import a ``pressroom build`` rebuild
    does not otherwise need."""
    import logging
    import sys

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOGGING["formatters"]["default"]["format"]))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LOGGING["root"]["level"])
    for name, conf in LOGGING["loggers"].items():
        logging.getLogger(name).setLevel(conf["level"])


def config_file(ctx: click.Context) -> Path | None:
    """The config file a command reads: ``--config``, else ./config.toml when present."""
    path = ctx.ensure_object(dict).get("config_path")
    if path:
        return Path(path)
    return Path("config.toml") if Path("config.toml").exists() else None


def load_config(ctx: click.Context) -> config_mod.Config:
    """The config named by ``--config`` (or ./config.toml when present), loaded once per run.

    An invalid file ends the command with every problem on stderr and :attr:`ExitCode.CONFIG`.
    """
    from pipeline import config as config_mod

    obj = ctx.ensure_object(dict)
    if "config" not in obj:
        try:
            obj["config"] = config_mod.load(config_file(ctx))
        except config_mod.ConfigError as exc:
            for line in exc.problems:  # plain text: "[workers]" must not be read as rich markup
                click.echo(f"error: {line}", err=True)
            ctx.exit(ExitCode.CONFIG)
    return obj["config"]  # type: ignore[no-any-return]


def server_url(ctx: click.Context, server: str | None) -> str:
    """``--server`` when given, else the daemon's address from the config."""
    if server:
        return server
    cfg = load_config(ctx)
    return cfg.server.public_url or f"http://{cfg.server.host}:{cfg.server.port}"


SERVER_HELP = "Daemon URL (PRESSROOM_SERVER; default from [server] host/port)."
TOKEN_HELP = "Bearer token (PRESSROOM_TOKEN)."


def server_option(help: str = SERVER_HELP) -> Callable[[F], F]:
    return click.option("--server", envvar="PRESSROOM_SERVER", default=None, help=help)


def token_option(help: str = TOKEN_HELP) -> Callable[[F], F]:
    return click.option("--token", envvar="PRESSROOM_TOKEN", default=None, help=help)


def client_options(f: F) -> F:
    """``--server`` and ``--token`` for a command that talks to the daemon."""
    return server_option()(token_option()(f))


def fail(ctx: click.Context, message: str, code: ExitCode) -> NoReturn:
    """Print ``error: message`` on stderr and end the command with ``code``."""
    from rich.markup import escape

    _consoles()[1].print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    ctx.exit(code)


def run_client(ctx: click.Context, coro: Coroutine[Any, Any, T]) -> T:
    """Run one client coroutine; the daemon's errors become a message and an :class:`ExitCode`."""
    import asyncio

    from pipeline.cli import client

    try:
        return asyncio.run(coro)
    except client.ApiError as exc:
        fail(ctx, str(exc), ExitCode.USAGE if exc.status == 404 else ExitCode.FAILED)
    except client.DaemonUnreachable as exc:
        fail(ctx, f"daemon unreachable: {exc}", ExitCode.UNREACHABLE)
    except OSError as exc:  # a local file the command was given, e.g. an unreadable archive
        fail(ctx, str(exc), ExitCode.USAGE)
