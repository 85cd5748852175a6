"""Where one language stands: every source page in the nav, translated, stale or missing.

A translation is found where sites keep them (the language's folder, a ``page.<lang>.md``
file, a PO catalog) and judged against its source: the ``source_hash`` its front matter
records (``pressroom translate mark``), the catalog's messages, or, with neither, the git
history (a source committed after its translation). A translation with no record at all counts
as translated: nothing says it is behind, and calling every unmarked page stale would make a
site that never heard of pressroom look untranslated.

Only file-system work and hashing: cheap enough for ``pressroom translate status`` on a laptop
and for the orchestrator; the stage runs it in a thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from stages.base import Finding
from stages.site.gitdates import GitDates
from stages.site.layout import SiteLayout, discover, site_languages
from stages.site.nav import build_nav
from stages.site.options import SiteOptions
from stages.site.siteconfig import ConfigReads
from stages.translate import po
from stages.translate.hashes import source_hash
from stages.translate.meta import get_key
from stages.translate.states import STATES as STATES
from stages.translate.states import State

Origin = Literal["folder", "suffix", "po", "machine", "none"]
_RANK = {"translated": 2, "stale": 1, "missing": 0}


@dataclass
class PageInfo:
    """One source page's translation in one language."""

    src: str
    state: State
    origin: Origin
    path: str
    """The file the language renders: the translation (relative to the source), or the
    source page itself when it is missing; the stage rewrites it for pages it materializes."""
    source_file: Path
    file: Path | None = None
    """The translation file or catalog, when there is one."""
    reason: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"state": self.state, "origin": self.origin, "path": self.path}


@dataclass
class Inventory:
    language: str
    source_language: str
    pages: dict[str, PageInfo] = field(default_factory=dict)
    """Source pages in nav order."""
    findings: list[Finding] = field(default_factory=list)
    """Problems met on the way (a catalog that cannot be read); :meth:`state_findings` has the rest."""

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {"source_pages": len(self.pages)}
        out.update((s, 0) for s in STATES)
        for page in self.pages.values():
            out[page.state] += 1
        return out

    @property
    def completion(self) -> float:
        """Translated and up to date, in percent of the source pages (machine pages do not count)."""
        total = len(self.pages)
        done = sum(1 for p in self.pages.values() if p.state == "translated")
        return round(done * 100.0 / total, 1) if total else 100.0

    def state_findings(self) -> list[Finding]:
        """A warning per stale page, an info per missing or machine-translated page."""
        out: list[Finding] = []
        for src, page in self.pages.items():
            if page.state == "stale":
                out.append(Finding(file=page.path, rule="translation-stale", severity="warning",
                                   message=f"{src}: {page.reason}", language=self.language))
            elif page.state == "missing":
                out.append(Finding(file=page.path, rule="translation-missing", severity="info",
                                   message=f"{src} has no {self.language} translation", language=self.language))
            elif page.state == "machine":
                out.append(Finding(file=page.path, rule="translation-machine", severity="info",
                                   message=f"{src} was machine-translated; it waits for a review", language=self.language))
        return out

    def summary(self) -> dict[str, Any]:
        return {"language": self.language, "source_language": self.source_language, **self.counts(),
                "completion": self.completion}


def nav_pages(layout: SiteLayout) -> list[str]:
    """The source language's pages in its nav, in nav order; without a nav, every page."""
    tree = layout.trees[layout.default_language]
    if layout.nav_config is None:
        return sorted(tree.pages)
    order = build_nav(layout.nav_config, {src: (None, 0.0) for src in tree.pages}).order
    return [src for src in order if src in tree.pages]


def read_page(path: Path) -> str:
    """A page's text as hashed and cut into messages everywhere (no byte order mark)."""
    return path.read_text(encoding="utf-8", errors="replace").lstrip("\ufeff")


def _suffix(src: str, path: Path, lang: str) -> bool:
    stem = src.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return path.name in (f"{stem}.{lang}.md", f"{stem}.{lang}.markdown")  # no pattern compiled per page


