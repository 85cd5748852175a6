"""``pressroom deliveries list [--dead]`` and ``pressroom deliveries retry ID|--all``."""

from __future__ import annotations

import asyncio

import click
from rich.console import Console
from rich.table import Table

from pipeline.client import ApiError, Client

console = Console()


def _server(ctx: click.Context, server: str | None) -> str:
    from pipeline.cli import _server as resolve

    return resolve(ctx, server)


@click.group()
def deliveries() -> None:
    """Notification deliveries: list them, replay dead letters."""


@deliveries.command("list")
@click.option("--dead", is_flag=True, help="Only dead-lettered deliveries.")
@click.option("--server", envvar="PRESSROOM_SERVER", default=None)
@click.option("--token", envvar="PRESSROOM_TOKEN", default=None)
@click.pass_context
def list_cmd(ctx: click.Context, dead: bool, server: str | None, token: str | None) -> None:
    async def run() -> dict:  # type: ignore[type-arg]
        async with Client(_server(ctx, server), token) as c:
            return await c.request("GET", "/api/deliveries", params={"dead": "true"} if dead else {})  # type: ignore[no-any-return]

    try:
        body = asyncio.run(run())
    except (ApiError, OSError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        ctx.exit(1)
    table = Table("delivery", "channel", "event", "status", "attempts", "error", box=None)
    for d in body["deliveries"]:
        info = d["delivery"]
        err = (info.get("error") or {}).get("message") or (d.get("error") or {}).get("message") or ""
        table.add_row(d["job_id"], str(info.get("channel")), str(info.get("event")), d["status"],
                      f"{d['attempt']}/{d['max_attempts']}", err[:80])
    console.print(table)


@deliveries.command("retry")
@click.argument("delivery_id", required=False)
@click.option("--all", "all_dead", is_flag=True, help="Replay every dead-lettered delivery.")
@click.option("--server", envvar="PRESSROOM_SERVER", default=None)
@click.option("--token", envvar="PRESSROOM_TOKEN", default=None)
@click.pass_context
def retry_cmd(ctx: click.Context, delivery_id: str | None, all_dead: bool, server: str | None, token: str | None) -> None:
    if not delivery_id and not all_dead:
        raise click.UsageError("give a delivery ID or --all")
    path = "/api/deliveries/retry-dead" if all_dead else f"/api/deliveries/{delivery_id}/retry"

    async def run() -> dict:  # type: ignore[type-arg]
        async with Client(_server(ctx, server), token) as c:
            return await c.request("POST", path)  # type: ignore[no-any-return]

    try:
        body = asyncio.run(run())
    except (ApiError, OSError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        ctx.exit(1)
    replayed = body.get("replayed", [body.get("job_id")])
    console.print(f"replayed {len(replayed)} deliver{'y' if len(replayed) == 1 else 'ies'}")
