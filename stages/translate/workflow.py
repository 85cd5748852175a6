"""What ``pressroom translate extract`` and ``mark`` do to a source tree, apart from printing.

Both write into the writer's own tree (never a job's snapshot): catalogs under ``<po_dir>/`` and
one front matter line in translated pages. Kept here, beside the stage, so the command line is
only options and output, and the tests drive the same code the command runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from stages.site.layout import discover, site_languages
from stages.site.options import SiteOptions
from stages.site.siteconfig import ConfigReads
from stages.translate import inventory, po
from stages.translate.hashes import source_hash
from stages.translate.meta import get_key, set_key


@dataclass
class ExtractReport:
    language: str
    written: list[str] = field(default_factory=list)
    """Catalogs created or changed, relative to the source."""
    unchanged: int = 0
    skipped: int = 0
    """Pages left alone because a folder or suffix file already translates them."""
    messages: int = 0
    fuzzy: int = 0
    obsolete: int = 0
    errors: list[str] = field(default_factory=list)


def other_languages(root: Path, site: SiteOptions, langs: tuple[str, ...] | list[str] = (), *,
                    reads: ConfigReads | None = None) -> tuple[str, list[str]]:
    """The source language and the languages to work on: ``langs`` when given, else every other one."""
    default, every = site_languages(root, site, reads=reads)
    return default, [lang for lang in (langs or every) if lang != default]


def extract(root: Path, site: SiteOptions, lang: str, *, po_dir: str = "locales",
            all_pages: bool = False, reads: ConfigReads | None = None) -> ExtractReport:
    """Write or update ``lang``'s catalog of every source page in the nav.

    Pages a folder or ``page.<lang>.md`` file already translates get no catalog unless
    ``all_pages``: one page, one place to translate it. ``reads``: the command's config parses,
    shared by every language it extracts.
    """
    inv = inventory.take(root, site, lang, po_dir=po_dir, reads=reads)
    report = ExtractReport(language=lang)
    for src, page in inv.pages.items():
        if page.origin in ("folder", "suffix") and not all_pages:
            report.skipped += 1
            continue
        path = po.catalog_path(root.resolve(), po_dir, lang, src)
        rel = path.relative_to(root.resolve()).as_posix()
        existing = None
        if path.is_file():
            try:
                existing = po.load(path)
            except po.PoError as exc:
                report.errors.append(f"{rel}: {exc}")
                continue
        cat, stats = po.extract(inventory.read_page(page.source_file), src, lang, existing)
        report.messages += stats.messages
        report.fuzzy += stats.fuzzy
        report.obsolete += stats.obsolete
        text = str(cat)
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            report.unchanged += 1
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        report.written.append(rel)
    return report


@dataclass
class MarkReport:
    marked: list[tuple[str, str, str]] = field(default_factory=list)
    """``(page, translation file relative to the source, hash)`` for each file written."""
    current: int = 0
    """Files that already recorded the current hash."""
    unknown: list[str] = field(default_factory=list)
    """Arguments that name no translation of the language."""


def mark(root: Path, site: SiteOptions, lang: str, pages: list[str], *, unmarked: bool = False) -> MarkReport:
    """Record the current ``source_hash`` in ``lang``'s translations of ``pages``.

    A page is named by its path in the docs folder (``guide/intro.md``) or by the translation's
    file (``docs/de/docs/guide/intro.md``, relative to the current folder or to the source).
    ``unmarked`` adds every translation that records no hash yet: adopting an existing set of
    translations once, as they are.
    """
    reads = ConfigReads()
    default, _every = site_languages(root, site, reads=reads)
    base = discover(root, site, [default, lang], reads=reads)
    own = base.trees[lang]
    files: dict[str, tuple[Path, Path]] = {}
    for src, page in own.pages.items():
        source_page = base.trees[base.default_language].pages.get(src)
        if page.fallback or source_page is None or page.path.resolve() == source_page.path.resolve():
            continue
        files[src] = (source_page.path, page.path)
    by_file = {tr.resolve(): src for src, (_s, tr) in files.items()}
    report = MarkReport()
    chosen: list[str] = []
    for name in pages:
        found: str | None = name if name in files else (by_file.get(Path(name).resolve())
                                                        or by_file.get((root / name).resolve()))
        if found is None:
            report.unknown.append(name)
        else:
            chosen.append(found)
    if unmarked:
        chosen += [src for src, (_s, tr) in files.items()
                   if not get_key(inventory.read_page(tr), "source_hash")]
    for src in dict.fromkeys(chosen):
        source_file, translation = files[src]
        digest = source_hash(inventory.read_page(source_file))
        text = translation.read_text(encoding="utf-8")
        new = set_key(text, "source_hash", digest)
        if new == text:
            report.current += 1
            continue
        translation.write_text(new, encoding="utf-8")
        report.marked.append((src, base.rel(translation), digest))
    return report
