"""``pressroom serve|migrate|healthcheck``: run the daemon, prepare its store, ask if it is well.

``serve`` runs the app until SIGINT/SIGTERM; aiohttp's ``run_app`` owns the signals.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
from pathlib import Path

import click
from aiohttp import web

from pipeline import config as config_mod
from pipeline.api.keys import config_key
from pipeline.cli import client, options
from pipeline.cli.options import ExitCode
from pipeline.store import Store

logger = logging.getLogger(__name__)


def run(cfg: config_mod.Config, *, host: str | None = None, port: int | None = None, data_dir: str | None = None) -> None:
    """Serve ``cfg`` with the command line's overrides until a signal stops the process."""
    updates: dict[str, object] = {}
    if host or port is not None:
        updates["server"] = cfg.server.model_copy(update={k: v for k, v in {"host": host, "port": port}.items() if v is not None})
    if data_dir:
        updates["data_dir"] = data_dir
    if updates:
        cfg = config_mod.with_site_base(cfg.model_copy(update=updates), cfg.sites_url)
    h, p = cfg.server.host, cfg.server.port
    # Imported here for start-up cost, not to dodge a cycle: the app (API, dashboard, every stage)
    # is only needed by ``serve``, and every other ``pressroom`` command would pay to load it.
    from pipeline import app as app_mod

    application = app_mod.create_app(cfg)

    async def announce(app: web.Application) -> None:
        base = f"http://{h}:{p}"
        settled = app[config_key]  # the sites listener has its port by now
        where = cfg.source_path if cfg.source_path.is_dir() else f"{cfg.source_path} (no such folder: builds come from submissions)"
        print(f"pressroom serving {cfg.site.title!r} from {where}", flush=True)
        print(f"  API:       {base}/api/builds   (OpenAPI: {base}/api/openapi.json)", flush=True)
        print(f"  Dashboard: {base}/", flush=True)
        print(f"  Sites:     {settled.sites_url}/sites/   (deployed sites, on their own origin)", flush=True)
        print(f"  Store:     {cfg.store_url}", flush=True)
        data = cfg.data_path.resolve()
        print(f"  Data:      {data}   (jobs/ workspaces, sites/ releases, cache/)", flush=True)
        if cfg.server.auth == "none":
            print("  Auth:      none (open to anyone who can reach this port)", flush=True)
            if h not in ("127.0.0.1", "localhost", "::1"):
                logger.warning("[server] auth = \"none\" on %s: anyone on the network can submit, approve and replay", h)

    async def freeze(app: web.Application) -> None:
        # what start-up made (modules, config, routes, templates) lives as long as the daemon: in
        # the permanent generation a full collection under load no longer walks it (40-50 ms
        # pauses were in the submit latency's tail), and forked pool workers share its pages
        gc.collect()
        gc.freeze()

    application.on_startup.append(announce)
    application.on_startup.append(freeze)
    web.run_app(application, host=h, port=p, print=None, access_log=None, shutdown_timeout=15)


@click.command()
@click.option("--host", default=None, help="Interface to listen on (default from [server] host).")
@click.option("--port", type=int, default=None, help="Port (default from [server] port).")
@click.option("--data-dir", default=None,
              help="Data folder, relative to the current folder (default: data_dir from the config); holds the SQLite store unless [store] url is set.")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, data_dir: str | None) -> None:
    """Run the daemon: API, dashboard, workers and schedules."""
    cfg = options.load_config(ctx)
    options.setup_logging()
    run(cfg, host=host, port=port, data_dir=str(Path(data_dir).resolve()) if data_dir else None)


async def apply_migrations(store_url: str) -> None:
    """Opening the store applies its migrations."""
    store = await Store.open(store_url)
    await store.close()


@click.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Apply store migrations and exit."""
    cfg = options.load_config(ctx)
    asyncio.run(apply_migrations(cfg.store_url))
    options.console.print("migrations applied")


async def check_health(server: str, token: str | None) -> bool:
    """Print the daemon's /healthz body; true when it says ok."""
    async with client.Client(server, token, timeout=5) as c:
        body = await c.request("GET", "/healthz")
    options.console.print(json.dumps(body))
    return bool(body.get("status") == "ok")


@click.command()
@options.client_options
@click.pass_context
def healthcheck(ctx: click.Context, server: str | None, token: str | None) -> None:
    """Exit 0 when the daemon answers /healthz with ok."""
    ok = options.run_client(ctx, check_health(options.server_url(ctx, server), token))
    ctx.exit(ExitCode.OK if ok else ExitCode.FAILED)


commands = [serve, migrate, healthcheck]
