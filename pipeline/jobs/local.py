"""``pressroom build``: the build pipeline in this process, with no daemon and no store.

The output folder is never emptied in place: the build writes a new folder beside ``--out`` and
swaps it in with two renames once there is a site to show, so a failed build leaves the previous
output as it was, and a folder pressroom did not write (no :data:`MARKER`) is refused before
anything is touched. A build that fails only on lint or link check still swaps its site in, so the
writer can look at it (``mkdocs build --strict`` does the same), and the command still fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pipeline import errors

if TYPE_CHECKING:  # loaded by build(): the no-change check (pipeline.cli.buildstamp) needs none of it
    import concurrent.futures

    from pipeline import config as config_mod
    from pipeline.jobs.context import Outcome
    from stages.base import StageResult

MARKER = ".pressroom-build"
"""File an output folder gets from ``pressroom build``: the proof that replacing it deletes only our own files."""


DETERMINISTIC = frozenset({"lint", "render_html", "render_pdf", "noop"})
"""Stages whose result is a function of the files alone, so an unchanged tree can skip them."""


class ConsoleRecorder:
    """The runner's :class:`~pipeline.jobs.runner.Recorder` for a terminal; keeps the lines it
    printed (plain) so a no-change rebuild can print them again.

    Lines go out through ``echo`` (``click.echo``, which drops the colours when the output is not
    a terminal), whole: a finding is one line to grep, and rich's import and line wrapping were
    a tenth of a one-page rebuild."""

    def __init__(self, echo: Callable[[str], None] | None = None) -> None:
        self.echo = echo or click.echo
        self.lines: list[str] = []

    def _say(self, styled: str, plain: str) -> None:
        self.echo(styled)
        self.lines.append(plain)

    async def stage_started(self, name: str, position: int, pipeline: list[str]) -> bool:
        self._say(f"{click.style(name, bold=True)} ...", f"{name} ...")
        return True

    async def stage_finished(self, name: str, result: StageResult, findings_total: int) -> bool:
        colour = {"passed": "green", "failed": "red", "degraded": "yellow"}.get(result.status)
        status = click.style(result.status, fg=colour, dim=result.status == "skipped")
        counts = ", ".join(f"{k}={v}" for k, v in result.counts.items())
        tail = f" ({result.error_code}: {result.message})" if result.error_code else ""
        self._say(f"  {status} {counts}{tail}", f"  {result.status} {counts}{tail}")
        for f in result.findings[:20]:
            line = f"  {f.severity} {f.file}:{f.line or '-'} {f.rule} {f.message}"
            self._say(line, line)
        if findings_total > 20:
            self._say(f"  ... and {findings_total - 20} more findings", f"  ... and {findings_total - 20} more findings")
        return True

    async def progress(self, stage: str, overall: float, stage_progress: float, message: str | None) -> None:
        return None


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


def _swap_in(new: Path, out: Path, stamp: dict[str, Any], trash: Path) -> None:
    """Put ``new`` at ``out`` with renames on one file system; the old build is removed only after.

    The old build goes to ``trash`` (in the data dir) and is deleted by a detached ``rm`` once
    this command has returned: deleting a site's folders is the slowest part of a one-page
    rebuild (each ``rmdir`` waits for the disk, 0.6 s for FastAPI's 210 folders here) and no
    one waits for it. Where ``trash`` is on another file system, the old build is deleted here.
    """
    from stages.deploy import release

    record = {"about": "written by pressroom build; this folder is replaced by the next build", **stamp}
    (new / MARKER).write_text(json.dumps(record, indent=1) + "\n")
    release.publish_modes(new)
    if not out.exists():
        os.rename(new, out)
        return
    if _to_trash(out, trash):
        os.rename(new, out)
        with contextlib.suppress(OSError):
            _remove_later(trash)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.rename(out, old / "site")
    os.rename(new, out)
    shutil.rmtree(old)


def _to_trash(out: Path, trash: Path) -> bool:
    """Move ``out`` into a new folder of ``trash``; False, with ``out`` where it was, when that
    cannot be done (``trash`` on another file system, or not writable)."""
    try:
        trash.mkdir(parents=True, exist_ok=True)
        held = Path(tempfile.mkdtemp(prefix="old-", dir=trash))
    except OSError:
        return False
    try:
        os.rename(out, held / "site")
    except OSError:
        with contextlib.suppress(OSError):
            held.rmdir()
        return False
    return True


def _remove_later(trash: Path) -> None:
    """Delete what ``trash`` holds (earlier builds' outputs, left-overs of an interrupted delete
    included) in a process of its own that outlives this one; in this process if none starts."""
    import subprocess

    held = [str(p) for p in trash.iterdir()]
    if not held:
        return
    try:
        subprocess.Popen(["rm", "-rf", "--", *held], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:
        for path in held:
            shutil.rmtree(path, ignore_errors=True)


def _site_written(outcome: Outcome) -> bool:
    from pipeline.jobs import runner
    from pipeline.jobs.context import OutcomeKind

    return outcome.kind == OutcomeKind.COMPLETED or (
        outcome.kind == OutcomeKind.FAILED and outcome.error_code in runner.REPORTING_CODES)


def _warm() -> None:
    """First task of each pool process: the Markdown engine and the HTML formatter are loaded
    while the main process is still importing the runner and reading the site."""
    from stages.markdown import analyze, highlight

    highlight.highlight("x = 1\n", "python", {})
    del analyze


def _die_with_parent(parent_pid: int) -> None:
    """The pool's initializer: :mod:`stages.lifeline` (ctypes) is loaded by the workers, which a
    rebuild of a few pages never starts, not by this process."""
    from stages import lifeline

    lifeline.die_with_parent(parent_pid)


@contextlib.contextmanager
def _pool(processes: int, warm: bool) -> Iterator[concurrent.futures.Executor | None]:
    """The page work of a command build on every core, as the daemon's pool does (``[workers]
    processes``; 0 = threads). Forked, so a process starts in milliseconds with what this one
    has loaded. With ``warm`` (an empty cache: every page is work) the processes start now and
    load the Markdown engine while this one imports the runner; a rebuild, which has a few pages
    at most, starts them only if a page needs one, and leaves both cores to the main process."""
    import concurrent.futures
    import multiprocessing

    if processes <= 0 or "fork" not in multiprocessing.get_all_start_methods():
        yield None
        return
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("fork"),
                                                  initializer=_die_with_parent, initargs=(os.getpid(),))
    try:
        for _ in range(processes if warm else 0):
            pool.submit(_warm)
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def stamp_inputs(cfg: config_mod.Config, source: Path, out: Path, pipeline: list[str]) -> tuple[list[str], list[str]] | None:
    """What the no-change check walks and leaves out, or None when the stages read more than files."""
    stages = cfg.stages
    for name in pipeline:
        if name == "linkcheck" and stages.linkcheck.external == "off":
            continue
        if name == "openapi" and not stages.openapi.specs:
            continue
        if name not in DETERMINISTIC:
            return None
    include_root = Path(cfg.site.include_root or source).resolve()
    walk = [str(include_root)] + ([] if source.resolve().is_relative_to(include_root) else [str(source.resolve())])
    skip = [str(out), str(cfg.data_path.resolve()), str(out.parent / f".{out.name}.new-") + "*",
            str(out.parent / f".{out.name}.old-") + "*", str(Path(tempfile.gettempdir()).resolve() / "pressroom-build-") + "*"]
    return walk, skip


async def build(cfg: config_mod.Config, source: Path, out: Path, names: list[str] | None,
                echo: Callable[[str], None] | None = None, stamp_key: str | None = None) -> bool:
    """Build ``source`` into ``out``; True when the build completed.

    With ``stamp_key`` (:func:`pipeline.cli.buildstamp.key`), the marker records the stats of the
    inputs taken before the build, so the next run can tell that nothing changed.
    Raises :class:`errors.OutputRefused`, having touched nothing, when ``out`` is not ours to replace.
    """
    check_out(source, out)
    cold = not (cfg.data_path / "cache" / cfg.site.name).is_dir()  # where the runner keeps the stages' caches
    with _pool(cfg.workers.processes, warm=cold) as pool:
        return await _build(cfg, source, out, names, echo or click.echo, stamp_key, pool)


async def _build(cfg: config_mod.Config, source: Path, out: Path, names: list[str] | None, echo: Callable[[str], None],
                 stamp_key: str | None, pool: concurrent.futures.Executor | None) -> bool:
    from pipeline.cli import buildstamp
    from pipeline.jobs import runner
    from pipeline.jobs.context import OutcomeKind
    from pipeline.jobs.workspace import Workspace
    from pipeline.store import ids
    from stages.site import roots

    if cfg.site.include_root is None:  # --root not given: the git work tree holding the source
        cfg = cfg.model_copy(update={"site": cfg.site.model_copy(
            update={"include_root": roots.default_root(source, Path.cwd())})})
    pipeline = names or [n for n in cfg.pipeline.build if n != "deploy"]
    out = out.absolute()
    inputs = stamp_inputs(cfg, source, out, pipeline) if stamp_key else None
    stamp = buildstamp.record(stamp_key, source, *inputs) if stamp_key and inputs else {}
    out.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    recorder = ConsoleRecorder(echo)
    try:
        with tempfile.TemporaryDirectory(prefix="pressroom-build-") as tmp:
            ws = Workspace(Path(tmp))
            run = runner.BuildRun(job_id=ids.new_id("build"), workspace=ws, config=cfg, recorder=recorder,
                                  source=source.resolve(), out=new, pipeline=pipeline, executor=pool)
            outcome = await runner.run_build(run)
            if ws.reports.exists():
                shutil.copytree(ws.reports, new / "_reports", dirs_exist_ok=True)
        written = _site_written(outcome)
        if outcome.kind == OutcomeKind.COMPLETED:
            tail = [f"built {source} -> {out}"]
        else:
            tail = [f"build failed: {outcome.error_code}: {outcome.error_message}",
                    f"the site was written to {out} so it can be looked at" if written else f"{out} was left as it was"]
        if written:
            _swap_in(new, out, {**stamp, "ok": outcome.kind == OutcomeKind.COMPLETED, "lines": recorder.lines + tail},
                     cfg.data_path.resolve() / "tmp" / "old-output")
    finally:
        if new.exists():
            shutil.rmtree(new)
    if outcome.kind == OutcomeKind.COMPLETED:
        echo(f"{click.style('built', fg='green')} {source} -> {out}")
        return True
    echo(f"{click.style('build failed', fg='red')}: {outcome.error_code}: {outcome.error_message}")
    echo(tail[1])
    return False
