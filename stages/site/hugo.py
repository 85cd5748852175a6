"""A Hugo site as ``hugo`` reads it: its config file, its content folders per language, drafts.

Hugo keeps pages under ``contentDir`` (``content/`` by default); a multilingual site gives each
language its own ``contentDir`` or marks translations by file name (``page.ar.md``). Static files
(``static/``) are served from the site root. Pages whose front matter says ``draft: true`` are
left out unless drafts are asked for, as ``hugo`` does without ``--buildDrafts``.

This module only reads the file system; :mod:`stages.site.layout` turns the result into a
:class:`~stages.site.layout.SiteLayout`, so the two never import each other in a circle.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from stages.base import StageError
from stages.site import frontmatter
from stages.site.langcodes import is_safe_code

CONFIG_NAMES = ("hugo.toml", "hugo.yaml", "hugo.yml", "hugo.json", "config.toml", "config.yaml", "config.yml")
"""Hugo's config file names, in the order ``hugo`` looks for them."""
_HUGO_KEYS = frozenset({"baseurl", "contentdir", "defaultcontentlanguage", "languages", "title", "theme",
                        "languagecode", "params", "menu", "menus", "taxonomies", "markup"})
_PRESSROOM_KEYS = frozenset({"server", "site", "stages", "store", "workers", "intake"})
_LANG_SUFFIX = re.compile(r"^(?P<stem>.+)\.(?P<lang>[a-z]{2,3}(?:-[a-zA-Z]{2,4})?)\.(?:md|markdown)$")

Scan = Callable[[Path, Path | None], tuple[dict[str, Path], dict[str, Path]]]