class _Judge:
    def __init__(self, layout: SiteLayout, lang: str, git: GitDates | None) -> None:
        self.layout = layout
        self.lang = lang
        self.git = git if git is not None and git.files else None
        self.texts: dict[Path, str] = {}

    def text(self, path: Path) -> str:
        if path not in self.texts:
            self.texts[path] = read_page(path)
        return self.texts[path]

    def file(self, src: str, source_file: Path, translation: Path) -> PageInfo:
        """A translation in the language's folder or a suffix file, judged by its record."""
        origin: Origin = "suffix" if _suffix(src, translation, self.lang) else "folder"
        rel = self.layout.rel(translation)
        recorded = get_key(self.text(translation), "source_hash")
        if recorded is not None and str(recorded).strip():
            now = source_hash(self.text(source_file))
            if str(recorded).strip() != now:
                return PageInfo(src, "stale", origin, rel, source_file, translation,
                                f"its source changed since the translation (source_hash {recorded}, now {now})")
            return PageInfo(src, "translated", origin, rel, source_file, translation)
        if self.git is not None:
            t_src = self.git.files.get(self.layout.rel(source_file))
            t_tr = self.git.files.get(rel)
            if t_src is not None and t_tr is not None and t_src > t_tr:
                return PageInfo(src, "stale", origin, rel, source_file, translation,
                                "its source was committed after the translation")
        return PageInfo(src, "translated", origin, rel, source_file, translation)

    def catalog(self, src: str, source_file: Path, path: Path, findings: list[Finding]) -> PageInfo | None:
        try:
            cat = po.load(path)
        except po.PoError as exc:
            findings.append(Finding(file=self.layout.rel(path), rule="po-invalid", severity="warning",
                                    message=f"cannot read the catalog: {exc}", language=self.lang))
            return None
        state, done, total = po.judge(cat, self.text(source_file))
        reason = "" if state == "translated" else f"{done} of {total} messages translated and current"
        return PageInfo(src, state, "po", self.layout.rel(path), source_file, path, reason)


def take(source: Path, site: SiteOptions, lang: str, *, po_dir: str = "locales",
         git: GitDates | None = None, reads: ConfigReads | None = None) -> Inventory:
    """The state of every source page in ``lang`` (see the module doc for the rules).

    The source language and ``lang`` come from one :func:`discover` call, and the site's config
    is parsed once for it and :func:`site_languages`; a caller taking several languages passes
    one ``reads`` to all of them, so the config is parsed once in all.
    """
    reads = reads if reads is not None else ConfigReads()
    default, _every = site_languages(source, site, reads=reads)
    base = discover(source, site, [default, lang], reads=reads)
    if base.default_language != default:  # the layout knows better (a Hugo config's default)
        default = base.default_language
        base = discover(source, site, [default, lang], reads=reads)
    inv = Inventory(language=lang, source_language=default)
    pages = nav_pages(base)
    own = base.trees.get(lang) if lang != default else None
    judge = _Judge(base, lang, git)
    po_root = base.source
    for src in pages:
        source_file = base.trees[default].pages[src].path
        if lang == default:
            inv.pages[src] = PageInfo(src, "translated", "folder", base.rel(source_file), source_file, source_file)
            continue
        found: list[PageInfo] = []
        mine = own.pages.get(src) if own is not None else None
        if mine is not None and not mine.fallback and mine.path.resolve() != source_file.resolve():
            found.append(judge.file(src, source_file, mine.path))
        catalog = po.catalog_path(po_root, po_dir, lang, src)
        if catalog.is_file() and (info := judge.catalog(src, source_file, catalog, inv.findings)) is not None:
            found.append(info)
        if found:
            page = max(found, key=lambda p: _RANK[p.state])  # ties: the first, a file beats a catalog
        else:
            page = PageInfo(src, "missing", "none", base.rel(source_file), source_file)
        inv.pages[src] = page
    return inv
