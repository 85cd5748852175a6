"""The drop-folder watchers on the app: :func:`watchers_ctx`, a cleanup context that ``create_app``
starts after the store (the intake routes are mounted with the others by ``api/routes.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from pipeline import errors
from pipeline.api.keys import config_key, store_key, submitter_key, supervisor_key, watchers_key
from pipeline.intake import channels, snapshot
from pipeline.intake.folders import FolderWatcher, RefState, SubmitFn, Timing
from pipeline.intake.submitter import SubmitOptions
from pipeline.store.model import SubmitResult

logger = logging.getLogger(__name__)


def folders(app: web.Application) -> list[Path]:
    """The configured drop folders, absolute; a folder holding the data folder is refused."""
    cfg = app[config_key]
    data = Path(os.path.abspath(cfg.data_path))
    out = []
    for entry in cfg.intake.watch:
        folder = Path(os.path.abspath(cfg.resolve(entry)))
        if folder == data or folder in data.parents:
            rel = data.relative_to(folder).parts
            if not any(part in snapshot.IGNORED_NAMES for part in rel):
                logger.error("not watching %s: the data folder %s is inside it (snapshots would copy the store)",
                             folder, data)
                continue
        out.append(folder)
    return out


async def watchers_ctx(app: web.Application) -> AsyncIterator[None]:
    """Start one watcher per drop folder after the store; stop them before it closes."""
    cfg = app[config_key]
    targets = folders(app) if cfg.intake.watch else []
    if not targets:
        yield
        return
    store = app[store_key]
    state = RefState(store.ref_get, store.ref_set)
    timing = Timing.from_config(cfg.intake)
    watchers = [FolderWatcher(f, timing=timing, submit=_submitter(app, f, state), state=state) for f in targets]
    app[watchers_key] = watchers
    supervisor = app[supervisor_key]
    names = [f"watcher:{w.folder}" for w in watchers]
    for name, w in zip(names, watchers, strict=True):
        supervisor.start(name, w.run, stop=w.stop)  # a watcher that dies is logged and restarted
    yield
    await asyncio.gather(*(supervisor.stop(name) for name in names))


def _submitter(app: web.Application, folder: Path, state: RefState) -> SubmitFn:
    async def submit(live: Path, digest: str | None) -> SubmitResult:
        # dedupe=False: a folder that goes back to an older state must build again, so only the
        # "same as the folder's last snapshot" check skips work. Several daemons may watch one
        # shared folder: the last snapshot is read from the store (another node may have built
        # this content already), and the idempotency key names the change (previous job ->
        # content), so nodes that see the same change together fold onto one job.
        last = await state.load(folder)
        if digest is not None and last.get("hash") == digest and last.get("job_id"):
            with contextlib.suppress(errors.NotFound):
                return SubmitResult(await app[store_key].get(str(last["job_id"])), created=False)
        change = f"{folder}\0{last.get('job_id') or ''}\0{digest}"
        key = "folder:" + hashlib.sha256(change.encode()).hexdigest() if digest else None
        opts = SubmitOptions(trigger={"kind": "folder", "folder": str(folder)}, supersede_key=str(folder),
                             source_hash=digest, dedupe=False, idempotency_key=key)
        result = await app[submitter_key].submit_path(live, opts)
        channels.after_submit(app, result)
        return result

    return submit
