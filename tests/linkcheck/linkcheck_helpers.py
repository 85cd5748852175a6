"""Helpers for the link checker tests: the fault-site fixtures (re-exported by conftest.py),
running both checkers as subprocesses, and reading LinkChecker-format CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import linkcheck_faultsite as faultsite
import pytest
from aiohttp import web

from stages.linkcheck import urls

REPO = Path(__file__).resolve().parents[2]
LINKCHECKER = Path(sys.executable).parent / "linkchecker"
CSV_COLUMNS = ("urlname", "parentname", "base", "result", "warningstring", "infostring", "valid",
               "url", "line", "column", "name", "dltime", "size", "checktime", "cached", "level",
               "modified")


@dataclass
class FaultSite:
    origin: str
    external: str
    app: web.Application

    def url(self, path: str = "/") -> str:
        return self.origin + path


@pytest.fixture
async def fault_site() -> AsyncIterator[FaultSite]:
    ext_runner, external = await faultsite.serve(faultsite.external_app())
    app = faultsite.create_app(external)
    runner, origin = await faultsite.serve(app)
    try:
        yield FaultSite(origin=origin, external=external, app=app)
    finally:
        app[faultsite.RELEASE].set()
        await runner.cleanup()
        await ext_runner.cleanup()


@pytest.fixture
def public_dir() -> Iterator[Path]:
    """A folder LinkChecker can read after it drops root for ``nobody`` (pytest's tmp_path is
    private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="pressroom-lc-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def linkchecker_config(folder: Path, *, timeout: int) -> Path:
    """LinkChecker tuned as the issue measured it: no artificial rate limit, anchors checked."""
    path = folder / "linkcheckerrc"
    path.write_text(f"[checking]\nmaxrequestspersecond=1000\ntimeout={timeout}\nthreads=20\n\n[AnchorCheck]\n")
    path.chmod(0o644)
    return path


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


async def run_command(*args: str, limit: float = 90) -> Run:
    """Run a checker as a subprocess while this loop keeps serving the test site."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE, cwd=REPO, env=env)
    out, err = await asyncio.wait_for(proc.communicate(), limit)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


async def run_linkchecker(config: Path, *args: str) -> Run:
    return await run_command(str(LINKCHECKER), "-f", str(config), *args)


async def run_ours(*args: str) -> Run:
    return await run_command(sys.executable, "-m", "stages.linkcheck", *args)


def parse_csv(text: str) -> list[dict[str, str | None]]:
    """Rows of a LinkChecker-format CSV, with ``line``/``column`` set to None where LinkChecker
    leaves the fields out."""
    body = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert tuple(rows[0]) == CSV_COLUMNS
    parsed = []
    for row in rows[1:]:
        values: list[str | None] = list(row)
        if len(values) == len(CSV_COLUMNS) - 2:
            values[8:8] = [None, None]
        assert len(values) == len(CSV_COLUMNS), row
        parsed.append(dict(zip(CSV_COLUMNS, values, strict=True)))
    return parsed


def requested_url(row: dict[str, str | None]) -> str:
    """The absolute URL a row was linked as (before redirects), the same for both tools."""
    parent = row["parentname"] or ""
    base = row["base"] or ""
    name = row["urlname"] or ""
    absolute = urls.join(urls.join(parent, base) if base else parent, name) if parent else name
    _, fragment = urls.split_fragment(absolute)
    return urls.normalize(absolute) + ("#" + fragment if fragment else "")


def by_url(rows: list[dict[str, str | None]]) -> dict[str, dict[str, str | None]]:
    result: dict[str, dict[str, str | None]] = {}
    for row in rows:
        result.setdefault(requested_url(row), row)
    return result
