"""``pressroom submit|status|list|cancel|retry``: jobs on a running daemon.

Each command resolves the daemon's address and runs one of the coroutines below, which return
the command's exit code (the job's outcome for ``--wait`` and ``--follow``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from pipeline.cli import client, options
from pipeline.cli.options import ExitCode
from pipeline.store import JobStatus
from stages.translate.states import STATES

STATUS_STYLE = {JobStatus.PENDING: "yellow", JobStatus.PROCESSING: "cyan", JobStatus.COMPLETED: "green", JobStatus.FAILED: "red", JobStatus.CANCELLED: "magenta"}


def _code(status: str) -> ExitCode:
    return ExitCode.OK if status == JobStatus.COMPLETED else ExitCode.FAILED


async def submit_source(server: str, token: str | None, source: Path, wait: bool, branch: str | None,
                        idempotency_key: str | None, console: Console, callback: str | None = None,
                        callback_events: list[str] | None = None) -> ExitCode:
    async with client.Client(server, token) as c:
        resp = await c.submit_path(source, branch=branch, idempotency_key=idempotency_key, callback=callback,
                                   callback_events=callback_events)
        console.print(resp["job_id"], highlight=False)
        if (resp.get("callback") or {}).get("secret"):
            # Shown once: the daemon derives it and never shows it again.
            console.print(f"callback secret: {resp['callback']['secret']}", highlight=False, soft_wrap=True)
        if resp.get("duplicate"):
            console.print("[dim](same content as an existing job: returning that job)[/dim]")
        if not wait:
            return ExitCode.OK
        return await _follow(c, resp["job_id"], console)


async def show_status(server: str, token: str | None, job_id: str, follow: bool, as_json: bool, console: Console) -> ExitCode:
    async with client.Client(server, token) as c:
        if follow:
            return await _follow(c, job_id, console, as_json=as_json)
        st = await c.status(job_id)
        if as_json:
            console.print_json(json.dumps(st))
        else:
            print_status(st, console)
        return ExitCode.OK if st["status"] in (JobStatus.COMPLETED, JobStatus.PENDING, JobStatus.PROCESSING) else ExitCode.FAILED


async def _follow(c: client.Client, job_id: str, console: Console, as_json: bool = False) -> ExitCode:
    """Live bars per stage from the SSE stream; plain lines when not on a terminal."""
    progress = Progress(TextColumn("{task.description:<14}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
                        TextColumn("{task.fields[state]}"), TimeElapsedColumn(), console=console,
                        disable=not console.is_terminal)
    tasks: dict[str, Any] = {}
    final: dict[str, Any] = {}
    with progress:
        async for event, data in c.events(job_id):
            if event == "end":
                final = data
                break
            stage = data.get("stage")
            if not console.is_terminal and not as_json and event in ("status", "stage"):
                console.print(f"{data.get('at')} {event:<7} {stage or '':<12} {data.get('status') or data.get('status', '')}"
                              f"{' ' + str(data.get('error_code')) if data.get('error_code') else ''}", highlight=False)
            if stage:
                if stage not in tasks:
                    tasks[stage] = progress.add_task(stage, total=100, state="running")
                if event == "progress" and data.get("stage_progress") is not None:
                    progress.update(tasks[stage], completed=data["stage_progress"])
                if event == "stage" and data.get("status") not in (None, "running"):
                    progress.update(tasks[stage], completed=100, state=data["status"])
    if not final:
        final = await c.status(job_id)
    if as_json:
        console.print_json(json.dumps(final))
    else:
        print_status(final, console)
    return _code(final["status"])


def print_status(st: dict[str, Any], console: Console) -> None:
    style = STATUS_STYLE.get(st["status"], "white")
    console.print(f"[bold]{st['job_id']}[/bold] {st['kind']} [{style}]{st['status']}[/{style}]"
                  f"  stage={st.get('stage') or '-'} progress={st.get('progress')}%", highlight=False)
    if st.get("queue_position"):
        console.print(f"queue position {st['queue_position']}, eta {st.get('eta_seconds') or '?'} s")
    if st.get("stages"):
        table = Table("stage", "status", "seconds", "counts", box=None)
        for s in st["stages"]:
            table.add_row(s["name"], s["status"], str(s.get("duration_seconds") or ""),
                          ", ".join(f"{k}={v}" for k, v in (s.get("counts") or {}).items()))
        console.print(table)
        for s in st["stages"]:
            for f in (s.get("findings") or [])[:10]:
                console.print(f"  {f.get('severity')} {f.get('file')}:{f.get('line') or '-'} {f.get('rule')} {f.get('message')}",
                              highlight=False, markup=False)
            if s.get("findings_total", 0) > 10:
                console.print(f"  ... {s['findings_total'] - 10} more in {s['name']}")
    if st.get("live_url"):
        console.print(f"Live at {st['live_url']}")
    if st.get("translations"):
        print_translations(st["translations"], console)
    if st.get("error"):
        e = st["error"]
        console.print(f"[red]{e['code']}[/red]: {e.get('message')} (runbook: {e.get('runbook')})", highlight=False)


def print_translations(translations: dict[str, Any], console: Console) -> None:
    """One row per language of a fanned-out build: its own job, status and completion."""
    table = Table("language", "translation", "status", "complete", *STATES, "where",
                  box=None, title="translations")
    for lang, t in sorted(translations.items()):
        completion = t.get("completion")
        cells = [lang, str(t.get("translation_id") or ""), str(t.get("status") or ""),
                 f"{completion}%" if completion is not None else "-",
                 *(str(t[k]) if t.get(k) is not None else "-" for k in STATES),
                 str(t.get("live_url") or t.get("preview_url") or "")]
        table.add_row(*(Text(c) for c in cells))  # Text: a language code from a submitted tree is never markup
    console.print(table)


async def list_jobs(server: str, token: str | None, status_filter: str | None, kind: str | None, limit: int,
                    console: Console) -> ExitCode:
    async with client.Client(server, token) as c:
        params: dict[str, str] = {"limit": str(limit)}
        if status_filter:
            params["status"] = status_filter
        if kind:
            params["kind"] = kind
        body = await c.request("GET", "/api/builds", params=params)
    if not console.is_terminal:  # piped: whole IDs, tab-separated, easy to cut/awk
        for j in body["jobs"]:
            print("\t".join([j["job_id"], j["kind"], j["status"], j.get("stage") or "-", str(j["progress"]), j["created_at"]]))
        return ExitCode.OK
    table = Table("job", "kind", "status", "stage", "progress", "created", box=None)
    table.columns[0].no_wrap = True
    for j in body["jobs"]:
        table.add_row(j["job_id"], j["kind"], j["status"], j.get("stage") or "", f"{j['progress']}%", j["created_at"])
    console.print(table)
    return ExitCode.OK


async def post_action(server: str, token: str | None, path: str, console: Console) -> ExitCode:
    body = await client.call(server, token, "POST", path)
    console.print(f"{body.get('job_id', '')} {body.get('status', '')}".strip())
    return ExitCode.OK


@click.command()
@click.argument("source", type=click.Path(exists=True))
@click.option("--wait", is_flag=True, help="Follow the job until it ends; exit non-zero if it fails.")
@click.option("--branch", default=None, help="Branch or folder name: a newer submission supersedes a pending older one.")
@click.option("--idempotency-key", default=None)
@click.option("--callback", default=None, metavar="URL",
              help="POST the job's result here, signed (Standard Webhooks); prints the signing secret once.")
@click.option("--callback-event", "callback_events", multiple=True, metavar="EVENT",
              help="An event to call back for (repeat; default the terminal ones).")
@options.client_options
@click.pass_context
def submit(ctx: click.Context, source: str, wait: bool, branch: str | None, idempotency_key: str | None,
           callback: str | None, callback_events: tuple[str, ...], server: str | None, token: str | None) -> None:
    """Submit a docs folder or archive; prints the job ID at once."""
    url = options.server_url(ctx, server)
    ctx.exit(options.run_client(ctx, submit_source(url, token, Path(source), wait, branch, idempotency_key, options.console,
                                                   callback, list(callback_events) or None)))


@click.command()
@click.argument("job_id")
@click.option("--follow", "-f", is_flag=True, help="Show live progress per stage until the job ends.")
@click.option("--json", "as_json", is_flag=True, help="Print the status JSON.")
@options.client_options
@click.pass_context
def status(ctx: click.Context, job_id: str, follow: bool, as_json: bool, server: str | None, token: str | None) -> None:
    """Show a job's status; with --follow exit non-zero when it fails."""
    url = options.server_url(ctx, server)
    ctx.exit(options.run_client(ctx, show_status(url, token, job_id, follow, as_json, options.console)))


@click.command("list")
@click.option("--status", "status_filter", default=None)
@click.option("--kind", default=None)
@click.option("--limit", type=int, default=20)
@options.client_options
@click.pass_context
def list_cmd(ctx: click.Context, status_filter: str | None, kind: str | None, limit: int, server: str | None, token: str | None) -> None:
    """List recent jobs."""
    url = options.server_url(ctx, server)
    ctx.exit(options.run_client(ctx, list_jobs(url, token, status_filter, kind, limit, options.console)))


def _job_action(action: str, help_text: str) -> click.Command:
    """``pressroom cancel JOB`` and ``pressroom retry JOB``: one POST each."""

    @click.argument("job_id")
    @options.client_options
    @click.pass_context
    def command(ctx: click.Context, job_id: str, server: str | None, token: str | None) -> None:
        url = options.server_url(ctx, server)
        ctx.exit(options.run_client(ctx, post_action(url, token, f"/api/builds/{job_id}/{action}", options.console)))

    return click.command(action, help=help_text)(command)


cancel = _job_action("cancel", "Cancel a job.")
retry = _job_action("retry", "Retry a FAILED job.")

commands = [submit, status, list_cmd, cancel, retry]
