"""The translate stage: one language of a build, judged and completed.

It takes the language's inventory (:mod:`stages.translate.inventory`), writes the pages this run
makes into an overlay folder laid out like the docs folder (``<workspace>/translate/<lang>/``:
applied PO catalogs, machine translations), and hands render_html the state of every page. A
failing machine-translation provider or a broken catalog is a finding, never a failed stage: the
language still renders, with its gaps showing the source text.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from stages.base import Finding, StageContext, StageError, StageResult
from stages.site import gitdates
from stages.translate import inventory, po
from stages.translate.meta import set_key
from stages.translate.options import TranslateOptions

OVERLAY = "translate"
"""The overlay's folder in the job's workspace: ``translate/<lang>/``."""


def _materialize_po(inv: inventory.Inventory, overlay: Path, overlay_rel: str) -> list[Finding]:
    """Write each translated PO page into the overlay (a catalog that breaks now is reported)."""
    problems: list[Finding] = []
    for src, page in inv.pages.items():
        if page.origin != "po" or page.state != "translated" or page.file is None:
            continue
        try:
            text = po.apply(po.load(page.file), inventory.read_page(page.source_file))
        except (po.PoError, OSError, UnicodeDecodeError) as exc:
            problems.append(Finding(file=page.path, rule="po-invalid", severity="warning",
                                    message=f"cannot apply the catalog: {exc}", language=inv.language))
            page.state, page.origin = "missing", "none"
            continue
        dest = overlay / src
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
        page.path = f"{overlay_rel}/{src}"
    return problems


async def _machine(ctx: StageContext[TranslateOptions], inv: inventory.Inventory, overlay: Path,
                   overlay_rel: str) -> list[Finding]:
    """Machine-translate the missing and stale pages; what the provider returns becomes a
    ``machine`` page marked ``machine_translated: true``."""
    opts = ctx.options
    todo = {src: p for src, p in inv.pages.items() if p.state in ("missing", "stale")}
    if not todo:
        return []
    try:  # another part of the tree; loaded only when a site asks for machine translation
        from stages.translate import machine
    except ImportError as exc:
        return [Finding(file="", rule="translation-machine-failed", severity="warning", language=inv.language,
                        message=f"machine translation is not available: {exc}")]
    texts = {src: inventory.read_page(p.source_file) for src, p in todo.items()}
    api_key = os.environ.get(opts.api_key_env) if opts.api_key_env else None
    try:
        done = await machine.translate_pages(texts, source=inv.source_language, target=inv.language,
                                             provider=opts.provider, api_key=api_key, timeout=opts.request_timeout)
    except Exception as exc:  # a provider outage leaves the pages as they were; the language still builds
        ctx.logger.warning("machine translation to %s failed: %s", inv.language, exc)
        return [Finding(file="", rule="translation-machine-failed", severity="warning", language=inv.language,
                        message=f"machine translation to {inv.language} failed: {type(exc).__name__}: {exc}"[:500])]
    for src, text in done.items():
        page = todo.get(src)
        if page is None or not text:
            continue
        dest = overlay / src
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(set_key(text, "machine_translated", True), encoding="utf-8")
        page.state, page.origin, page.path = "machine", "machine", f"{overlay_rel}/{src}"
    return []


def _git_dates(source: Path, workspace: Path) -> gitdates.GitDates:
    """The commit dates of the tree this language is built from.

    A translate job reads its build's snapshot (``jobs/<build>/source``), and the dates its
    submission recorded sit beside that snapshot, not in the translate job's own workspace.
    """
    if not (workspace / gitdates.SIDECAR).is_file() and (source.parent / gitdates.SIDECAR).is_file():
        return gitdates.for_build(source, source.parent)
    if source.name == "source" and source.parent.parent.name == "jobs" and source.parent != workspace:
        return gitdates.GitDates(note="another job's snapshot without recorded git dates")
    return gitdates.for_build(source, workspace)


async def run(ctx: StageContext[TranslateOptions]) -> StageResult:
    lang = ctx.language
    if not lang:
        raise StageError("the translate stage builds one language; the job names none", code="config_invalid")
    opts = ctx.options if isinstance(ctx.options, TranslateOptions) else TranslateOptions()
    ctx.progress(0, f"translate {lang}: reading translations")
    git = await asyncio.to_thread(_git_dates, ctx.source, ctx.workspace)
    inv = await asyncio.to_thread(inventory.take, ctx.source, ctx.site, lang, po_dir=opts.po_dir, git=git)
    ctx.raise_if_cancelled()
    overlay_rel = f"{OVERLAY}/{lang}"
    overlay = ctx.workspace / OVERLAY / lang
    shutil.rmtree(overlay, ignore_errors=True)
    overlay.mkdir(parents=True, exist_ok=True)
    ctx.progress(30, f"translate {lang}: applying catalogs")
    findings = list(inv.findings)
    findings += await asyncio.to_thread(_materialize_po, inv, overlay, overlay_rel)
    ctx.raise_if_cancelled()
    if opts.machine and opts.provider.strip().lower() not in ("", "none") and lang != inv.source_language:
        ctx.progress(50, f"translate {lang}: machine translation")
        findings += await _machine(ctx, inv, overlay, overlay_rel)
    findings += inv.state_findings()
    counts = inv.counts()
    ctx.progress(100, f"translate {lang}: {inv.completion}% complete")
    outputs = {
        **inv.summary(),
        "overlay_dir": overlay_rel,
        "pages": {src: page.to_dict() for src, page in inv.pages.items()},
    }
    return StageResult(status="passed", counts=counts, findings=findings, outputs=outputs)
