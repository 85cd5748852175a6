"""Build a :class:`StageContext` by hand: for ``pressroom build PATH --out DIR``, tests and benches.

The orchestrator builds its contexts itself; this is the same shape for runs outside a job, so
the CLI and the tests exercise exactly what a worker runs.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import multiprocessing
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from stages.base import OptionsT, StageContext, StageResult
from stages.site.options import SiteOptions


def local_context(
    source: Path | str,
    out: Path | str,
    *,
    workspace: Path | str | None = None,
    cache_dir: Path | str | None = None,
    site: SiteOptions | Mapping[str, Any] | None = None,
    options: OptionsT,
    language: str | None = None,
    executor: concurrent.futures.Executor | None = None,
    previous: Mapping[str, StageResult] | None = None,
    progress: Callable[[float, str | None], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    job_id: str = "local",
) -> StageContext[OptionsT]:
    """A context for one stage run with ``options``, that stage's options (``Options()`` for the
    defaults). ``workspace`` defaults to ``out``'s parent and the cache to ``<workspace>/.cache``
    (pass the same ``cache_dir`` across runs for incremental builds)."""
    out_path = Path(out).resolve()
    ws = Path(workspace).resolve() if workspace else out_path.parent
    site_opts = site if isinstance(site, SiteOptions) else SiteOptions(**dict(site or {}))
    kwargs: dict[str, Any] = {}
    if progress is not None:
        kwargs["progress"] = progress
    if should_cancel is not None:
        kwargs["should_cancel"] = should_cancel
    return StageContext(
        job_id=job_id,
        workspace=ws,
        source=Path(source).resolve(),
        out=out_path,
        cache_dir=Path(cache_dir).resolve() if cache_dir else ws / ".cache",
        sites_dir=ws / "sites",
        site=site_opts,
        options=options,
        language=language,
        previous=dict(previous or {}),
        executor=executor,
        logger=logging.getLogger(f"stages.{job_id}"),
        **kwargs,
    )


@contextlib.contextmanager
def process_pool(workers: int | None = None) -> Iterator[concurrent.futures.ProcessPoolExecutor]:
    """A process pool like the daemon's (fork start on Linux: workers inherit imports)."""
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    mp = multiprocessing.get_context(method)
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=mp) as pool:
        yield pool