@dataclass(frozen=True)
class HugoConfig:
    file: Path
    title: str | None
    base_url: str | None
    default_language: str
    languages: list[str]
    """Every language of the site, the default first, then by ``weight``."""
    content_dirs: dict[str, Path] = field(default_factory=dict)
    """A language's own ``contentDir``, when it has one."""
    content_dir: Path = Path("content")
    titles: dict[str, str] = field(default_factory=dict)
    """A language's own ``title`` (``[languages.fa] title``), shown in its pages' header."""
    warnings: tuple[tuple[str, str], ...] = ()
    """``(what, message)`` for what the site has that pressroom does not do (its render hooks)."""
    heading_ids: str = "github"
    """``markup.goldmark.parser.autoHeadingIDType``: ``github`` (Hugo's default) or ``github-ascii``."""
    lower_urls: bool = True
    """Hugo lower-cases page URLs (``Build.md`` is ``/build/``) unless ``disablePathToLower``."""
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Site ``params`` as each language sees them (its ``[languages.<code>.params]`` over the site's),
    keys lower-cased as Hugo matches them: what the ``param`` shortcode reads."""

    def cache_key(self) -> str:
        """What of this config is in every rendered page (no paths: two workspaces of one tree share a cache)."""
        return repr((self.base_url, self.languages, self.params, self.titles, self.lower_urls, self.heading_ids))

    @property
    def base_path(self) -> str:
        """The path part of ``baseURL`` (``/docs/``): root-absolute links start with it."""
        path = urlsplit(self.base_url or "").path or "/"
        return path if path.endswith("/") else path + "/"


def _lower(data: dict[str, Any]) -> dict[str, Any]:
    """Hugo config keys are case-insensitive (``baseURL``, ``baseurl``)."""
    return {str(k).lower(): v for k, v in data.items()}


def _lower_deep(data: Any) -> Any:
    """``params`` at every depth: ``.Param "GitHub_Repo"`` finds ``github_repo``."""
    return {str(k).lower(): _lower_deep(v) for k, v in data.items()} if isinstance(data, dict) else data


class _Yaml12Loader(yaml.SafeLoader):
    """YAML as Hugo reads it (1.2): only ``true``/``false`` are booleans. PyYAML's 1.1 rules
    would make the Norwegian language key ``no`` (Docsy's own example site has it) ``False``,
    and ``on``/``off``/``yes`` booleans too."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                    list("tTfF"))


def load(path: Path) -> dict[str, Any]:
    """A Hugo config file as data, keys lower-cased as Hugo matches them (``baseURL`` is ``baseurl``)."""
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506 (a safe loader)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise StageError(f"{path.name}: cannot read Hugo config: {exc}", code="config_invalid") from exc
    if not isinstance(data, dict):
        raise StageError(f"{path.name}: Hugo config must be a mapping", code="config_invalid")
    return _lower(data)


def find(source: Path, parse: Callable[[Path], dict[str, Any]] = load) -> HugoConfig | None:
    """The site's Hugo config, or None when ``source`` is not a Hugo site.

    ``config.toml`` is also pressroom's own file name: it counts as Hugo's only when it has Hugo
    keys, no pressroom tables, and the content folder it names exists. ``parse`` reads a file
    (:class:`stages.site.siteconfig.ConfigReads` passes one that parses each file once per run).
    """
    for name in CONFIG_NAMES:
        path = source / name
        if not path.is_file():
            continue
        if name.startswith("config."):
            try:
                conf = parse(path)
            except StageError:
                continue
            if conf.keys() & _PRESSROOM_KEYS or not conf.keys() & _HUGO_KEYS:
                continue
        else:
            conf = parse(path)
        if (found := _with_content(source, path, conf)) is not None:
            return found
    return _config_dir(source, parse)


def _with_content(source: Path, path: Path, conf: dict[str, Any]) -> HugoConfig | None:
    """The config read from ``path``, or None when the content folder it names (``contentDir``,
    a mount, ``content/``, or a language's own) does not exist: then it is not a Hugo site's."""
    content_dir = source / str(conf.get("contentdir") or _mounted_content(conf) or "content")
    raw_langs = conf.get("languages")
    langs_conf: dict[str, Any] = raw_langs if isinstance(raw_langs, dict) else {}
    if not content_dir.is_dir() and not any(isinstance(v, dict) and _lower(v).get("contentdir") for v in langs_conf.values()):
        return None
    return _config(source, path, conf, content_dir, langs_conf)


_HOOKS = ("link", "image", "heading", "codeblock", "blockquote", "table", "passthrough")


def _render_hooks(source: Path, conf: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The site's (or its theme's) Markdown render hooks, which change what a link or heading
    becomes and which pressroom does not run: each one named once, so findings it would have
    prevented (Hugo's own docs' ``[term](g)`` glossary links) are explained."""
    themes = conf.get("theme")
    listed = themes if isinstance(themes, list) else [themes]
    roots = [source / "layouts", *(source / "themes" / name / "layouts" for name in listed if isinstance(name, str))]
    found: list[tuple[str, str]] = []
    for hook in _HOOKS:
        for root in roots:
            hit = next((p for p in (root / "_markup" / f"render-{hook}.html", root / "_default" / "_markup" / f"render-{hook}.html")
                        if p.is_file()), None)
            if hit is not None:
                rel = hit.relative_to(source).as_posix()
                found.append((f"render hook {rel}", f"not run by pressroom: {hook}s are rendered and checked as written"))
                break
    return tuple(found)


def _heading_ids(conf: dict[str, Any]) -> str:
    """``[markup.goldmark.parser] autoHeadingIDType``, lower-cased keys at every level."""
    node: Any = conf
    for key in ("markup", "goldmark", "parser", "autoheadingidtype"):
        node = _lower(node).get(key) if isinstance(node, dict) else None
    return str(node).lower() if isinstance(node, str) and node.lower() in ("github", "github-ascii") else "github"


def _mounted_content(conf: dict[str, Any]) -> str | None:
    """The folder a ``[[module.mounts]]`` entry mounts as ``content`` (Hugo's own docs mount
    ``content/en`` there); None when no mount does."""
    module = conf.get("module")
    mounts = _lower(module).get("mounts") if isinstance(module, dict) else None
    for mount in mounts if isinstance(mounts, list) else []:
        mount = _lower(mount) if isinstance(mount, dict) else {}
        if str(mount.get("target", "")).strip("/") == "content" and isinstance(mount.get("source"), str) and not mount.get("lang"):
            return str(mount["source"])
    return None


def _config_dir(source: Path, parse: Callable[[Path], dict[str, Any]]) -> HugoConfig | None:
    """Hugo's config directory, ``config/_default/``: ``hugo.toml`` (or ``config.toml``) holds the
    root keys and every other file the key it is named after (``languages.toml``, ``params.yaml``),
    as larger sites (Docsy's among them) split their config."""
    folder = source / "config" / "_default"
    if not folder.is_dir():
        return None
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in (".toml", ".yaml", ".yml", ".json"))
    root = next((p for p in files if p.stem in ("hugo", "config")), None)
    conf: dict[str, Any] = dict(parse(root)) if root is not None else {}
    for part in files:
        if part != root:
            conf[part.stem.lower()] = parse(part)
    return _with_content(source, root or folder, conf) if conf.keys() & _HUGO_KEYS else None


def _inside(root: Path, folder: Path, config: Path, key: str) -> Path:
    """A content folder the config names, refused when it leads out of the submitted tree (a
    hostile ``contentDir = "../../etc"`` would publish the daemon's own files)."""
    if not folder.resolve().is_relative_to(root):
        raise StageError(f"{config.name}: {key} leads outside the source folder", code="config_invalid")
    return folder


def _config(source: Path, path: Path, conf: dict[str, Any], content_dir: Path,
            langs_conf: dict[str, Any]) -> HugoConfig:
    default = str(conf.get("defaultcontentlanguage") or conf.get("languagecode") or "en").split("-")[0] \
        if not langs_conf else str(conf.get("defaultcontentlanguage") or next(iter(langs_conf)))
    weights: dict[str, float] = {}
    dirs: dict[str, Path] = {}
    title = conf.get("title")
    root = source.resolve()
    site_params = _lower_deep(conf.get("params")) if isinstance(conf.get("params"), dict) else {}
    params: dict[str, dict[str, Any]] = {}
    titles: dict[str, str] = {}
    for code, lc in langs_conf.items():
        if not is_safe_code(str(code)):
            raise StageError(f"{path.name}: [languages] key {str(code)[:40]!r} is not a language code "
                             "(letters, digits, '-' or '_', like 'en' or 'pt-br')", code="config_invalid")
        lc = _lower(lc) if isinstance(lc, dict) else {}
        own = _lower_deep(lc.get("params")) if isinstance(lc.get("params"), dict) else {}
        if isinstance(lc.get("title"), str):
            titles[str(code)] = lc["title"]
        params[str(code)] = {**site_params, **own}
        w = lc.get("weight", 0)
        weights[str(code)] = float(w) if isinstance(w, int | float) else 0.0
        if lc.get("contentdir"):
            dirs[str(code)] = _inside(root, source / str(lc["contentdir"]), path, f"[languages.{code}] contentDir")
        if str(code) == default and not title and isinstance(lc.get("title"), str):
            title = lc["title"]
    if not is_safe_code(default):
        raise StageError(f"{path.name}: defaultContentLanguage {default[:40]!r} is not a language code",
                         code="config_invalid")
    content_dir = _inside(root, content_dir, path, "contentDir")
    others = sorted((c for c in weights if c != default), key=lambda c: (weights[c], c))
    base = conf.get("baseurl")
    return HugoConfig(file=path, title=str(title) if isinstance(title, str) else None,
                      base_url=str(base) if isinstance(base, str) else None, default_language=default,
                      languages=[default, *others], content_dirs=dirs, content_dir=content_dir,
                      params={code: params.get(code, site_params) for code in (default, *others)}, titles=titles,
                      lower_urls=conf.get("disablepathtolower") is not True, heading_ids=_heading_ids(conf),
                      warnings=_render_hooks(source, conf))


def _meta(path: Path) -> dict[str, Any]:
    """A page's front matter, keys lower-cased (Hugo reads them in any case); empty when unreadable."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    return _lower(frontmatter.split(text.lstrip("\ufeff"))[0])


def is_draft(path: Path) -> bool:
    """Front matter ``draft: true`` (any case of the key, as Hugo reads it)."""
    return _meta(path).get("draft") is True


def _never_rendered(meta: dict[str, Any]) -> bool:
    """``headless: true`` or ``build: {render: never}`` (Hugo's snippet folders: ``_common/``)."""
    build = meta.get("build")
    return meta.get("headless") is True or (isinstance(build, dict) and _lower(build).get("render") in ("never", False))


def _kept(pages: dict[str, Path], drafts: bool) -> dict[str, Path]:
    """The pages Hugo publishes: not drafts (unless ``drafts``), not headless or ``render: never``,
    nor below a section whose ``_index.md`` cascades ``build: {render: never}`` to its pages."""
    metas = {src: _meta(path) for src, path in pages.items()}
    hidden: list[str] = []
    for src, meta in metas.items():
        folder, _, name = src.rpartition("/")
        cascade = meta.get("cascade")
        cascades = [_lower(c) for c in (cascade if isinstance(cascade, list) else [cascade]) if isinstance(c, dict)]
        if name.rsplit(".", 1)[0] in ("_index", "index") and (
                any(_never_rendered(c) and "target" not in c and "_target" not in c for c in cascades)
                or (name.startswith("index") and _never_rendered(meta))):  # a headless leaf bundle
            hidden.append(folder + "/" if folder else "")
    return {src: path for src, path in pages.items()
            if (drafts or metas[src].get("draft") is not True) and not _never_rendered(metas[src])
            and not any(src.startswith(h) for h in hidden if h)}


@dataclass
class HugoTree:
    docs_dir: Path
    pages: dict[str, tuple[Path, bool]]
    """src -> (file read, fallback)."""
    assets: dict[str, Path]


def trees(source: Path, conf: HugoConfig, wanted: list[str], drafts: bool, scan: Scan) -> dict[str, HugoTree]:
    """Each wanted language's pages (drafts left out unless ``drafts``) and files.

    A page missing from a translation falls back to the default language's page, the way every
    pressroom site does; ``static/`` files are served from each language's root, so ``/img/x.png``
    works in every language.
    """
    static = scan(source / "static", None) if (source / "static").is_dir() else ({}, {})
    static_files = {**static[0], **static[1]}
    shared: tuple[dict[str, Path], dict[str, Path]] | None = None
    per_lang: dict[str, tuple[Path, dict[str, Path], dict[str, Path]]] = {}
    multi = len(conf.languages) > 1
    for lang in dict.fromkeys([conf.default_language, *wanted]):
        own = conf.content_dirs.get(lang)
        if own is None and multi and (conf.content_dir / lang).is_dir():
            own = conf.content_dir / lang  # content/<lang>/: one folder per language
        if own is not None:
            found, assets = scan(own, None) if own.is_dir() else ({}, {})
            per_lang[lang] = (own, found, assets)
            continue
        if shared is None:
            shared = scan(conf.content_dir, None) if conf.content_dir.is_dir() else ({}, {})
        named: dict[str, Path] = {}
        for src, path in shared[0].items():
            m = _LANG_SUFFIX.match(src)
            if m and m.group("lang") in conf.languages:  # page.ar.md: a translation by file name
                if m.group("lang") == lang:
                    named[f"{m.group('stem')}.md"] = path
            elif lang == conf.default_language:
                named.setdefault(src, path)
        per_lang[lang] = (conf.content_dir, named, shared[1])
    out: dict[str, HugoTree] = {}
    base = _kept(per_lang[conf.default_language][1], drafts)
    for lang in wanted:
        docs_dir, own_pages, own_assets = per_lang[lang]
        mine = _kept(own_pages, drafts) if lang != conf.default_language else base
        tree: dict[str, tuple[Path, bool]] = {s: (mine[s], False) if s in mine else (p, True) for s, p in base.items()}
        for s, p in mine.items():
            tree.setdefault(s, (p, False))
        if conf.lower_urls:  # a page's src is its URL's path: Build.md is served as build/
            lowered: dict[str, tuple[Path, bool]] = {}
            for s, entry in tree.items():
                lowered.setdefault(s.lower(), entry)
            tree = lowered
        out[lang] = HugoTree(docs_dir=docs_dir, pages=tree, assets={**static_files, **own_assets})
    return out
