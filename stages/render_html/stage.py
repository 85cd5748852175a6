"""``render_html``: markdown sources to a themed static site under ``ctx.out``, incrementally.

Output (the site root): ``out/<lang>/...`` pages, ``out/<lang>/search_index.json`` and
``sitemap.xml``, ``out/<lang>/.pressroom/lastmod.json`` (pages' last commit times, when the
source is a git work tree with history), shared ``out/assets/``, and ``index.html``, ``404.html``, ``robots.txt``,
``sitemap.xml`` at the root. See docs/render.md.
"""

from __future__ import annotations

import asyncio
import fcntl
import importlib.metadata
import os
import threading
from pathlib import Path
from typing import Any

from stages.base import Finding, StageContext, StageError, StageResult
from stages.markdown import engine
from stages.render_html import bodies, builder, site_files, theme, translated
from stages.render_html.cache import Store, remove_stale
from stages.render_html.options import Options
from stages.site import changes, gitdates
from stages.site.layout import add_generated, discover


def generator_version() -> str:
    try:
        version = importlib.metadata.version("pressroom")
    except importlib.metadata.PackageNotFoundError:
        version = "0.0"
    return ".".join(version.split(".")[:2])


_IN_PROCESS: dict[str, threading.Lock] = {}


async def _lock(path: Path) -> tuple[threading.Lock, int]:
    """One build of one cache of a site at a time (:func:`_lock_caches` names which).

    A POSIX record lock (``lockf``) serializes daemons; it is owned by this process only, so pool
    workers forked while it is held do not keep it alive (an inherited ``flock`` would). Builds
    inside one process are serialized by a thread lock. Both are polled so a cancelled job never
    leaves a lock behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    local = _IN_PROCESS.setdefault(str(path), threading.Lock())
    while True:  # polled, not awaited in a thread: a cancelled wait must not acquire later
        if local.acquire(blocking=False):
            break
        await asyncio.sleep(0.05)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return local, fd
            except OSError:
                await asyncio.sleep(0.05)
    except BaseException:
        local.release()
        raise


async def _lock_caches(root: Path, languages: list[str]) -> list[tuple[threading.Lock, int]]:
    """The cache of each language this run builds, taken in one order (the root files' cache is
    locked on its own, only while they are written). Each language has its own cache, so a
    fanned-out build and its translate jobs (one language each) render at the same time; two runs
    of one language still wait for each other."""
    held: list[tuple[threading.Lock, int]] = []
    try:
        for name in sorted(set(languages)):
            held.append(await _lock(root / f".lock-{name}"))
    except BaseException:
        for lock in reversed(held):
            _unlock(lock)
        raise
    return held


def _unlock(held: tuple[threading.Lock, int]) -> None:
    local, fd = held
    try:
        os.close(fd)
    finally:
        local.release()


async def run(ctx: StageContext[Options]) -> StageResult:
    # page dates come from `git log`, another process: it runs while this one reads the site
    dates_task = asyncio.ensure_future(asyncio.to_thread(gitdates.for_build, ctx.source, ctx.workspace))
    try:
        return await _run(ctx, dates_task)
    finally:  # not awaited when the stage failed first: its outcome is not needed then
        dates_task.cancel()
        dates_task.add_done_callback(lambda f: f.cancelled() or f.exception())


async def _run(ctx: StageContext[Options], dates_task: asyncio.Future[gitdates.GitDates]) -> StageResult:
    layout = await asyncio.to_thread(discover, ctx.source, ctx.site, ctx.language)
    generated = ctx.previous.get("openapi")
    if generated is not None and generated.outputs.get("generated_dir"):
        add_generated(layout, ctx.workspace / generated.outputs["generated_dir"], generated.outputs.get("nav"))
    source_tree = await asyncio.to_thread(translated.source_tree, layout, ctx)
    applied = await asyncio.to_thread(translated.apply, layout, ctx, source_tree)
    source_pages = translated.source_pages(layout, source_tree)
    default_tree = layout.trees.get(layout.default_language) or next(iter(layout.trees.values()))
    if not default_tree.pages:
        raise StageError(f"no markdown pages found in {layout.rel(default_tree.docs_dir) or '.'}: nothing to build",
                         code="empty_site")
    cache_root = Path(ctx.cache_dir) / "render_html" / ctx.site.name
    env = await asyncio.to_thread(theme.environment, layout.theme_dir, cache_root / "_templates")
    theme_hash = await asyncio.to_thread(theme.fingerprint, layout.theme_dir, cache_root / "_templates" / "theme.json")
    mk = layout.mkdocs
    macro_vars, macro_hash = None, ""
    if mk and mk.macros:  # Jinja's sandbox and the data files: only for the sites that use macros
        from stages.markdown import macros

        macro_vars, macro_hash = await asyncio.to_thread(macros.variables, layout)
    config_hash = theme_hash + macro_hash + (mk.digest if mk else "")
    config_hash += repr((layout.base_url, layout.site_languages)) + (layout.hugo.cache_key() if layout.hugo else "")
    # the parser's code is part of every page's key: an upgrade or a local edit re-renders, not
    # only the bodies (keyed by it below) but the pages kept whole in the cache
    code = engine.code_fingerprint()
    site_run = builder.SiteRun(
        ctx=ctx, layout=layout, env=env, salt=builder.config_salt(ctx, config_hash + code),
        base_url=layout.published_url(ctx.site),
        generator=generator_version(), cache_root=cache_root,
        macro_vars=macro_vars, translation=applied, source_pages=source_pages,
        source_dirs=(source_tree.include_base, source_tree.docs_dir),
        lastmod=(dates := await dates_task).files,
    )
    site_run.body_store = bodies.Bodies(site_run.cache_root / "_bodies", changes.DepHashes(layout.include_root),
                                        builder.RENDER_SALT + code)
    if mk:
        site_run.findings.extend(Finding(file=layout.rel(mk.file), rule="mkdocs-option", severity="warning", message=f"{key}: {msg}")
                                 for key, msg in mk.warnings)
    if layout.hugo:
        site_run.findings.extend(Finding(file=layout.rel(layout.hugo.file), rule="hugo-option", severity="warning",
                                         message=f"{key}: {msg}") for key, msg in layout.hugo.warnings)
    ctx.out.mkdir(parents=True, exist_ok=True)
    held = await _lock_caches(site_run.cache_root, layout.languages)
    try:
        languages: dict[str, Any] = {}
        n = len(layout.languages)
        for i, lang in enumerate(layout.languages):
            ctx.raise_if_cancelled()
            lb = builder.LanguageBuild(site_run, lang, (100 * i / n, 100 * (i + 1) / n - 1))
            languages[lang] = await lb.build(lb.store.load_state())
        root_lock = await _lock(site_run.cache_root / ".lock-_root")
        try:
            await asyncio.to_thread(_publish_root, site_run, env, theme_hash)
        finally:
            _unlock(root_lock)
    finally:
        for lock in reversed(held):
            _unlock(lock)
    ctx.progress(100, "site built")
    # a fallback page is the default language's file: report its findings once, not per language
    unique: dict[tuple[Any, ...], Finding] = {}
    for f in site_run.findings:
        unique.setdefault((f.file, f.line, f.column, f.rule, f.message), f)
    site_run.findings = list(unique.values())
    counts = {k: site_run.counts.get(k, 0) for k in ("pages", "rendered", "reused_bodies", "assembled", "skipped", "assets")}
    counts["reused"] = max(0, counts["pages"] - counts["rendered"])  # pages taken from the cache
    counts["findings"] = len(site_run.findings)
    counts["errors"] = sum(1 for f in site_run.findings if f.severity == "error")
    return StageResult(
        status="passed",
        counts=counts,
        findings=site_run.findings,
        artifacts={"site": ctx.out.name},
        outputs={"site_dir": ctx.out.name, "languages": languages, "base_url": site_run.base_url,
                 # where pages' last-change dates came from, for the build's record
                 "lastmod": "git" if dates.files else (dates.note or "none")},
    )


def _publish_root(run: builder.SiteRun, env: Any, theme_hash: str) -> None:
    """Theme assets and the root files, tracked in their own cache entry."""
    out = run.ctx.out
    store = Store(run.cache_root / "_root")
    state = store.load_state()
    files: dict[str, str] = {}
    old_sigs: dict[str, Any] = state.get("sigs", {})
    sigs: dict[str, Any] = {}
    for rel, path in theme.theme_assets(run.layout.theme_dir).items():
        if run.mermaid or not rel.startswith(theme.MERMAID_ASSETS):
            # an asset whose stats did not change keeps its hash: mermaid alone is 3 MB to read
            sig, prev = theme.stat_sig(path), old_sigs.get(rel)
            known = prev[1] if prev and prev[0] == sig and store.object_path(prev[1]).exists() else None
            files[rel] = store.publish(out, rel, digest=known, source=path)
            sigs[rel] = [sig, files[rel]]
    for rel, data in site_files.root_files(env, run.ctx.site, run.title, run.base_url, run.generator,
                                           languages=run.layout.site_languages or None).items():
        files[rel] = store.publish(out, rel, data)
    if state.get("out_dir") == str(out):
        remove_stale(out, state.get("files", {}), files)
    store.collect_garbage()
    store.save_state({"out_dir": str(out), "files": files, "theme": theme_hash, "sigs": sigs})
