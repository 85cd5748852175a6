"""Turning a submission into a snapshot on disk and a job: the one path every trigger ends in.

``Submitter.submit_*`` snapshot the source into the new job's workspace *before* the job row
exists, so a worker can never claim a job whose source is not there yet; when the store maps the
submission onto an existing job (idempotency key, same content), the fresh snapshot is dropped.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import config as config_mod
from pipeline import errors, workspace
from pipeline.store import JobSpec, Store, ids
from pipeline.store.model import SubmitResult


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
    """Use this content id instead of hashing the snapshot (e.g. ``gittree:<sha>`` from a hook)."""


def unpack(data: bytes, dest: Path, max_bytes: int) -> tuple[str, str]:
    """Extract, find the site root and hash it in one trip to a worker process (off the GIL)."""
    workspace.extract_archive(data, dest, max_bytes=max_bytes)
    root = workspace.unwrap_single_dir(dest)
    return str(root), workspace.tree_hash(root)


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
            payload=payload or {}, dedupe=opts.dedupe,
        )

    async def submit_archive(self, data: bytes, opts: SubmitOptions) -> SubmitResult:
        job_id = ids.new_id("build")
        ws = workspace.Workspace.for_job(self.data_dir, job_id)
        ws.create()
        max_bytes = int(self.config.server.max_upload_mb * 2**20 * 10)
        try:
            root, digest = await asyncio.get_running_loop().run_in_executor(self.executor, unpack, data, ws.source, max_bytes)
        except Exception:
            shutil.rmtree(ws.root, ignore_errors=True)
            raise
        return await self._finish(job_id, ws, Path(root), opts, digest)

    async def submit_path(self, path: Path, opts: SubmitOptions) -> SubmitResult:
        if not path.is_dir():
            raise errors.InvalidSource(f"source path {str(path)!r} is not a folder on the daemon's machine")
        job_id = ids.new_id("build")
        ws = workspace.Workspace.for_job(self.data_dir, job_id)
        ws.create()
        try:
            await asyncio.to_thread(workspace.copy_tree, path, ws.source)
        except Exception:
            shutil.rmtree(ws.root, ignore_errors=True)
            raise
        return await self._finish(job_id, ws, ws.source, opts)

    async def submit_git(self, url: str, ref: str | None, opts: SubmitOptions) -> SubmitResult:
        """Git sources are fetched by the worker (a failed fetch is a FAILED job, not a 4xx)."""
        job_id = ids.new_id("build")
        ws = workspace.Workspace.for_job(self.data_dir, job_id)
        ws.create()
        trigger = dict(opts.trigger or {"kind": "api"})
        trigger.setdefault("repository", url)
        if ref:
            trigger.setdefault("sha", ref)
        spec = self._spec(job_id, SubmitOptions(**{**opts.__dict__, "trigger": trigger}), source_path=str(ws.source),
                          source_hash=opts.source_hash or (f"git:{url}@{ref}" if ref and len(ref) == 40 else None),
                          payload={"git": {"url": url, "ref": ref}})
        res = await self.store.submit(spec)
        if not res.created:
            shutil.rmtree(ws.root, ignore_errors=True)
        return res

    async def _finish(self, job_id: str, ws: workspace.Workspace, source: Path, opts: SubmitOptions,
                      digest: str | None = None) -> SubmitResult:
        digest = opts.source_hash or digest or await asyncio.to_thread(workspace.tree_hash, source)
        res = await self.store.submit(self._spec(job_id, opts, source_path=str(source), source_hash=digest))
        if not res.created:
            shutil.rmtree(ws.root, ignore_errors=True)
        return res


def request_hash(body: bytes | str | dict[str, Any]) -> str:
    if isinstance(body, dict):
        body = json.dumps(body, sort_keys=True)
    if isinstance(body, str):
        body = body.encode()
    return hashlib.sha256(body).hexdigest()


def redact_url(url: str) -> str:
    """``https://user:token@host/x`` -> ``https://***@host/x``: URLs may carry credentials."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _git_env() -> dict[str, str]:
    """No prompts, no user config; ``GIT_ALLOW_PROTOCOL`` (e.g. ``file`` in tests) is passed through."""
    env = {"GIT_TERMINAL_PROMPT": "0", "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_CONFIG_NOSYSTEM": "1",
           "HOME": os.environ.get("HOME", "/tmp")}
    for key in ("GIT_ALLOW_PROTOCOL", "GIT_SSH_COMMAND", "SSL_CERT_FILE", "http_proxy", "https_proxy", "no_proxy"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


class FetchError(Exception):
    code = "source_fetch_failed"


def fetch_git(url: str, ref: str | None, dest: Path, timeout: float = 300.0) -> tuple[str, str]:
    """Materialise ``ref`` of ``url`` at ``dest`` (created, no .git kept); returns (commit, tree).

    The tree id is what folds a commit's hook job and its push into one job.
    """
    tmp = dest.parent / (dest.name + ".git-tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    env = _git_env()

    def git(*args: str) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run(["git", *args], cwd=tmp if args[0] != "init" else None, capture_output=True,
                              timeout=timeout, env=env)
        if proc.returncode != 0:
            msg = (proc.stderr or proc.stdout).decode("utf-8", "replace").strip()[-2000:]
            raise FetchError(f"git {args[0]} failed: {msg}")
        return proc

    try:
        git("init", "-q", str(tmp))
        git("fetch", "-q", "--depth", "1", url, ref or "HEAD")
        sha, tree = git("rev-parse", "FETCH_HEAD", "FETCH_HEAD^{tree}").stdout.decode().split()
        archive = git("archive", "--format=tar", "FETCH_HEAD").stdout
        dest.mkdir(parents=True, exist_ok=True)
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True, timeout=timeout)
        return sha, tree
    except subprocess.TimeoutExpired as exc:
        raise FetchError(f"git timed out after {timeout:g} s") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
