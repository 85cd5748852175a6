"""The Jinja2 theme: templates from the source's ``theme/`` folder first, then the default.

The nav is rendered once per language with a ``@@ROOT@@`` placeholder and patched per page
(root prefix, current page), because rendering a 150-entry nav 150 times is most of a
templating pass.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
from pathlib import Path
from typing import Any

import jinja2

from stages.site.changes import atomic_write
from stages.site.mkdocs import MkDocsSite
from stages.site.nav import Node
from stages.site.options import RTL_LANGUAGES
from stages.site.urls import is_external

DEFAULT_DIR = Path(__file__).parent / "theme"
ROOT = "@@ROOT@@"
MERMAID_ASSETS = "assets/mermaid/"
"""The vendored mermaid build (5.5 MB): published only with a site that has a diagram."""

LABELS: dict[str, dict[str, str]] = {
    "en": {"skip": "Skip to content", "menu": "Menu", "search": "Search", "languages": "Languages",
           "dark": "Toggle dark mode", "nav": "Site navigation", "toc": "On this page", "edit": "Edit this page",
           "pager": "Previous and next page", "prev": "Previous", "next": "Next",
           "not_found": "Page not found", "not_found_text": "The page you asked for does not exist. Start again from:"},
    "es": {"skip": "Ir al contenido", "menu": "Menú", "search": "Buscar", "languages": "Idiomas",
           "dark": "Modo oscuro", "nav": "Navegación", "toc": "En esta página", "edit": "Editar esta página",
           "pager": "Página anterior y siguiente", "prev": "Anterior", "next": "Siguiente"},
    "de": {"skip": "Zum Inhalt", "menu": "Menü", "search": "Suchen", "languages": "Sprachen",
           "dark": "Dunkelmodus", "nav": "Navigation", "toc": "Auf dieser Seite", "edit": "Diese Seite bearbeiten",
           "pager": "Vorherige und nächste Seite", "prev": "Zurück", "next": "Weiter"},
    "ar": {"skip": "انتقل إلى المحتوى", "menu": "القائمة", "search": "بحث", "languages": "اللغات",
           "dark": "الوضع الداكن", "nav": "التنقل في الموقع", "toc": "في هذه الصفحة", "edit": "حرّر هذه الصفحة",
           "pager": "الصفحة السابقة والتالية", "prev": "السابق", "next": "التالي"},
    "he": {"skip": "דלגו לתוכן", "menu": "תפריט", "search": "חיפוש", "languages": "שפות",
           "dark": "מצב כהה", "nav": "ניווט באתר", "toc": "בעמוד זה", "edit": "עריכת העמוד",
           "pager": "העמוד הקודם והבא", "prev": "הקודם", "next": "הבא"},
}
NOTICES: dict[str, dict[str, str]] = {
    # missing / stale pages show the source language's text; machine pages their own
    "en": {"missing": "This page has not been translated yet.", "stale": "The original has changed since this translation.",
           "machine": "This page was machine-translated and may contain mistakes.",
           "original": "It is shown in the original language ({language})."},
    "es": {"missing": "Esta página aún no está traducida.", "stale": "El original ha cambiado desde esta traducción.",
           "machine": "Esta página se tradujo automáticamente y puede contener errores.",
           "original": "Se muestra en el idioma original ({language})."},
    "de": {"missing": "Diese Seite ist noch nicht übersetzt.", "stale": "Das Original hat sich seit dieser Übersetzung geändert.",
           "machine": "Diese Seite wurde maschinell übersetzt und kann Fehler enthalten.",
           "original": "Sie wird in der Originalsprache angezeigt ({language})."},
    "fr": {"missing": "Cette page n'a pas encore été traduite.", "stale": "L'original a changé depuis cette traduction.",
           "machine": "Cette page a été traduite automatiquement et peut contenir des erreurs.",
           "original": "Elle est affichée dans la langue d'origine ({language})."},
    "pt": {"missing": "Esta página ainda não foi traduzida.", "stale": "O original mudou desde esta tradução.",
           "machine": "Esta página foi traduzida automaticamente e pode conter erros.",
           "original": "Ela é exibida no idioma original ({language})."},
    "it": {"missing": "Questa pagina non è ancora stata tradotta.", "stale": "L'originale è cambiato dopo questa traduzione.",
           "machine": "Questa pagina è stata tradotta automaticamente e può contenere errori.",
           "original": "Viene mostrata nella lingua originale ({language})."},
    "zh": {"missing": "此页面尚未翻译。", "stale": "自此翻译以来，原文已更改。", "machine": "此页面为机器翻译，可能包含错误。",
           "original": "以下显示原文（{language}）。"},
    "ja": {"missing": "このページはまだ翻訳されていません。", "stale": "この翻訳の後に原文が変更されました。",
           "machine": "このページは機械翻訳されており、誤りを含む可能性があります。", "original": "原文（{language}）で表示しています。"},
    "ru": {"missing": "Эта страница ещё не переведена.", "stale": "Оригинал изменился после этого перевода.",
           "machine": "Эта страница переведена автоматически и может содержать ошибки.",
           "original": "Она показана на языке оригинала ({language})."},
    "ar": {"missing": "لم تُترجم هذه الصفحة بعد.", "stale": "تغيّر الأصل منذ هذه الترجمة.",
           "machine": "تُرجمت هذه الصفحة آليًا وقد تحتوي على أخطاء.", "original": "وهي معروضة بلغتها الأصلية ({language})."},
    "he": {"missing": "עמוד זה טרם תורגם.", "stale": "המקור השתנה מאז התרגום הזה.",
           "machine": "עמוד זה תורגם באופן אוטומטי ועלול להכיל שגיאות.", "original": "הוא מוצג בשפת המקור ({language})."},
}
"""The translation notices, in the reader's language (English for a language not listed)."""
LANGUAGE_NAMES = {"en": "English", "es": "Español", "de": "Deutsch", "fr": "Français", "zh": "简体中文",
                  "ja": "日本語", "pt": "Português", "ru": "Русский", "ar": "العربية", "he": "עברית",
                  "fa": "فارسی", "ur": "اردو", "it": "Italiano", "ko": "한국어", "tr": "Türkçe", "uk": "Українська"}


