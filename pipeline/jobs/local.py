"""``pressroom build``: the build pipeline in this process, with no daemon and no store.

The output folder is never emptied in place: the build writes a new folder beside ``--out`` and
swaps it in with two renames once there is a site to show, so a failed build leaves the previous
output as it was, and a folder pressroom did not write (no :data:`MARKER`) is refused before
anything is touched. A build that fails only on lint or link check still swaps its site in, so the
writer can look at it (``mkdocs build --strict`` does the same), and the command still fails.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from rich.console import Console

from pipeline import config as config_mod
from pipeline import errors
from pipeline.jobs import runner
from pipeline.jobs.context import Outcome, OutcomeKind
from pipeline.jobs.workspace import Workspace
from pipeline.store import ids
from stages.base import StageResult
from stages.deploy import release
from stages.site import roots

MARKER = ".pressroom-build"
"""File an output folder gets from ``pressroom build``: the proof that replacing it deletes only our own files."""


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


def with_overrides(cfg: config_mod.Config, *, include_root: Path | None = None, drafts: bool = False,
                   strict: bool = False, fail_on: str | None = None) -> config_mod.Config:
    """The config with the command line's site and lint options applied (the flags win over the file)."""
    site_update: dict[str, object] = {}
    if include_root is not None:
        site_update["include_root"] = include_root.resolve()
    if drafts:
        site_update["drafts"] = True
    lint_update: dict[str, object] = {}
    if strict:
        lint_update["strict"] = True
    if fail_on is not None:
        lint_update["fail_on"] = fail_on
    update: dict[str, object] = {}
    if site_update:
        update["site"] = cfg.site.model_copy(update=site_update)
    if lint_update:
        update["stages"] = cfg.stages.model_copy(update={"lint": cfg.stages.lint.model_copy(update=lint_update)})
    return cfg.model_copy(update=update) if update else cfg


def check_out(source: Path, out: Path) -> None:
    """Raise :class:`errors.OutputRefused` unless replacing ``out`` can only delete an earlier build."""
    src, dst = source.resolve(), out.absolute()
    if out.is_symlink():
        raise errors.OutputRefused(f"--out {out} is a symbolic link; give the real folder")
    dst = dst.resolve()
    if dst == src:
        raise errors.OutputRefused(f"--out {out} is the source folder; building there would delete the sources")
    if src.is_relative_to(dst):
        raise errors.OutputRefused(f"--out {out} holds the source folder {source}; building there would delete the sources")
    if dst.exists() and not dst.is_dir():
        raise errors.OutputRefused(f"--out {out} is a file, not a folder")
    if dst.is_dir() and not (dst / MARKER).is_file() and any(dst.iterdir()):
        raise errors.OutputRefused(f"--out {out} is a folder that pressroom did not build (no {MARKER} in it) "
                                   "and is not empty; choose an empty or new folder")


def _swap_in(new: Path, out: Path) -> None:
    """Put ``new`` at ``out`` with renames on one file system; the old build is removed only after."""
    (new / MARKER).write_text("written by pressroom build; this folder is replaced by the next build\n")
    release.publish_modes(new)
    old: Path | None = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rename(out, old / "site")
    os.rename(new, out)
    if old is not None:
        shutil.rmtree(old)


def _site_written(outcome: Outcome) -> bool:
    return outcome.kind == OutcomeKind.COMPLETED or (
        outcome.kind == OutcomeKind.FAILED and outcome.error_code in runner.REPORTING_CODES)


async def build(cfg: config_mod.Config, source: Path, out: Path, names: list[str] | None, console: Console) -> bool:
    """Build ``source`` into ``out``; True when the build completed.

    Raises :class:`errors.OutputRefused`, having touched nothing, when ``out`` is not ours to replace.
    """
    check_out(source, out)
    if cfg.site.include_root is None:  # --root not given: the git work tree holding the source
        cfg = cfg.model_copy(update={"site": cfg.site.model_copy(
            update={"include_root": roots.default_root(source, Path.cwd())})})
    pipeline = names or [n for n in cfg.pipeline.build if n != "deploy"]
    job_id = ids.new_id("build")
    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        with tempfile.TemporaryDirectory(prefix="pressroom-build-") as tmp:
            ws = Workspace(Path(tmp))
            run = runner.BuildRun(job_id=job_id, workspace=ws, config=cfg, recorder=ConsoleRecorder(console),
                                  source=source.resolve(), out=new, pipeline=pipeline)
            outcome = await runner.run_build(run)
            if ws.reports.exists():
                shutil.copytree(ws.reports, new / "_reports", dirs_exist_ok=True)
        if _site_written(outcome):
            _swap_in(new, out)
    finally:
        if new.exists():
            shutil.rmtree(new)
    if outcome.kind == OutcomeKind.COMPLETED:
        console.print(f"[green]built[/green] {source} -> {out}", highlight=False)
        return True
    console.print("[red]build failed[/red]: ", end="")
    console.print(f"{outcome.error_code}: {outcome.error_message}", highlight=False, markup=False)
    if _site_written(outcome):
        console.print(f"the site was written to {out} so it can be looked at", highlight=False, markup=False)
    else:
        console.print(f"{out} was left as it was", highlight=False, markup=False)
    return False
