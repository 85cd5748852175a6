"""Fixtures for the lint and render_html stage tests: write a source tree, run a stage on it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from stages.base import StageResult
from stages.context import local_context
from tests.conftest import make_tree

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "content-samples"


SITES = REPO / "tests" / "sites"
"""Small sites shaped like real MkDocs and Hugo trees, built by the tests as users build theirs."""


def pressroom_build(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``pressroom build ARGS`` as a user types it: a fresh process, its data dir in ``cwd``."""
    cfg = cwd / "pressroom-test.toml"
    if not cfg.exists():
        cfg.write_text(f'data_dir = "{cwd / ".pressroom"}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSROOM_")}
    return subprocess.run([sys.executable, "-m", "pipeline", "--config", str(cfg), "build", *args],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


@contextlib.asynccontextmanager
async def static_server(out: Path, seen: list[str] | None = None) -> AsyncIterator[str]:
    """A static server on 127.0.0.1 answering a folder URL with its index.html, as web servers do;
    yields its base URL. ``seen`` collects the paths asked for."""
    out = out.resolve()

    async def serve(request: web.Request) -> web.StreamResponse:
        if seen is not None:
            seen.append(request.path)
        path = (out / request.match_info["path"]).resolve()
        if path.is_dir():
            path = path / "index.html"
        if not path.is_relative_to(out) or not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    app = web.Application()
    app.router.add_get("/{path:.*}", serve)
    app_runner = web.AppRunner(app)
    await app_runner.setup()
    await web.TCPSite(app_runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{app_runner.addresses[0][1]}"
    finally:
        await app_runner.cleanup()


write = make_tree


class SiteRunner:
    """Runs lint/render_html the way the CLI does, sharing one cache across calls (incremental)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.cache = tmp / "cache"
        self.executor: Any = None

    async def render(self, source: Path, out: Path | None = None, *, site: dict[str, Any] | None = None,
                     language: str | None = None, cache: Path | None = None, **options: Any) -> StageResult:
        from stages.render_html import stage
        from stages.render_html.options import Options

        ctx = local_context(source, out or self.tmp / "out", cache_dir=cache or self.cache, site=site or {},
                            options=Options(**options), language=language, executor=self.executor)
        return await stage.run(ctx)

    async def lint(self, source: Path, *, site: dict[str, Any] | None = None, **options: Any) -> StageResult:
        from stages.lint import stage
        from stages.lint.options import Options

        ctx = local_context(source, self.tmp / "out", cache_dir=self.cache, site=site or {},
                            options=Options(**options), executor=self.executor)
        return await stage.run(ctx)


@pytest.fixture
def runner(tmp_path: Path) -> SiteRunner:
    return SiteRunner(tmp_path)


def snapshot(out: Path) -> dict[str, bytes]:
    """Every file under ``out`` with its bytes (for byte-identical comparisons)."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


# Test modules take these as fixtures instead of importing this file: several conftest.py files
# share the module name ``conftest``, so ``from conftest import ...`` depends on collection order.
@pytest.fixture
def write_tree() -> Callable[[Path, dict[str, str | bytes]], Path]:
    return write


@pytest.fixture
def snapshot_of() -> Callable[[Path], dict[str, bytes]]:
    return snapshot
