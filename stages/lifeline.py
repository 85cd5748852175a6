"""Child processes die with the daemon.

A ``kill -9`` of the daemon runs no cleanup: the process-pool workers and the PDF render
children (spawned, waiting on a pipe that they themselves hold open) used to live on, orphaned,
holding memory and sometimes a half-written file. Pass :func:`die_with_parent` as the
pool's ``initializer`` with ``os.getpid()`` as its argument.

On Linux the kernel does it: ``prctl(PR_SET_PDEATHSIG, SIGKILL)``, which also works while the
child is stuck in C code (WeasyPrint). The signal follows the *thread* that started the child,
so pools must start their children from a thread that lives as long as they do: the event
loop's thread or the pool's own manager thread, as ``ProcessPoolExecutor`` does. Elsewhere a
daemon thread in the child polls ``getppid()``.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
POLL_SECONDS = 0.5


def die_with_parent(parent_pid: int) -> None:
    """Make this (child) process exit as soon as ``parent_pid`` is gone."""
    if not (sys.platform.startswith("linux") and _prctl_pdeathsig()):
        threading.Thread(target=_watch, args=(parent_pid,), name="lifeline", daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)


def _prctl_pdeathsig() -> bool:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    return False


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(POLL_SECONDS)
    os._exit(1)
