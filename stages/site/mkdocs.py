"""What an ``mkdocs.yml`` says that shapes the built site, read the way ``mkdocs build`` reads it.

Only the keys that change what readers see are taken: ``site_url`` (canonical links, sitemap,
404), ``extra_css``/``extra_javascript`` (linked from every page), ``theme.language``,
``docs_dir``, ``nav``, ``not_in_nav`` and ``exclude_docs`` (gitignore-style patterns, as MkDocs
matches them with ``pathspec``), the ``macros`` plugin with its ``extra:`` variables and
``include_yaml`` data files, and the markdown extensions' options. Keys a MkDocs theme or plugin
needs that pressroom has no use for are ignored; a plugin whose output would be missing is named
in a warning, so the writer knows why a page looks different.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pathspec

from stages.site import mdext
from stages.site.langcodes import is_safe_code

KNOWN_PLUGINS = frozenset({"search", "macros", "mkdocstrings", "social", "redirects", "tags", "offline", "i18n"})
"""Plugins whose absence a reader would not notice, or which pressroom provides (search, macros),
or whose syntax is reported where it is used (mkdocstrings' ``:::`` lines)."""


@dataclass(frozen=True)
class I18n:
    """The mkdocs-static-i18n plugin: the site's languages and how translations are laid out."""

    default: str
    languages: tuple[str, ...]
    """Every language built, the default first."""
    structure: Literal["suffix", "folder"] = "suffix"
    """``suffix``: ``page.<lang>.md`` beside ``page.md``; ``folder``: ``docs/<lang>/page.md``."""


def _i18n(value: Any) -> I18n | None:
    """The plugin's options, in its 1.x form (``languages: [{locale, default, build}]``) or its
    0.x form (``default_language`` and a ``languages`` mapping)."""
    if not isinstance(value, dict):
        return None
    raw = value.get("languages")
    codes: list[str] = []
    default = value.get("default_language")
    if isinstance(raw, list):
        for item in raw:
            if isinstance(item, str):
                codes.append(item)
            elif isinstance(item, dict) and isinstance(item.get("locale"), str) and item.get("build", True) is not False:
                codes.append(item["locale"])
                if item.get("default") is True:
                    default = item["locale"]
    elif isinstance(raw, dict):
        codes = [str(k) for k, v in raw.items() if not (isinstance(v, dict) and v.get("build") is False)]
    codes = [c for c in codes if is_safe_code(c)]  # a locale names a folder: nothing else may
    default = str(default) if isinstance(default, str) and is_safe_code(default) else (codes[0] if codes else None)
    if default is None:
        return None
    structure: Literal["suffix", "folder"] = "folder" if value.get("docs_structure") == "folder" else "suffix"
    return I18n(default=default, languages=tuple(dict.fromkeys([default, *codes])), structure=structure)


@dataclass(frozen=True)
class MkDocsSite:
    file: Path
    site_name: str | None = None
    site_url: str | None = None
    directory_urls: bool = True
    """``use_directory_urls``: ``false`` builds ``page.html`` instead of ``page/index.html``."""
    docs_dir: str = "docs"
    nav: list[Any] | None = None
    extra_css: list[str] = field(default_factory=list)
    extra_javascript: list[str] = field(default_factory=list)
    theme_language: str | None = None
    not_in_nav: pathspec.PathSpec | None = None
    exclude_docs: pathspec.PathSpec | None = None
    plugins: tuple[str, ...] = ()
    macros: bool = False
    """``plugins: [macros]``: pages are Jinja templates (mkdocs-macros)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """``extra:``: the variables pages see when macros are on."""
    include_yaml: tuple[tuple[str | None, str], ...] = ()
    """mkdocs-macros ``include_yaml`` data files ``(name or None, path relative to the config's folder)``."""
    markdown: mdext.MarkdownOptions = mdext.PLAIN
    """``markdown_extensions``: the syntax and options the engine is built with."""
    warnings: tuple[tuple[str, str], ...] = ()
    digest: str = ""
    """sha256 of the config as read (an ``INHERIT``ed file's keys included): what a cache keys on."""
    """``(key, message)`` for what is ignored, reported against the config file."""
    i18n: I18n | None = None
    """The mkdocs-static-i18n plugin's languages, when the site uses it."""

    def excluded(self, src: str) -> bool:
        return bool(self.exclude_docs and self.exclude_docs.match_file(src))

    def hidden(self, src: str) -> bool:
        return bool(self.not_in_nav and self.not_in_nav.match_file(src))


def _strings(value: Any) -> list[str]:
    """``extra_css`` entries are strings or (MkDocs 1.5+) ``{path: ..., ...}`` mappings."""
    out: list[str] = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and isinstance(item.get("path"), str):
            out.append(item["path"])
    return out


def _spec(value: Any) -> pathspec.PathSpec | None:
    if isinstance(value, str) and value.strip():
        return pathspec.PathSpec.from_lines("gitwildmatch", value.splitlines())
    if isinstance(value, list):
        return pathspec.PathSpec.from_lines("gitwildmatch", [str(v) for v in value])
    return None


def _plugins(value: Any) -> dict[str, Any]:
    """``plugins:`` is a list of names or one-key mappings, or a mapping (both forms are MkDocs')."""
    found: dict[str, Any] = {}
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    for item in value if isinstance(value, list) else []:
        if isinstance(item, str):
            found[item] = {}
        elif isinstance(item, dict):
            found.update({str(k): v for k, v in item.items()})
    return found


def read(path: Path, conf: dict[str, Any]) -> MkDocsSite:
    """The parsed config (``siteconfig.load_mkdocs_yml``) as the fields above."""
    theme = conf.get("theme")
    language = theme.get("language") if isinstance(theme, dict) else None
    plugins = _plugins(conf.get("plugins"))
    warnings = [("plugins", f"plugin {name!r} is not supported by pressroom; its output will be missing")
                for name in plugins if name.split("/")[0] not in KNOWN_PLUGINS]
    hooks = _strings(conf.get("hooks"))
    if hooks:  # Python files of the site: running them would run a submitter's code in the daemon
        warnings.append(("hooks", f"hooks are not run by pressroom ({', '.join(hooks)[:200]}): what they change is missing"))
    markdown, md_warnings = mdext.read(conf.get("markdown_extensions"))
    warnings.extend(md_warnings)
    macros_value = plugins.get("macros")
    macros_conf: dict[str, Any] = macros_value if isinstance(macros_value, dict) else {}
    include_yaml: list[tuple[str | None, str]] = []
    for item in macros_conf.get("include_yaml") or []:
        if isinstance(item, str):
            include_yaml.append((None, item))
        elif isinstance(item, dict):
            include_yaml.extend((str(k), str(v)) for k, v in item.items())
    extra = conf.get("extra")
    site_url = conf.get("site_url")
    return MkDocsSite(
        file=path,
        site_name=str(conf["site_name"]) if conf.get("site_name") else None,
        site_url=str(site_url) if isinstance(site_url, str) and site_url.strip() else None,
        directory_urls=conf.get("use_directory_urls") is not False,
        docs_dir=str(conf.get("docs_dir", "docs")),
        nav=conf["nav"] if isinstance(conf.get("nav"), list) else None,
        extra_css=_strings(conf.get("extra_css")),
        extra_javascript=_strings(conf.get("extra_javascript")),
        theme_language=str(language) if isinstance(language, str) and language else None,
        not_in_nav=_spec(conf.get("not_in_nav")),
        exclude_docs=_spec(conf.get("exclude_docs")),
        plugins=tuple(plugins),
        macros="macros" in plugins,
        extra=extra if isinstance(extra, dict) else {},
        include_yaml=tuple(include_yaml),
        markdown=markdown,
        warnings=tuple(warnings),
        digest=hashlib.sha256(json.dumps(conf, sort_keys=True, default=str).encode()).hexdigest(),
        i18n=_i18n(plugins.get("i18n")),
    )
