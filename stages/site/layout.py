"""Where a site's pages live: per-language folders, an MkDocs layout, or one plain folder.

Everything here is cheap file-system work (no markdown parsing), so both stages can call
:func:`discover` up front and agree on the page set, the fallbacks and the nav source.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from stages.base import StageError
from stages.site import hugo, mkdocs
from stages.site.langcodes import is_language_code
from stages.site.mdext import PLAIN
from stages.site.options import SiteOptions
from stages.site.siteconfig import ConfigReads
from stages.site.siteconfig import load_mkdocs_yml as load_mkdocs_yml

MD_SUFFIXES = (".md", ".markdown")


@dataclass(frozen=True)
class PageSource:
    src: str
    """Path relative to the language's docs dir, with ``/`` separators (the page's identity)."""
    path: Path
    """The file actually read (the default language's file for a fallback)."""
    fallback: bool = False
    stale: bool = False
    """A translation exists but its source changed since (rendered as a fallback, with its own notice)."""
    machine: bool = False
    """Machine-translated this run (rendered from the translate stage's overlay, with a notice)."""


@dataclass
class LanguageTree:
    lang: str
    docs_dir: Path
    include_base: Path
    """Where ``{* ../../x *}`` include paths start (the mkdocs.yml folder, else the docs dir)."""
    pages: dict[str, PageSource] = field(default_factory=dict)
    assets: dict[str, Path] = field(default_factory=dict)


@dataclass
class SiteLayout:
    source: Path
    kind: Literal["languages", "mkdocs", "single", "hugo"]
    default_language: str
    languages: list[str]
    trees: dict[str, LanguageTree]
    nav_config: list[Any] | None
    nav_origin: Literal["config", "mkdocs", "folders"]
    mkdocs_file: Path | None = None
    theme_dir: Path | None = None
    site_name: str | None = None
    """mkdocs.yml ``site_name``: the site title when ``[site] title`` is not set."""
    generated: Path | None = None
    """Folder of pages a stage generated (:func:`add_generated`), laid out like the docs folder."""
    mkdocs: mkdocs.MkDocsSite | None = None
    """The rest of mkdocs.yml that shapes the site (site_url, extra_css, macros, ...)."""
    include_root_dir: Path | None = None
    site_languages: list[str] = field(default_factory=list)
    """Every language the site has (the language switcher's list), whichever this run builds;
    empty means ``[site] default_language`` and ``languages``."""
    base_url: str | None = None
    """Hugo ``baseURL``: where the site says it lives (canonical links, sitemaps)."""
    base_path: str | None = None
    """The path root-absolute links start with (Hugo ``baseURL``'s path); None: ``[site] base_url``'s."""
    hugo: hugo.HugoConfig | None = None
    """A Hugo site's config: its params, titles, URL case and heading ids (the properties below)."""

    @property
    def params(self) -> dict[str, dict[str, Any]]:
        """Hugo site params per language (:attr:`stages.site.hugo.HugoConfig.params`), for ``param``."""
        return self.hugo.params if self.hugo else {}

    @property
    def titles(self) -> dict[str, str]:
        """A language's own site title (Hugo ``[languages.<code>] title``), over :attr:`site_name`."""
        return self.hugo.titles if self.hugo else {}

    @property
    def lower_urls(self) -> bool:
        """Page URLs are lower-cased (Hugo's default): links to ``Build.md`` lead to ``build/``."""
        return self.hugo.lower_urls if self.hugo else False

    @property
    def slug_style(self) -> str:
        """How headings get ids: "" (Python-Markdown's toc), ``github`` or ``github-ascii`` (a Hugo site's)."""
        return self.hugo.heading_ids if self.hugo else ""

    def parse_options(self, site: SiteOptions, lang: str) -> dict[str, Any]:
        """What every page of ``lang`` is parsed with that the site decides (URL style, link bases,
        languages, Hugo's params and ids, Markdown extensions): the render and lint stages build
        their :class:`~stages.markdown.analyze.PageJob` from the same values."""
        return {"pretty": self.pretty_urls(site), "languages": self.link_languages(site),
                "base_path": self.url_base_path(site), "site_url": self.published_url(site),
                "params": self.params.get(lang) or None, "shortcodes": self.kind == "hugo",
                "lower_urls": self.lower_urls, "slug_style": self.slug_style,
                "markdown": self.mkdocs.markdown if self.mkdocs else PLAIN}

    def published_url(self, site: SiteOptions) -> str:
        """Where the site says it lives, ending in ``/``: mkdocs.yml ``site_url``, Hugo ``baseURL``,
        else ``[site] base_url``. Canonical links and sitemaps use it; links under it are the site's own."""
        url = str((self.mkdocs.site_url if self.mkdocs else None) or self.base_url or site.base_url or "/")
        return url if url.endswith("/") else url + "/"

    def url_base_path(self, site: SiteOptions) -> str:
        """The path root-absolute links start with (``/docs/`` for a site published at ``…/docs/``)."""
        return self.base_path or (urlsplit(self.published_url(site)).path or "/")

    def link_languages(self, site: SiteOptions) -> tuple[str, ...]:
        """The languages ``/<lang>/x/`` links may point into."""
        return tuple(self.site_languages or dict.fromkeys([site.default_language, *site.languages]))

    def pretty_urls(self, site: SiteOptions) -> bool:
        """``page/`` URLs or ``page.html``: ``[site] pretty_urls`` when set, else mkdocs.yml's
        ``use_directory_urls``, else pretty."""
        if "pretty_urls" in site.model_fields_set or self.mkdocs is None:
            return bool(site.pretty_urls)
        return self.mkdocs.directory_urls

    @property
    def include_root(self) -> Path:
        """Where includes may read from: ``[site] include_root`` when it holds the source, else the source."""
        return self.include_root_dir or self.source

    def rel(self, path: Path) -> str:
        """A path as findings name it: relative to the source root (a generated page: as if it
        were in the docs folder, so its name, and the incremental cache key, stay the same)."""
        if self.generated is not None and path.is_relative_to(self.generated):
            path = self.trees[self.default_language].docs_dir / path.relative_to(self.generated)
        try:
            return path.relative_to(self.source).as_posix()
        except ValueError:
            return path.as_posix()

    def nav_fingerprint(self) -> str:
        """Changes whenever the nav source changes (config nav, mkdocs.yml, or the folder set)."""
        h = hashlib.sha256(self.nav_origin.encode())
        h.update(repr(self.nav_config).encode())
        if self.nav_origin == "folders":
            for tree in self.trees.values():
                h.update("\0".join(sorted(tree.pages)).encode())
        return h.hexdigest()


def _find_mkdocs(source: Path, site: SiteOptions) -> Path | None:
    explicit = site.mkdocs_config
    if explicit:
        path = (source / explicit).resolve()
        if not path.is_file():
            raise StageError(f"[site] mkdocs_config: {explicit} does not exist in the source", code="config_invalid")
        return path
    default = site.default_language  # FastAPI's docs/<default>/mkdocs.yml, from the repository or from docs/
    for candidate in (source / "mkdocs.yml", source / "docs" / default / "mkdocs.yml", source / default / "mkdocs.yml"):
        if candidate.is_file():
            return candidate
    return None


def _scan(docs_dir: Path, skip: Path | None = None) -> tuple[dict[str, Path], dict[str, Path]]:
    """Markdown pages and other files (assets) below ``docs_dir``; hidden entries and the theme
    folder (when it sits inside the docs, as in a single-folder site) are skipped."""
    pages: dict[str, Path] = {}
    assets: dict[str, Path] = {}
    for root, dirs, files in os.walk(docs_dir):
        base = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")) and base / d != skip)
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = base / name
            rel = path.relative_to(docs_dir).as_posix()
            if name.endswith(MD_SUFFIXES):
                pages[rel] = path
            else:
                assets[rel] = path
    return pages, assets


def _wanted(language: str | Sequence[str] | None, every: list[str]) -> list[str]:
    if not language:
        return every
    return [language] if isinstance(language, str) else list(dict.fromkeys(language))


def discover(source: Path, site: SiteOptions, language: str | Sequence[str] | None = None, *,
             reads: ConfigReads | None = None) -> SiteLayout:
    """Read the source tree's shape; raise :class:`StageError` when nothing can be built.

    ``language`` is the language to build, or several: one call then scans the source
    language's pages once for all of them. ``reads`` shares config parses with the run's other
    calls (:mod:`stages.site.siteconfig`).
    """
    reads = reads if reads is not None else ConfigReads()
    source = source.resolve()
    if not source.is_dir():
        # Names only: in the daemon the path is the job's workspace, which is nobody's business.
        raise StageError(f"the source folder ({source.name}) does not exist", code="source_missing")
    default = site.default_language
    wanted = _wanted(language, list(dict.fromkeys([default, *site.languages])))
    layout_kind = site.layout
    hugo_conf = reads.hugo(source) if layout_kind == "auto" else None
    if hugo_conf is not None:
        return _hugo_layout(source, site, language, hugo_conf)
    mkdocs_file = _find_mkdocs(source, site) if layout_kind in ("auto", "mkdocs") else None
    if layout_kind == "mkdocs" and mkdocs_file is None:
        raise StageError("[site] layout is 'mkdocs' but no mkdocs.yml was found", code="config_invalid")
    nav_config: list[Any] | None = list(site.nav) if site.nav is not None else None
    nav_origin: Literal["config", "mkdocs", "folders"] = "config" if nav_config is not None else "folders"
    dirs: dict[str, tuple[Path, Path]] = {}
    kind: Literal["languages", "mkdocs", "single"]
    site_name = None
    mk = None
    if mkdocs_file is not None:
        kind = "mkdocs"
        conf, mk = reads.mkdocs(mkdocs_file, _include_root(source, site) or source)
        site_name = mk.site_name
        docs_rel = mk.docs_dir
        base = mkdocs_file.parent
        if mk.i18n is not None:
            default, wanted = _i18n_languages(site, language, mk.i18n)
        for lang in dict.fromkeys([default, *wanted]):
            if mk.i18n is not None:  # mkdocs-static-i18n: docs/<lang>/ folders or page.<lang>.md files
                folder = base / docs_rel / lang if mk.i18n.structure == "folder" else base / docs_rel
                dirs[lang] = (folder, base)
            elif lang == default:
                dirs[lang] = (base / docs_rel, base)
            elif base.name == default and (base.parent / lang / docs_rel).is_dir():
                dirs[lang] = (base.parent / lang / docs_rel, base.parent / lang)
            else:
                dirs[lang] = (base / docs_rel, base)  # untranslated: all pages fall back
        if nav_config is None and isinstance(conf.get("nav"), list):
            nav_config, nav_origin = conf["nav"], "mkdocs"
    elif layout_kind == "languages" or (source / default).is_dir():
        kind = "languages"
        for lang in dict.fromkeys([default, *wanted]):
            d = source / lang
            dirs[lang] = (d, d)
    else:
        kind = "single"
        for lang in dict.fromkeys([default, *wanted]):
            dirs[lang] = (source, source)
    theme_dir = None
    if site.theme:
        theme_dir = (source / site.theme).resolve()
    elif (source / "theme").is_dir():
        theme_dir = source / "theme"
    default_dir = dirs[default][0]
    if not default_dir.is_dir():
        shown = default_dir.relative_to(source).as_posix() if default_dir.is_relative_to(source) else default_dir.name
        raise StageError(f"docs folder {shown!r} (in the source) for language {default!r} does not exist",
                         code="source_missing")
    base_pages, base_assets = _scan(default_dir, theme_dir)
    suffixed: dict[str, dict[str, Path]] | None = None
    if mk is not None and mk.i18n is not None and mk.i18n.structure == "suffix":
        base_pages, suffixed = _split_suffixes(base_pages, mk.i18n)
    if mk is not None and mk.exclude_docs is not None:  # mkdocs `exclude_docs`: neither built nor copied
        base_pages = {k: v for k, v in base_pages.items() if not mk.excluded(k)}
        base_assets = {k: v for k, v in base_assets.items() if not mk.excluded(k)}
    trees: dict[str, LanguageTree] = {}
    for lang in wanted:
        docs_dir, inc = dirs[lang]
        tree = LanguageTree(lang=lang, docs_dir=docs_dir, include_base=inc)
        own_pages, own_assets = _scan(docs_dir, theme_dir) if docs_dir != default_dir and docs_dir.is_dir() else ({}, {})
        if suffixed is not None:
            own_pages = suffixed.get(lang, {})
        if mk is not None and mk.exclude_docs is not None:
            own_pages = {k: v for k, v in own_pages.items() if not mk.excluded(k)}
            own_assets = {k: v for k, v in own_assets.items() if not mk.excluded(k)}
        for src, path in base_pages.items():
            if src in own_pages:
                tree.pages[src] = PageSource(src, own_pages[src])
            else:
                tree.pages[src] = PageSource(src, path, fallback=lang != default)
        for src, path in own_pages.items():
            tree.pages.setdefault(src, PageSource(src, path))
        tree.assets = {**base_assets, **own_assets}
        trees[lang] = tree
    return SiteLayout(
        source=source,
        kind=kind,
        default_language=default,
        languages=wanted,
        trees=trees,
        nav_config=nav_config,
        nav_origin=nav_origin,
        mkdocs_file=mkdocs_file,
        theme_dir=theme_dir,
        site_name=site_name,
        mkdocs=mk,
        include_root_dir=_include_root(source, site),
    )


def _include_root(source: Path, site: SiteOptions) -> Path | None:
    """``[site] include_root`` when it holds the source; a root that does not is ignored."""
    if site.include_root is None:
        return None
    root = Path(site.include_root).resolve()
    return root if source.is_relative_to(root) else None


def _hugo_layout(source: Path, site: SiteOptions, language: str | Sequence[str] | None,
                 conf: hugo.HugoConfig) -> SiteLayout:
    """A Hugo site: languages, content folders and title from its config unless ``[site]`` sets them."""
    explicit = site.model_fields_set
    default = site.default_language if "default_language" in explicit else conf.default_language
    every = list(dict.fromkeys([default, *site.languages])) if "languages" in explicit else \
        list(dict.fromkeys([default, *conf.languages]))
    wanted = _wanted(language, every)
    found = hugo.trees(source, conf, wanted, site.drafts, _scan) if default == conf.default_language else \
        hugo.trees(source, hugo.HugoConfig(**{**conf.__dict__, "default_language": default}), wanted, site.drafts, _scan)
    trees: dict[str, LanguageTree] = {}
    for lang, ht in found.items():
        tree = LanguageTree(lang=lang, docs_dir=ht.docs_dir, include_base=ht.docs_dir, assets=ht.assets)
        tree.pages = {src: PageSource(src, path, fallback=fb) for src, (path, fb) in ht.pages.items()}
        trees[lang] = tree
    nav_config: list[Any] | None = list(site.nav) if site.nav is not None else None
    return SiteLayout(
        source=source, kind="hugo", default_language=default, languages=wanted, trees=trees,
        nav_config=nav_config, nav_origin="config" if nav_config is not None else "folders",
        theme_dir=(source / site.theme).resolve() if site.theme else None, site_name=conf.title,
        include_root_dir=_include_root(source, site), site_languages=every, base_url=conf.base_url,
        base_path=conf.base_path, hugo=conf,
    )


def add_generated(layout: SiteLayout, root: Path, nav: list[Any] | None) -> None:
    """Add pages a stage generated (``root`` laid out like the docs folder) to every language.

    The openapi stage writes its reference pages into the job's workspace rather than the
    source; a generated page takes the place of a same-named source page. ``nav`` (when not
    None) is the site's nav with the generated pages placed in it.
    """
    pages, assets = _scan(root) if root.is_dir() else ({}, {})
    layout.generated = root
    for tree in layout.trees.values():
        fallback = tree.lang != layout.default_language
        for src, path in pages.items():
            tree.pages[src] = PageSource(src, path, fallback=fallback)
        tree.assets.update(assets)
    if nav is not None:
        layout.nav_config = nav


_I18N_SUFFIX = re.compile(r"^(?P<stem>.+)\.(?P<lang>[a-z]{2,3}(?:[-_][a-zA-Z]{2,4})?)\.(?:md|markdown)$")


def _i18n_languages(site: SiteOptions, language: str | Sequence[str] | None,
                    i18n: mkdocs.I18n) -> tuple[str, list[str]]:
    """The source language and the languages to build of an mkdocs-static-i18n site: ``[site]``'s
    when it sets them, else the plugin's."""
    explicit = site.model_fields_set
    default = site.default_language if "default_language" in explicit else i18n.default
    every = [default, *site.languages] if "languages" in explicit else [default, *i18n.languages]
    return default, _wanted(language, list(dict.fromkeys(every)))


def _split_suffixes(pages: dict[str, Path], i18n: mkdocs.I18n) -> tuple[dict[str, Path], dict[str, dict[str, Path]]]:
    """mkdocs-static-i18n's suffix layout: ``page.<lang>.md`` is ``page.md`` in that language
    (``page.<default>.md`` is the source page itself), never a page of its own."""
    base: dict[str, Path] = {}
    per_lang: dict[str, dict[str, Path]] = {}
    for src, path in pages.items():
        m = _I18N_SUFFIX.match(src)
        if m is None or m.group("lang") not in i18n.languages:
            base.setdefault(src, path)
        elif m.group("lang") == i18n.default:
            base[f"{m.group('stem')}.md"] = path
        else:
            per_lang.setdefault(m.group("lang"), {})[f"{m.group('stem')}.md"] = path
    return base, per_lang


def site_languages(source: Path, site: SiteOptions, *, reads: ConfigReads | None = None) -> tuple[str, list[str]]:
    """The source language and every language of the site (source first), without scanning pages.

    ``[site] default_language`` and ``languages`` win when the config sets them; otherwise the
    tree says: a Hugo config's languages, mkdocs-static-i18n's in mkdocs.yml, FastAPI's
    ``docs/<lang>/docs/`` folders beside ``docs/<default>/mkdocs.yml``, or ``<source>/<lang>/``
    folders beside the default language's (folder names must be language codes). ``reads`` as
    for :func:`discover`.
    """
    source = source.resolve()
    explicit = site.model_fields_set
    found_default, found = _detect_languages(source, site, reads if reads is not None else ConfigReads())
    default = site.default_language if "default_language" in explicit else found_default
    every = site.languages if "languages" in explicit else found
    return default, list(dict.fromkeys([default, *every]))


def _detect_languages(source: Path, site: SiteOptions, reads: ConfigReads) -> tuple[str, list[str]]:
    default = site.default_language
    if not source.is_dir():
        return default, [default]
    if site.layout == "auto" and (conf := reads.hugo(source)) is not None:
        return conf.default_language, list(conf.languages)
    try:
        mkdocs_file = _find_mkdocs(source, site) if site.layout in ("auto", "mkdocs") else None
        mk = reads.mkdocs(mkdocs_file, _include_root(source, site) or source)[1] if mkdocs_file is not None else None
    except StageError:
        mkdocs_file = mk = None
    if mkdocs_file is not None and mk is not None:
        if mk.i18n is not None:
            return mk.i18n.default, list(mk.i18n.languages)
        base = mkdocs_file.parent
        if base.name != default:
            return default, [default]
        return default, [default, *(d.name for d in sorted(base.parent.iterdir())
                                    if d.name != default and is_language_code(d.name) and (d / mk.docs_dir).is_dir())]
    if site.layout == "languages" or (source / default).is_dir():
        return default, [default, *(d.name for d in sorted(source.iterdir())
                                    if d.is_dir() and d.name != default and is_language_code(d.name)
                                    and next(d.rglob("*.md"), None) is not None)]
    return default, [default]
