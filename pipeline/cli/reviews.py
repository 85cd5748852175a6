"""``pressroom approve JOB``, ``pressroom reject JOB --reason``, ``pressroom rollback TARGET [JOB]``."""

from __future__ import annotations

from typing import Any

import click

from pipeline.cli import client, options


def _call(ctx: click.Context, server: str | None, token: str | None, method: str, path: str, **kw: Any) -> Any:
    url = options.server_url(ctx, server)
    return options.run_client(ctx, client.call(url, token, method, path, **kw))


@click.command()
@click.argument("job_id")
@options.client_options
@click.pass_context
def approve(ctx: click.Context, job_id: str, server: str | None, token: str | None) -> None:
    """Approve a build waiting for review: promotes its release (admin)."""
    body = _call(ctx, server, token, "POST", f"/api/builds/{job_id}/approve")
    options.console.print(f"approved {job_id}; promotion job {body['promote_job']}")


@click.command()
@click.argument("job_id")
@click.option("--reason", required=True, help="Why: shown to the writers.")
@options.client_options
@click.pass_context
def reject(ctx: click.Context, job_id: str, reason: str, server: str | None, token: str | None) -> None:
    """Reject a build waiting for review (admin)."""
    _call(ctx, server, token, "POST", f"/api/builds/{job_id}/reject", json={"reason": reason})
    options.console.print(f"rejected {job_id}")


@click.command()
@click.argument("target")
@click.argument("job_id", required=False)
@options.client_options
@click.pass_context
def rollback(ctx: click.Context, target: str, job_id: str | None, server: str | None, token: str | None) -> None:
    """Swap TARGET back to JOB_ID's release (default: the release before the live one)."""
    params = {"job_id": job_id} if job_id else {}
    body = _call(ctx, server, token, "POST", f"/api/targets/{target}/rollback", params=params)
    options.console.print(f"{target} now serves the release of {body['current']['job_id']}")


commands = [approve, reject, rollback]