def labels(lang: str, source_lang: str = "en") -> dict[str, str]:
    base = lang.split("-")[0].lower()
    got = {**LABELS["en"], **LABELS.get(base, {}), **notices(lang)}
    got["fallback"] = notice(lang, "missing", source_lang)  # what themes written before the notices show
    return got


def notices(lang: str) -> dict[str, str]:
    return dict(NOTICES.get(lang) or NOTICES.get(lang.split("-")[0].lower()) or NOTICES["en"])


def notice(lang: str, state: str, source_lang: str) -> str:
    """The notice a page of ``lang`` shows for its translation ``state`` ("" for none): missing
    and stale pages say which language the text is shown in, by that language's own name."""
    if state not in ("missing", "stale", "machine"):
        return ""
    texts = notices(lang)
    if state == "machine":
        return texts["machine"]
    name = LANGUAGE_NAMES.get(source_lang) or LANGUAGE_NAMES.get(source_lang.split("-")[0], source_lang)
    return f"{texts[state]} {texts['original'].format(language=name)}"


def text_dir(lang: str) -> str:
    return "rtl" if lang.split("-")[0] in RTL_LANGUAGES else "ltr"


def theme_dirs(override: Path | None) -> list[Path]:
    return [d for d in (override, DEFAULT_DIR) if d is not None and d.is_dir()]


def environment(override: Path | None, bytecode_dir: Path | None = None) -> jinja2.Environment:
    """With ``bytecode_dir``, compiled templates are kept there (keyed by their source's checksum):
    compiling ``page.html`` costs a one-page rebuild by a new process more than templating the page."""
    loader = jinja2.FileSystemLoader([str(d) for d in theme_dirs(override)])
    cache = None
    if bytecode_dir is not None:
        bytecode_dir.mkdir(parents=True, exist_ok=True)
        cache = jinja2.FileSystemBytecodeCache(str(bytecode_dir))
    return jinja2.Environment(loader=loader, autoescape=jinja2.select_autoescape(["html", "xml"]),
                              keep_trailing_newline=True, auto_reload=False, bytecode_cache=cache)


