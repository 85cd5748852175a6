"""``pressroom serve``: run the app until SIGINT/SIGTERM (aiohttp's run_app owns the signals)."""

from __future__ import annotations

import logging

from aiohttp import web

from pipeline import app as app_mod
from pipeline import config as config_mod
from pipeline.api.keys import config_key

logger = logging.getLogger(__name__)


def serve(cfg: config_mod.Config, *, host: str | None = None, port: int | None = None, data_dir: str | None = None) -> None:
    updates: dict[str, object] = {}
    if host or port is not None:
        updates["server"] = cfg.server.model_copy(update={k: v for k, v in {"host": host, "port": port}.items() if v is not None})
    if data_dir:
        updates["data_dir"] = data_dir
    if updates:
        cfg = config_mod.with_site_base(cfg.model_copy(update=updates), cfg.sites_url)
    h, p = cfg.server.host, cfg.server.port
    application = app_mod.create_app(cfg)

    async def announce(app: web.Application) -> None:
        base = f"http://{h}:{p}"
        settled = app[config_key]  # the sites listener has its port by now
        print(f"pressroom serving {cfg.site.title!r} from {cfg.source_path}", flush=True)
        print(f"  API:       {base}/api/builds   (OpenAPI: {base}/api/openapi.json)", flush=True)
        print(f"  Dashboard: {base}/", flush=True)
        print(f"  Sites:     {settled.sites_url}/sites/   (deployed sites, on their own origin)", flush=True)
        print(f"  Store:     {cfg.store_url}", flush=True)
        if cfg.server.auth == "none":
            print("  Auth:      none (open to anyone who can reach this port)", flush=True)
            if h not in ("127.0.0.1", "localhost", "::1"):
                logger.warning("[server] auth = \"none\" on %s: anyone on the network can submit, approve and replay", h)

    application.on_startup.append(announce)
    web.run_app(application, host=h, port=p, print=None, access_log=None, shutdown_timeout=15)
