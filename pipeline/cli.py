"""The ``pressroom`` command. Each command loads the config and calls a plain function.

Every option has a ``PRESSROOM_*`` environment variable (``--server`` is ``PRESSROOM_SERVER``).
Nothing below this module calls ``sys.exit``: errors become named exit codes here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import logging.config
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from pipeline import __version__
from pipeline import config as config_mod

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_UNREACHABLE = 4

console = Console(stderr=False)
err_console = Console(stderr=True)

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"default": {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"}},
    "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}},
    "loggers": {"pipeline": {"level": "INFO"}, "stages": {"level": "INFO"}, "aiohttp.access": {"level": "WARNING"}},
    "root": {"handlers": ["default"], "level": "WARNING"},
}


def load_config(ctx: click.Context) -> config_mod.Config:
    obj = ctx.ensure_object(dict)
    if "config" not in obj:
        path = obj.get("config_path")
        try:
            obj["config"] = config_mod.load(path if path else (Path("config.toml") if Path("config.toml").exists() else None))
        except config_mod.ConfigError as exc:
            for line in exc.problems:  # plain text: "[workers]" must not be read as rich markup
                click.echo(f"error: {line}", err=True)
            ctx.exit(EXIT_CONFIG)
    return obj["config"]  # type: ignore[no-any-return]


@click.group(context_settings={"auto_envvar_prefix": "PRESSROOM", "help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Config file (default: ./config.toml when present).")
@click.version_option(__version__, prog_name="pressroom")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """pressroom: build, check and publish documentation as persistent jobs."""
    ctx.ensure_object(dict)["config_path"] = config_path


@cli.command()
@click.option("--host", default=None, help="Interface to listen on (default from [server] host).")
@click.option("--port", type=int, default=None, help="Port (default from [server] port).")
@click.option("--data-dir", default=None,
              help="Data folder, relative to the current folder (default: data_dir from the config); holds the SQLite store unless [store] url is set.")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, data_dir: str | None) -> None:
    """Run the daemon: API, dashboard, workers and schedules."""
    from pipeline import daemon

    cfg = load_config(ctx)
    logging.config.dictConfig(LOGGING)
    daemon.serve(cfg, host=host, port=port, data_dir=str(Path(data_dir).resolve()) if data_dir else None)


@cli.command("check-config")
@click.pass_context
def check_config(ctx: click.Context) -> None:
    """Validate the config file and print every problem at once."""
    cfg = load_config(ctx)
    console.print(f"{cfg.path}: ok")


@cli.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="site", show_default=True)
@click.option("--stages", "stage_list", default=None, help="Comma-separated stages (default: the build pipeline without deploy).")
@click.pass_context
def build(ctx: click.Context, path: str, out_dir: str, stage_list: str | None) -> None:
    """Build PATH into --out in this process, without a daemon (CI and local previews)."""
    from pipeline import local

    cfg = load_config(ctx)
    logging.config.dictConfig(LOGGING)
    names = stage_list.split(",") if stage_list else None
    ok = asyncio.run(local.build(cfg, Path(path), Path(out_dir), names, console))
    ctx.exit(EXIT_OK if ok else EXIT_FAILED)


def _client_options(f: Any) -> Any:
    f = click.option("--token", envvar="PRESSROOM_TOKEN", default=None, help="Bearer token (PRESSROOM_TOKEN).")(f)
    f = click.option("--server", envvar="PRESSROOM_SERVER", default=None,
                     help="Daemon URL (PRESSROOM_SERVER; default from [server] host/port).")(f)
    return f


def _server(ctx: click.Context, server: str | None) -> str:
    if server:
        return server
    cfg = load_config(ctx)
    return cfg.server.public_url or f"http://{cfg.server.host}:{cfg.server.port}"


def _run_client(ctx: click.Context, coro: Any) -> Any:
    from pipeline.client import ApiError

    try:
        return asyncio.run(coro)
    except ApiError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        ctx.exit(EXIT_FAILED if exc.status != 404 else EXIT_USAGE)
    except OSError as exc:
        err_console.print(f"[red]error:[/red] daemon unreachable: {exc}")
        ctx.exit(EXIT_UNREACHABLE)


@cli.command()
@click.argument("source", type=click.Path(exists=True))
@click.option("--wait", is_flag=True, help="Follow the job until it ends; exit non-zero if it fails.")
@click.option("--branch", default=None, help="Branch or folder name: a newer submission supersedes a pending older one.")
@click.option("--idempotency-key", default=None)
@_client_options
@click.pass_context
def submit(ctx: click.Context, source: str, wait: bool, branch: str | None, idempotency_key: str | None,
           server: str | None, token: str | None) -> None:
    """Submit a docs folder or archive; prints the job ID at once."""
    from pipeline import cli_client

    code = _run_client(ctx, cli_client.submit(_server(ctx, server), token, Path(source), wait, branch, idempotency_key, console))
    ctx.exit(code or EXIT_OK)


@cli.command()
@click.argument("job_id")
@click.option("--follow", "-f", is_flag=True, help="Show live progress per stage until the job ends.")
@click.option("--json", "as_json", is_flag=True, help="Print the status JSON.")
@_client_options
@click.pass_context
def status(ctx: click.Context, job_id: str, follow: bool, as_json: bool, server: str | None, token: str | None) -> None:
    """Show a job's status; with --follow exit non-zero when it fails."""
    from pipeline import cli_client

    code = _run_client(ctx, cli_client.status(_server(ctx, server), token, job_id, follow, as_json, console))
    ctx.exit(code or EXIT_OK)


