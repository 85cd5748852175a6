"""``pressroom approve JOB``, ``pressroom reject JOB --reason``, ``pressroom rollback TARGET [JOB]``."""

from __future__ import annotations

import asyncio
from typing import Any

import click
from rich.console import Console

from pipeline.client import ApiError, Client

console = Console()


def _call(ctx: click.Context, server: str | None, token: str | None, method: str, path: str, **kw: Any) -> Any:
    from pipeline.cli import _server

    async def run() -> Any:
        async with Client(_server(ctx, server), token) as c:
            return await c.request(method, path, **kw)

    try:
        return asyncio.run(run())
    except (ApiError, OSError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        ctx.exit(1)


def _opts(f: Any) -> Any:
    f = click.option("--token", envvar="PRESSROOM_TOKEN", default=None)(f)
    return click.option("--server", envvar="PRESSROOM_SERVER", default=None)(f)


@click.command()
@click.argument("job_id")
@_opts
@click.pass_context
def approve(ctx: click.Context, job_id: str, server: str | None, token: str | None) -> None:
    """Approve a build waiting for review: promotes its release (admin)."""
    body = _call(ctx, server, token, "POST", f"/api/builds/{job_id}/approve")
    console.print(f"approved {job_id}; promotion job {body['promote_job']}")


@click.command()
@click.argument("job_id")
@click.option("--reason", required=True, help="Why: shown to the writers.")
@_opts
@click.pass_context
def reject(ctx: click.Context, job_id: str, reason: str, server: str | None, token: str | None) -> None:
    """Reject a build waiting for review (admin)."""
    _call(ctx, server, token, "POST", f"/api/builds/{job_id}/reject", json={"reason": reason})
    console.print(f"rejected {job_id}")


@click.command()
@click.argument("target")
@click.argument("job_id", required=False)
@_opts
@click.pass_context
def rollback(ctx: click.Context, target: str, job_id: str | None, server: str | None, token: str | None) -> None:
    """Swap TARGET back to JOB_ID's release (default: the release before the live one)."""
    params = {"job_id": job_id} if job_id else {}
    body = _call(ctx, server, token, "POST", f"/api/targets/{target}/rollback", params=params)
    console.print(f"{target} now serves the release of {body['current']['job_id']}")


commands = [approve, reject, rollback]
