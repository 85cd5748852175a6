"""``pressroom audit run [--target T] [--wait]`` and ``pressroom audit show ID``: audits on a running daemon."""

from __future__ import annotations

import asyncio
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from pipeline.cli import client, options
from pipeline.cli.options import ExitCode

TOP = 10
_FINISHED = ("COMPLETED", "FAILED", "CANCELLED")


@click.group()
def audit() -> None:
    """Audits of the deployed sites: run one now, show a report."""


@audit.command("run")
@click.option("--target", help="Deploy target to audit (default: every [audit] targets).")
@click.option("--check", "checks", multiple=True, help="Only this check family (repeatable): links, images, ...")
@click.option("--wait", is_flag=True, help="Wait for the audit, print its summary; exit 1 when it failed.")
@options.client_options
@click.pass_context
def run_cmd(ctx: click.Context, target: str | None, checks: tuple[str, ...], wait: bool, server: str | None,
            token: str | None) -> None:
    url = options.server_url(ctx, server)
    body: dict[str, Any] = {"target": target} if target else {}
    if checks:
        body["checks"] = list(checks)
    code = options.run_client(ctx, _run(url, token, body, wait))
    ctx.exit(int(code))


async def _run(url: str, token: str | None, body: dict[str, Any], wait: bool) -> ExitCode:
    async with client.Client(url, token) as c:
        resp = await c.request("POST", "/api/audits", json=body)
        for job_id in resp["jobs"]:
            options.console.print(job_id, highlight=False)
        if not wait:
            return ExitCode.OK
        code = ExitCode.OK
        for job_id in resp["jobs"]:
            st = await _finished(c, job_id)
            if st["status"] != "COMPLETED":
                err = st.get("error") or {}
                options.console.print(f"{job_id} {st['status']} {err.get('code', '')}: {err.get('message', '')}",
                                      highlight=False, soft_wrap=True)
                code = ExitCode.FAILED
                continue
            _print_report(await c.request("GET", f"/api/audits/{job_id}"))
        return code


async def _finished(c: client.Client, job_id: str) -> dict[str, Any]:
    """Poll the job's status until it ends (an audit has no stages to follow live)."""
    for _ in range(100_000):
        st = await c.status(job_id)
        if st["status"] in _FINISHED:
            return st
        await asyncio.sleep(0.5)
    raise client.DaemonUnreachable(f"{job_id} did not finish")


@audit.command("show")
@click.argument("audit_id")
@options.client_options
@click.pass_context
def show_cmd(ctx: click.Context, audit_id: str, server: str | None, token: str | None) -> None:
    url = options.server_url(ctx, server)
    _print_report(options.run_client(ctx, client.call(url, token, "GET", f"/api/audits/{audit_id}")))


def _print_report(report: dict[str, Any]) -> None:
    s = report["summary"]
    per = ", ".join(f"{n} {sev}" for sev, n in s["severity"].items())
    options.console.print(f"audit {report['id']} of {report['target']} ({report['finished_at']}): {s['open']} open "
                          f"({per}); {s['new']} new, {s['fixed']} fixed", highlight=False, soft_wrap=True, markup=False)
    for note in report.get("notes", []):
        options.console.print(f"note: {note}", highlight=False, soft_wrap=True, markup=False)
    table = Table("severity", "state", "page", "check", "message", box=None)
    live = [f for f in report["findings"] if f["state"] != "fixed"]
    for f in live[:TOP]:
        # page titles and URLs come from crawled pages: plain text, never Rich markup
        table.add_row(*(Text(str(v)) for v in (f["severity"], f["state"], f["page"], f["check"], (f["message"] or "")[:100])))
    options.console.print(table)
    if len(live) > TOP:
        options.console.print(f"... and {len(live) - TOP} more: {report['report_url']}", highlight=False)


commands = [audit]
