"""A process pool the PDF stage owns, so a hung WeasyPrint can be killed.

A shared pool (``ctx.executor``) cannot be used: cancelling a future does not stop a call that
already runs, and one pathological page would hold a worker of the whole daemon forever. This
pool belongs to one stage run and its processes are killed on timeout, cancel or crash.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import multiprocessing
import os
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from stages import lifeline

T = TypeVar("T")


class ChildPool:
    """``run()`` awaits a call in a child process; ``kill()`` ends every child at once."""

    def __init__(self, workers: int) -> None:
        # spawn, not fork: the daemon has threads (event loop helpers, SQLite), and a forked
        # child could inherit a held lock.
        # die_with_parent: a kill -9 of the daemon must not leave a WeasyPrint child running.
        self._executor = concurrent.futures.ProcessPoolExecutor(
            max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn"),
            initializer=lifeline.die_with_parent, initargs=(os.getpid(),),
        )

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def kill(self) -> None:
        processes = dict(getattr(self._executor, "_processes", None) or {})
        for process in processes.values():
            with contextlib.suppress(Exception):
                process.kill()
        self._executor.shutdown(wait=False, cancel_futures=True)
        for process in processes.values():
            with contextlib.suppress(Exception):
                process.join(timeout=5)

    def close(self) -> None:
        """Idle children exit on their own; waiting for their interpreters to tear down
        WeasyPrint and the merged book (~0.1-0.3 s) would only delay the build."""
        self._executor.shutdown(wait=False)


@contextlib.asynccontextmanager
async def child_pool(workers: int) -> AsyncIterator[ChildPool]:
    """A pool that is shut down normally on success and killed on any error or cancellation."""
    pool = ChildPool(workers)
    try:
        yield pool
    except BaseException:
        pool.kill()
        raise
    else:
        await asyncio.get_running_loop().run_in_executor(None, pool.close)
