"""Start the real daemon (``python -m pipeline serve``) as a subprocess, as a user would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.testing import DaemonProcess


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Callable[..., DaemonProcess]]:
    made: list[DaemonProcess] = []

    def make(**kw: Any) -> DaemonProcess:
        d = DaemonProcess(tmp_path, **kw)
        made.append(d)
        return d

    yield make
    for d in made:
        d.stop()