@cli.command("list")
@click.option("--status", "status_filter", default=None)
@click.option("--kind", default=None)
@click.option("--limit", type=int, default=20)
@_client_options
@click.pass_context
def list_jobs(ctx: click.Context, status_filter: str | None, kind: str | None, limit: int, server: str | None, token: str | None) -> None:
    """List recent jobs."""
    from pipeline import cli_client

    _run_client(ctx, cli_client.list_jobs(_server(ctx, server), token, status_filter, kind, limit, console))


def _job_action(action: str, help_text: str) -> click.Command:
    """``pressroom cancel JOB`` and ``pressroom retry JOB``: one POST each."""

    @click.argument("job_id")
    @_client_options
    @click.pass_context
    def command(ctx: click.Context, job_id: str, server: str | None, token: str | None) -> None:
        from pipeline import cli_client

        _run_client(ctx, cli_client.post(_server(ctx, server), token, f"/api/builds/{job_id}/{action}", console))

    return click.command(action, help=help_text)(command)


cli.add_command(_job_action("cancel", "Cancel a job."))
cli.add_command(_job_action("retry", "Retry a FAILED job."))


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False), default=".")
@click.option("--force", is_flag=True, help="Overwrite an existing config.toml.")
def init(directory: str, force: bool) -> None:
    """Write a commented starter config.toml and sample content into DIRECTORY."""
    from pipeline import scaffold

    written = scaffold.init(Path(directory), force=force)
    for p in written:
        console.print(f"wrote {p}")


@cli.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Apply store migrations and exit."""
    from pipeline.store import Store

    cfg = load_config(ctx)

    async def run() -> None:
        store = await Store.open(cfg.store_url)
        await store.close()

    asyncio.run(run())
    console.print("migrations applied")


@cli.command()
@_client_options
@click.pass_context
def healthcheck(ctx: click.Context, server: str | None, token: str | None) -> None:
    """Exit 0 when the daemon answers /healthz with ok."""
    from pipeline import cli_client

    ok = _run_client(ctx, cli_client.healthcheck(_server(ctx, server), token, console))
    ctx.exit(EXIT_OK if ok else EXIT_FAILED)


def _register_parts() -> None:
    """Commands contributed by other parts (link checker, hooks, approvals, deliveries)."""
    from pipeline import notifications_cli, reviews_cli
    from pipeline.intake import cli as intake_cli
    from stages.linkcheck import cli as linkcheck_cli

    for command in [linkcheck_cli.linkcheck, intake_cli.hook, *reviews_cli.commands, notifications_cli.deliveries]:
        cli.add_command(command)


_register_parts()


def main() -> None:
    cli(prog_name="pressroom")


if __name__ == "__main__":
    main()
    sys.exit(0)

__all__ = ["cli", "main", "json"]
