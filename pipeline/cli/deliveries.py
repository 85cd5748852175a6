"""``pressroom deliveries list [--dead]`` and ``pressroom deliveries retry ID|--all``."""

from __future__ import annotations

import click
from rich.table import Table

from pipeline.cli import client, options


@click.group()
def deliveries() -> None:
    """Notification deliveries: list them, replay dead letters."""


@deliveries.command("list")
@click.option("--dead", is_flag=True, help="Only dead-lettered deliveries.")
@options.client_options
@click.pass_context
def list_cmd(ctx: click.Context, dead: bool, server: str | None, token: str | None) -> None:
    url = options.server_url(ctx, server)
    params = {"dead": "true"} if dead else {}
    body = options.run_client(ctx, client.call(url, token, "GET", "/api/deliveries", params=params))
    table = Table("delivery", "channel", "event", "status", "attempts", "error", box=None)
    for d in body["deliveries"]:
        info = d["delivery"]
        err = (info.get("error") or {}).get("message") or (d.get("error") or {}).get("message") or ""
        table.add_row(d["job_id"], str(info.get("channel")), str(info.get("event")), d["status"],
                      f"{d['attempt']}/{d['max_attempts']}", err[:80])
    options.console.print(table)


@deliveries.command("retry")
@click.argument("delivery_id", required=False)
@click.option("--all", "all_dead", is_flag=True, help="Replay every dead-lettered delivery.")
@options.client_options
@click.pass_context
def retry_cmd(ctx: click.Context, delivery_id: str | None, all_dead: bool, server: str | None, token: str | None) -> None:
    if not delivery_id and not all_dead:
        raise click.UsageError("give a delivery ID or --all")
    path = "/api/deliveries/retry-dead" if all_dead else f"/api/deliveries/{delivery_id}/retry"
    url = options.server_url(ctx, server)
    body = options.run_client(ctx, client.call(url, token, "POST", path))
    replayed = body.get("replayed", [body.get("job_id")])
    options.console.print(f"replayed {len(replayed)} deliver{'y' if len(replayed) == 1 else 'ies'}")


commands = [deliveries]