def theme_assets(override: Path | None) -> dict[str, Path]:
    """``assets/...`` files, the override winning per file."""
    found: dict[str, Path] = {}
    for d in reversed(theme_dirs(override)):
        base = d / "assets"
        if base.is_dir():
            for p in sorted(base.rglob("*")):
                if p.is_file() and not p.name.startswith("."):
                    found["assets/" + p.relative_to(base).as_posix()] = p
    return found


def stat_sig(path: Path) -> list[Any]:
    """A file's identity for "unchanged since last time" (path, size, mtime, ctime, inode)."""
    st = path.stat()
    return [str(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def fingerprint(override: Path | None, memo: Path | None = None) -> str:
    """Changes when any template or theme asset changes, so every page is re-assembled. With
    ``memo``, the hash is kept beside the files' stats and read again while they are unchanged."""
    files = [(d, p) for d in theme_dirs(override) for p in sorted(d.rglob("*")) if p.is_file()]
    sigs = [stat_sig(p) for _, p in files]
    if memo is not None:
        try:
            kept = json.loads(memo.read_text(encoding="utf-8"))
            if kept.get("sigs") == sigs:
                return str(kept["hash"])
        except (OSError, ValueError, AttributeError, KeyError):
            pass
    h = hashlib.sha256()
    for d, p in files:
        h.update(p.relative_to(d).as_posix().encode())
        h.update(p.read_bytes())
    digest = h.hexdigest()
    if memo is not None:
        with contextlib.suppress(OSError):
            atomic_write(memo, json.dumps({"sigs": sigs, "hash": digest}).encode())
    return digest


def nav_html(tree: list[Node], lang: str, url_of: dict[str, str]) -> str:
    """Nav as nested lists; hrefs are ``@@ROOT@@<lang>/<url>`` until :func:`place_nav`."""
    parts: list[str] = []

    def walk(nodes: list[Node]) -> None:
        parts.append("<ul>")
        for node in nodes:
            title = html.escape(node["title"] or "")
            if node["children"]:
                parts.append(f'<li class="nav-section"><details><summary>{title}</summary>')
                walk(node["children"])
                parts.append("</details></li>")
            elif node["src"]:
                parts.append(f'<li><a href="{ROOT}{lang}/{url_of[node["src"]]}">{title}</a></li>')
            elif node["href"]:
                parts.append(f'<li><a href="{html.escape(node["href"])}" rel="external">{title}</a></li>')
        parts.append("</ul>")

    walk(tree)
    return "".join(parts)


def place_nav(nav: str, root: str, current: str) -> str:
    """Mark the current page and turn placeholder hrefs into relative ones for this page."""
    marked = nav.replace(f'<a href="{ROOT}{current}"', f'<a aria-current="page" href="{ROOT}{current}"', 1)
    return marked.replace(ROOT, root)


def root_prefix(file: str) -> str:
    """Relative path from an output file (site-root relative) back to the site root."""
    return "../" * file.count("/")


def render_page(env: jinja2.Environment, ctx: dict[str, Any]) -> str:
    return env.get_template("page.html").render(**ctx)


def render_named(env: jinja2.Environment, name: str, ctx: dict[str, Any]) -> str:
    return env.get_template(name).render(**ctx)


def mkdocs_extras(mk: MkDocsSite | None, lang: str, root: str, default_lang: str, mermaid: bool) -> dict[str, Any]:
    """Template values from mkdocs.yml: ``extra_css``/``extra_javascript`` links (docs-dir paths,
    published under ``<lang>/``), ``theme.language`` as the default language's ``<html lang>``,
    and whether this page loads the vendored mermaid build (only pages with a diagram do)."""
    def link(path: str) -> str:
        return path if is_external(path) or path.startswith("/") else f"{root}{lang}/{path.lstrip('./')}"

    return {
        "extra_css": [link(p) for p in mk.extra_css] if mk else [],
        "extra_javascript": [link(p) for p in mk.extra_javascript] if mk else [],
        "html_lang": mk.theme_language if mk and lang == default_lang else None,
        "mermaid": mermaid,
    }
