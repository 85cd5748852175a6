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
from pipeline import errors, gittree, redact, workspace
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
    """Use this content id instead of hashing the snapshot (only ids the daemon computed or a signed
    push named: the worker checks a push's tree after its fetch)."""
    claimed_tree: str | None = None
    """A git tree ID the client says the archive holds (the post-commit hook's): the daemon computes
    the archive's own and refuses a mismatch, then dedupes on ``gittree:<id>``."""


def unpack(data: bytes, dest: Path, max_bytes: int, git_algo: str | None = None) -> tuple[str, str, str | None]:
    """Extract, find the site root and hash it in one trip to a worker process (off the GIL).

    With ``git_algo``, also the git tree ID of the whole archive (before a single top folder is
    unwrapped: ``git archive`` of a commit holds exactly the commit's tree).
    """
    workspace.extract_archive(data, dest, max_bytes=max_bytes)
    tree = gittree.tree_id(dest, algo=git_algo) if git_algo else None
    root = workspace.unwrap_single_dir(dest)
    return str(root), workspace.tree_hash(root), tree


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
        ws = workspace.Workspace.for_job(self.data_dir, job_id)
        ws.create()
        try:
            await asyncio.to_thread(workspace.copy_tree, path, ws.source)
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
        ws = workspace.Workspace.for_job(self.data_dir, job_id)
        ws.create()
        shown = redact.redact_url(url) or ""
        trigger = dict(opts.trigger or {"kind": "api"})
        for key in ("repository", "url"):
            if isinstance(trigger.get(key), str):
                trigger[key] = redact.redact_url(trigger[key])
        trigger.setdefault("repository", shown)
        if ref:
            trigger.setdefault("sha", ref)
        secret = keep_git_url(ws.root, url)
        spec = self._spec(job_id, SubmitOptions(**{**opts.__dict__, "trigger": trigger}), source_path=str(ws.source),
                          source_hash=opts.source_hash or (_git_content_id(shown, ref) if ref and len(ref) == 40 else None),
                          payload={"git": {"url": shown, "ref": ref, "credentials": secret}})
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


def _git_content_id(url: str, sha: str) -> str:
    """``git:<digest of url@sha>``: fits ``jobs.source_hash`` (64) and the dedupe key however long the URL."""
    return "git:" + hashlib.sha256(f"{url}@{sha}".encode()).hexdigest()[:60]


def request_hash(body: bytes | str | dict[str, Any]) -> str:
    if isinstance(body, dict):
        body = json.dumps(body, sort_keys=True)
    if isinstance(body, str):
        body = body.encode()
    return hashlib.sha256(body).hexdigest()


CREDENTIALS_FILE = "git-url.secret"
"""A git URL with credentials lives only here (0600, in the job's workspace), never in the store."""


def keep_git_url(workspace_root: Path, url: str) -> bool:
    """Store a credential-bearing URL for the worker's fetch; True if there was anything to keep."""
    if not redact.has_credentials(url):
        return False
    path = workspace_root / CREDENTIALS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(url)
    return True


def git_url_for(workspace_root: Path, git: dict[str, Any]) -> str:
    """The URL to fetch: the stored (redacted) one, or the secret one kept in the workspace."""
    if git.get("credentials"):
        try:
            return (workspace_root / CREDENTIALS_FILE).read_text("utf-8")
        except FileNotFoundError:
            raise FetchError("the credentials for this repository URL are gone (the job was pruned or its "
                             "workspace cleaned); submit it again") from None
    return str(git["url"])


def forget_git_url(workspace_root: Path) -> None:
    """The job is over: the credentials are not needed any more."""
    (workspace_root / CREDENTIALS_FILE).unlink(missing_ok=True)


def _git_env() -> dict[str, str]:
    """No prompts, no user config; ``GIT_ALLOW_PROTOCOL`` (e.g. ``file`` in tests) is passed through."""
    env = {"GIT_TERMINAL_PROMPT": "0", "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_CONFIG_NOSYSTEM": "1",
           "HOME": os.environ.get("HOME", "/tmp")}
    for key in ("GIT_ALLOW_PROTOCOL", "GIT_SSH_COMMAND", "GIT_ASKPASS", "GIT_CONFIG_GLOBAL", "SSL_CERT_FILE", "http_proxy", "https_proxy", "no_proxy"):
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
            msg = redact.scrub((proc.stderr or proc.stdout).decode("utf-8", "replace").strip(), url)[-2000:]
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
