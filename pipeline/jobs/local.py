"""``pressroom build``: the build pipeline in this process, with no daemon and no store."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from rich.console import Console

from pipeline import config as config_mod
from pipeline.jobs import runner
from pipeline.jobs.context import OutcomeKind
from pipeline.jobs.workspace import Workspace
from pipeline.store import ids
from stages.base import StageResult


class ConsoleRecorder(runner.NullRecorder):
    def __init__(self, console: Console) -> None:
        self.console = console

    async def stage_started(self, name: str, position: int, pipeline: list[str]) -> bool:
        self.console.print(f"[bold]{name}[/bold] ...")
        return True

    async def stage_finished(self, name: str, result: StageResult, findings_total: int) -> bool:
        style = {"passed": "green", "failed": "red", "degraded": "yellow", "skipped": "dim"}.get(result.status, "white")
        counts = ", ".join(f"{k}={v}" for k, v in result.counts.items())
        self.console.print(f"  [{style}]{result.status}[/{style}] {counts}"
                           + (f" ({result.error_code}: {result.message})" if result.error_code else ""), highlight=False)
        for f in result.findings[:20]:
            self.console.print(f"  {f.severity} {f.file}:{f.line or '-'} {f.rule} {f.message}", highlight=False, markup=False)
        if findings_total > 20:
            self.console.print(f"  ... and {findings_total - 20} more findings")
        return True


async def build(cfg: config_mod.Config, source: Path, out: Path, names: list[str] | None, console: Console) -> bool:
    """Build ``source`` into ``out``; True when the build completed."""
    pipeline = names or [n for n in cfg.pipeline.build if n != "deploy"]
    job_id = ids.new_id("build")
    with tempfile.TemporaryDirectory(prefix="pressroom-build-") as tmp:
        ws = Workspace(Path(tmp))
        out_tmp = ws.out
        run = runner.BuildRun(job_id=job_id, workspace=ws, config=cfg, recorder=ConsoleRecorder(console),
                              source=source.resolve(), out=out_tmp, pipeline=pipeline)
        outcome = await runner.run_build(run)
        if out.exists():
            shutil.rmtree(out)
        if out_tmp.exists():
            shutil.copytree(out_tmp, out, symlinks=True)
        if ws.reports.exists():
            shutil.copytree(ws.reports, out / "_reports", dirs_exist_ok=True)
    if outcome.kind == OutcomeKind.COMPLETED:
        console.print(f"[green]built[/green] {source} -> {out}")
        return True
    console.print(f"[red]build failed[/red]: {outcome.error_code}: {outcome.error_message}")
    return False
