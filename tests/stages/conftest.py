"""Fixtures for the lint and render_html stage tests: write a source tree, run a stage on it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stages.base import StageResult
from stages.context import local_context
from tests.conftest import make_tree

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "content-samples"


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
