"""Run a child program with a deadline, capture its output, and kill its whole process group."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

OUTPUT_LIMIT = 64_000
"""Bytes of output kept (the tail): enough for a log, bounded for a chatty rsync."""


@dataclass(frozen=True)
class Completed:
    argv: list[str]
    returncode: int
    output: str
    timed_out: bool = False


async def run(
    argv: list[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None,
    seconds: float,
) -> Completed:
    """stdout and stderr together, in order; a timeout kills the group and says so."""
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=cwd, env={**os.environ, **(env or {})}, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
    )
    chunks: list[bytes] = []
    size = 0

    async def drain() -> None:
        nonlocal size
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(65536):
            chunks.append(chunk)
            size += len(chunk)
            while size > OUTPUT_LIMIT and len(chunks) > 1:
                size -= len(chunks.pop(0))

    timed_out = False
    try:
        await asyncio.wait_for(asyncio.gather(drain(), proc.wait()), seconds)
    except TimeoutError:
        timed_out = True
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
    text = b"".join(chunks)[-OUTPUT_LIMIT:].decode("utf-8", errors="replace")
    return Completed(list(argv), proc.returncode if proc.returncode is not None else -9, text, timed_out)
