"""The translate stage's result applied to the language render_html builds.

The translate stage (``ctx.previous["translate"]``) says, per source page, whether the language
has it ``translated``, ``stale``, ``missing`` or ``machine``-translated, and materializes the pages
it produced (applied PO catalogs, machine translations) in an overlay folder of the job's
workspace. Here the language's discovered pages are adjusted to match: overlay pages replace
what discovery found, stale and missing pages become fallbacks to the source page (a stale
translation is never shown: the reader gets the current original and a notice saying so).
The page flags feed the incremental cache key, so a page changing state is re-rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stages.base import StageContext
from stages.site.layout import MD_SUFFIXES, LanguageTree, PageSource, SiteLayout, discover
from stages.translate.states import STATES


@dataclass
class Applied:
    language: str
    overlay: Path | None
    docs_dir: Path
    states: dict[str, str] = field(default_factory=dict)


def source_tree(layout: SiteLayout, ctx: StageContext[Any]) -> LanguageTree:
    """The source language's pages, scanned again when this run builds only another language."""
    default = layout.default_language
    tree = layout.trees.get(default)
    if tree is not None:
        return tree
    return discover(ctx.source, ctx.site, default).trees[default]


def source_pages(layout: SiteLayout, source: LanguageTree) -> set[str] | None:
    """Every page the source language has (None when this run builds it): a language built in
    another run falls back to those, so they are exactly the pages a switcher may link to."""
    if layout.default_language in layout.trees:
        return None
    pages = set(source.pages)
    for tree in layout.trees.values():  # generated pages are fallbacks in every language
        pages.update(src for src, ps in tree.pages.items() if ps.fallback)
    return pages


def apply(layout: SiteLayout, ctx: StageContext[Any], source: LanguageTree) -> Applied | None:
    """Adjust the translated language's pages to the translate stage's states (in place);
    ``source`` is :func:`source_tree`'s (the stage needs it anyway: it is not scanned twice)."""
    result = ctx.previous.get("translate")
    outs = result.outputs if result is not None else {}
    lang = outs.get("language")
    if not isinstance(lang, str) or lang == layout.default_language or lang not in layout.trees:
        return None
    tree = layout.trees[lang]
    workspace = ctx.workspace.resolve()
    overlay: Path | None = None
    if isinstance(outs.get("overlay_dir"), str) and outs["overlay_dir"]:
        overlay = (workspace / outs["overlay_dir"]).resolve()
        if not overlay.is_relative_to(workspace) or not overlay.is_dir():
            overlay = None
    pages: dict[str, Any] = outs["pages"] if isinstance(outs.get("pages"), dict) else {}
    states = {src: str(info.get("state")) for src, info in pages.items()
              if isinstance(info, dict) and info.get("state") in STATES}
    applied = Applied(language=lang, overlay=overlay, docs_dir=tree.docs_dir, states=states)
    if overlay is not None:
        for path in sorted(overlay.rglob("*")):
            src = path.relative_to(overlay).as_posix()
            if path.is_file() and path.name.endswith(MD_SUFFIXES) and states.get(src) not in ("stale", "missing"):
                tree.pages[src] = PageSource(src, path, machine=states.get(src) == "machine")
    for src, state in states.items():
        current = tree.pages.get(src)
        if state == "translated" or (state == "machine" and current is not None and current.machine):
            continue  # a translated page is what discovery (or the overlay) found
        # stale, missing, or machine without its overlay page: the source page, with a notice
        if current is not None and current.fallback:
            path = current.path
        else:
            if src not in source.pages:
                continue
            path = source.pages[src].path
        tree.pages[src] = PageSource(src, path, fallback=True, stale=state == "stale")
        if state == "machine":
            applied.states[src] = "missing"
    return applied


def state_of(ps: PageSource, lang: str, default: str) -> str:
    """The page's translation state as the reader sees it ("" for a source-language page)."""
    if lang == default:
        return ""
    if ps.machine:
        return "machine"
    if ps.fallback:
        return "stale" if ps.stale else "missing"
    return "translated"


def cache_flags(ps: PageSource) -> bytes:
    """What the page's state adds to its cache key (a page going stale must render anew)."""
    return (b"\0fb" if ps.fallback else b"") + (b"\0stale" if ps.stale else b"") + (b"\0mt" if ps.machine else b"")


def display_path(applied: Applied | None, path: Path) -> Path:
    """An overlay page named as if it were in the language's docs folder: findings then name
    the page, not a job's workspace, and the cache key stays the same from job to job."""
    if applied is not None and applied.overlay is not None and path.is_relative_to(applied.overlay):
        return applied.docs_dir / path.relative_to(applied.overlay)
    return path
