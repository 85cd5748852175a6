"""Files that describe the site rather than one page: search index, sitemaps, robots, 404, root."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2

from stages.render_html import theme
from stages.site.options import SiteOptions


def escape(text: str) -> str:
    """XML text escaping (``xml.sax.saxutils.escape`` imports urllib.request: 4 ms per process)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def search_index(lang: str, pages: list[dict[str, Any]]) -> bytes:
    """``{"lang", "pages": [{url, title, section, text}]}``; urls relative to the site root."""
    data = {"lang": lang, "pages": pages}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def search_script(lang: str, index: bytes) -> bytes:
    """The search index as a script that registers itself on ``window.pressroomSearch[lang]``,
    loaded with a ``<script>`` element, which works from ``file://`` where ``fetch`` does not."""
    return (b"(window.pressroomSearch=window.pressroomSearch||{})[" + json.dumps(lang).encode() + b"]="
            + index + b";\n")


LASTMOD = ".pressroom/lastmod.json"
"""Per language: ``{"source": "git", "pages": {site-relative URL: ISO time}}``, read by the audit.
A dot folder, so the search index, the sitemap and the audit's asset check pass it by."""


def lastmod_file(changed: dict[str, str]) -> bytes:
    return json.dumps({"source": "git", "pages": changed}, sort_keys=True, indent=0).encode()


def sitemap(base_url: str, urls: list[str], lastmod: dict[str, str] | None = None) -> bytes:
    """``lastmod`` (URL -> last commit time) adds ``<lastmod>``, which crawlers use to recrawl."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    for u in urls:
        when = (lastmod or {}).get(u)
        extra = f"<lastmod>{when}</lastmod>" if when else ""
        lines.append(f"<url><loc>{escape(base_url + u)}</loc>{extra}</url>")
    lines.append("</urlset>\n")
    return "\n".join(lines).encode()


def sitemap_index(base_url: str, languages: list[str]) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    lines += [f"<sitemap><loc>{escape(base_url + lang)}/sitemap.xml</loc></sitemap>" for lang in languages]
    lines.append("</sitemapindex>\n")
    return "\n".join(lines).encode()


def robots(base_url: str) -> bytes:
    return f"User-agent: *\nAllow: /\nSitemap: {base_url}sitemap.xml\n".encode()


def root_files(env: jinja2.Environment, site: SiteOptions, title: str, base_url: str, generator: str,
               languages: list[str] | None = None) -> dict[str, bytes]:
    """``index.html`` (to the default language), ``404.html``, ``robots.txt``, ``sitemap.xml``;
    ``languages`` (the default first) when the site names them itself (a Hugo config)."""
    codes = languages or list(dict.fromkeys([site.default_language, *site.languages]))
    default = codes[0]
    langs = [{"code": c, "label": theme.LANGUAGE_NAMES.get(c, c)} for c in codes]
    base_path = urlsplit(base_url).path or "/"
    common = {"site_title": title, "generator": generator, "lang": default, "dir": theme.text_dir(default),
              "t": theme.labels(default), "languages": langs, "base_path": base_path}
    index = theme.render_named(env, "redirect.html", {**common, "target": f"{default}/", "canonical": f"{base_url}{default}/"})
    missing = theme.render_named(env, "404.html", common)
    return {
        "index.html": index.encode(),
        "404.html": missing.encode(),
        "robots.txt": robots(base_url),
        "sitemap.xml": sitemap_index(base_url, [c["code"] for c in langs]),
    }


def lastmod(commits: dict[str, float], source: Path, paths: dict[str, Path], urls: dict[str, str]) -> dict[str, str]:
    """Site-relative page URL -> its source file's last commit (UTC, ISO 8601), where git knows it."""
    out: dict[str, str] = {}
    if not commits:
        return out
    folders: dict[Path, Path] = {}  # a site's pages live in a few folders: resolve each once
    for s, path in paths.items():
        if path.is_symlink():
            real = path.resolve()
        else:
            if path.parent not in folders:
                folders[path.parent] = path.parent.resolve()
            real = folders[path.parent] / path.name
        try:
            rel = real.relative_to(source).as_posix()
        except ValueError:
            continue  # generated (openapi) or outside the source: no commit of its own
        if (when := commits.get(rel)) is not None:
            out[urls[s]] = datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return out
