"""Site-wide checks over every page's analysis: links, anchors, images, nav membership.

These need all pages at once (a link is broken because of *another* page), so they run in the
main process over cached and fresh analyses alike; they are cheap dictionary lookups.
"""

from __future__ import annotations

from typing import Any

from stages.site.layout import LanguageTree, SiteLayout
from stages.site.nav import Nav

GENERATED = frozenset({"sitemap.xml", "robots.txt", "404.html", "search_index.json", "search_index.js"})
"""Files every build writes at the root, which pages may link to (``[our sitemap](/sitemap.xml)``)."""

def _f(file: str, line: int | None, rule: str, message: str, lang: str) -> dict[str, Any]:
    return {"file": file, "line": line, "column": None, "rule": rule, "severity": "", "message": message,
            "language": lang}


def site_checks(layout: SiteLayout, lang: str, tree: LanguageTree, analyses: dict[str, dict[str, Any]],
                nav: Nav | None) -> list[dict[str, Any]]:
    """``analyses`` maps each src of this language to the analysis of the file it uses."""
    out: list[dict[str, Any]] = []
    ids = {src: set(a.get("ids", ())) for src, a in analyses.items()}
    in_nav = set(nav.order) if nav is not None else None
    for src, ps in tree.pages.items():
        if ps.fallback or src not in analyses:
            continue  # the default language's lint run reports its own files
        rel = layout.rel(ps.path)
        a = analyses[src]
        for kind, target, frag, line in a.get("links", ()):
            if kind == "anchor":
                if frag not in ids[src]:
                    out.append(_f(rel, line, "missing-anchor", f"link to '#{frag}': no heading or element with that id on this page", lang))
            elif kind == "page":
                if target not in tree.pages:
                    out.append(_f(rel, line, "broken-link", f"link to {target}, which does not exist", lang))
                elif frag and target in ids and frag not in ids[target]:
                    out.append(_f(rel, line, "missing-anchor", f"link to {target}#{frag}: that page has no heading with id '{frag}'", lang))
            elif kind == "asset":
                if target not in tree.assets and target not in tree.pages and not _is_dir(tree, target) \
                        and target not in GENERATED:
                    out.append(_f(rel, line, "broken-link", f"link to {target}, which does not exist", lang))
            elif kind == "outside":
                out.append(_f(rel, line, "broken-link", f"link to {target} leaves the docs folder", lang))
        for _kind, target, _frag, line in a.get("images", ()):
            if target not in tree.assets:
                out.append(_f(rel, line, "missing-image", f"image {target} does not exist", lang))
        hidden = layout.mkdocs is not None and layout.mkdocs.hidden(src)  # mkdocs.yml `not_in_nav`
        if in_nav is not None and src not in in_nav and layout.nav_origin != "folders" and not hidden:
            out.append(_f(rel, 1, "not-in-nav", f"page {src} is not in the nav; readers can only reach it by links", lang))
    return out


def _is_dir(tree: LanguageTree, target: str) -> bool:
    prefix = target.rstrip("/") + "/"
    return any(p.startswith(prefix) for p in tree.pages) or any(p.startswith(prefix) for p in tree.assets)
