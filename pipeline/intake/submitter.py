"""Turning a submission into a snapshot on disk and a job: the one path every trigger ends in.

``Submitter.submit_*`` snapshot the source into the new job's workspace *before* the job row
exists, so a worker can never claim a job whose source is not there yet; when the store maps the
submission onto an existing job (idempotency key, same content), the fresh snapshot is dropped.
Git sources are the exception: the worker fetches them (:mod:`pipeline.intake.gitfetch`), so a
fetch that fails is a FAILED job rather than a refused request.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import config as config_mod
from pipeline import errors, redact
from pipeline.intake import archives, gitfetch, gittree, snapshot
from pipeline.jobs.workspace import Workspace
from pipeline.store import JobSpec, Store, ids
from pipeline.store.model import SubmitResult
from stages.site import gitdates, roots


@dataclass(frozen=True, kw_only=True)
class SubmitOptions:
    idempotency_key: str | None = None
    request_hash: str | None = None
    trigger: dict[str, Any] | None = None
    supersede_key: str | None = None
    priority: int | None = None
    target: str | None = None
    dedupe: bool = True
    source_hash: str | None = None
    """Use this content id instead of hashing the snapshot (only ids the daemon computed or a signed
    push named: the worker checks a push's tree after its fetch)."""
    claimed_tree: str | None = None
    """A git tree ID the client says the archive holds (the post-commit hook's): the daemon computes
    the archive's own and refuses a mismatch, then dedupes on ``gittree:<id>``."""
    callback: dict[str, Any] | None = None
    """The per-job callback (``pipeline.notify.callbacks.register``), kept in the job's payload."""


def unpack(data: bytes, dest: Path, max_bytes: int, git_algo: str | None = None) -> tuple[str, str, str | None]:
    """Extract, find the site root and hash it in one trip to a worker process (off the GIL).

    With ``git_algo``, also the git tree ID of the whole archive (before a single top folder is
    unwrapped: ``git archive`` of a commit holds exactly the commit's tree).
    """
    archives.extract_archive(data, dest, max_bytes=max_bytes)
    tree = gittree.tree_id(dest, algo=git_algo) if git_algo else None
    root = archives.unwrap_single_dir(dest)
    return str(root), snapshot.tree_hash(root), tree


class Submitter:
    def __init__(self, *, store: Store, config: config_mod.Config, executor: Executor | None = None) -> None:
        self.store = store
        self.config = config
        self.executor = executor
        """The daemon's process pool: unpacking uploads there keeps the event loop's core free."""

    @property
    def data_dir(self) -> Path:
        return self.config.data_path

    def _spec(self, job_id: str, opts: SubmitOptions, *, source_path: str | None, source_hash: str | None,
              payload: dict[str, Any] | None = None) -> JobSpec:
        w = self.config.workers
        return JobSpec(
            kind="build", job_id=job_id, priority=opts.priority if opts.priority is not None else w.priorities.get("build", 50),
            max_attempts=w.max_attempts, idempotency_key=opts.idempotency_key, request_hash=opts.request_hash,
            source_hash=source_hash, source_path=source_path, supersede_key=opts.supersede_key,
            target=opts.target or self.config.stages.deploy.target, trigger=dict(opts.trigger or {"kind": "api"}),
            payload={**(payload or {}), **({"callback": opts.callback} if opts.callback else {})}, dedupe=opts.dedupe,
        )

    async def submit_archive(self, data: bytes, opts: SubmitOptions) -> SubmitResult:
        job_id = ids.new_id("build")
        ws = Workspace.for_job(self.data_dir, job_id)
        ws.create()
        max_bytes = int(self.config.server.max_upload_mb * 2**20 * 10)
        algo = gittree.algo_for(opts.claimed_tree) if opts.claimed_tree else None
        try:
            root, digest, tree = await asyncio.get_running_loop().run_in_executor(
                self.executor, unpack, data, ws.source, max_bytes, algo)
            if opts.claimed_tree is not None and tree != opts.claimed_tree.lower():
                raise errors.TreeMismatch(
                    f"the archive's git tree is {tree}, not the claimed {opts.claimed_tree}: send the archive "
                    "of the commit you name (git archive HEAD)", claimed=opts.claimed_tree, computed=tree)
        except Exception:
            shutil.rmtree(ws.root, ignore_errors=True)
            raise
        if tree is not None:
            opts = SubmitOptions(**{**opts.__dict__, "source_hash": f"gittree:{tree}"})
        return await self._finish(job_id, ws, Path(root), opts, digest)

    async def submit_path(self, path: Path, opts: SubmitOptions) -> SubmitResult:
        if not path.is_dir():
            raise errors.InvalidSource(f"source path {str(path)!r} is not a folder on the daemon's machine")
        job_id = ids.new_id("build")
        ws = Workspace.for_job(self.data_dir, job_id)
        ws.create()
        try:
            await asyncio.to_thread(snapshot.copy_tree, path, ws.source)
            if roots.work_tree(path.resolve()) is not None:  # the snapshot drops .git: keep its dates
                await asyncio.to_thread(gitdates.record, path, ws.root / gitdates.SIDECAR)
        except Exception:
            shutil.rmtree(ws.root, ignore_errors=True)
            raise
        return await self._finish(job_id, ws, ws.source, opts)

    async def submit_git(self, url: str, ref: str | None, opts: SubmitOptions) -> SubmitResult:
        """Git sources are fetched by the worker (a failed fetch is a FAILED job, not a 4xx).

        Only the redacted URL reaches the store (trigger, payload, content id); a URL with
        credentials is kept for the fetch in a 0600 file in the job's workspace.
        """
        job_id = ids.new_id("build")
        ws = Workspace.for_job(self.data_dir, job_id)
        ws.create()
        shown = redact.redact_url(url) or ""
        trigger = dict(opts.trigger or {"kind": "api"})
        for key in ("repository", "url"):
            if isinstance(trigger.get(key), str):
                trigger[key] = redact.redact_url(trigger[key])
        trigger.setdefault("repository", shown)
        if ref:
            trigger.setdefault("sha", ref)
        secret = gitfetch.keep_git_url(ws.root, url)
        spec = self._spec(job_id, SubmitOptions(**{**opts.__dict__, "trigger": trigger}), source_path=str(ws.source),
                          source_hash=opts.source_hash or (_git_content_id(shown, ref) if ref and len(ref) == 40 else None),
                          payload={"git": {"url": shown, "ref": ref, "credentials": secret}})
        res = await self.store.submit(spec)
        if not res.created:
            shutil.rmtree(ws.root, ignore_errors=True)
        return res

    async def _finish(self, job_id: str, ws: Workspace, source: Path, opts: SubmitOptions,
                      digest: str | None = None) -> SubmitResult:
        digest = opts.source_hash or digest or await asyncio.to_thread(snapshot.tree_hash, source)
        res = await self.store.submit(self._spec(job_id, opts, source_path=str(source), source_hash=digest))
        if not res.created:
            shutil.rmtree(ws.root, ignore_errors=True)
        return res


def _git_content_id(url: str, sha: str) -> str:
    """``git:<digest of url@sha>``: fits ``jobs.source_hash`` (64) and the dedupe key however long the URL."""
    return "git:" + hashlib.sha256(f"{url}@{sha}".encode()).hexdigest()[:60]


def request_hash(body: bytes | str | dict[str, Any]) -> str:
    """What an ``Idempotency-Key`` is bound to: the same key with another body is a conflict."""
    if isinstance(body, dict):
        body = json.dumps(body, sort_keys=True)
    if isinstance(body, str):
        body = body.encode()
    return hashlib.sha256(body).hexdigest()
