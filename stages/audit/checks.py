"""The audit's checks over parsed pages: each returns findings and never raises for one page.

Every check is a plain function of the facts gathered by :mod:`stages.audit.stage`, so a test
can call one on a handful of hand-written pages.
"""

from __future__ import annotations

import fnmatch
import posixpath
import urllib.parse
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from stages.audit.model import AuditFinding, AuditOptions, AuditSeverity
from stages.audit.pages import PageFacts

_DAY = 86400.0


def page_key(page: str) -> str:
    """``/en/install/`` and ``en/install`` -> ``en/install/index.html``: how findings name pages."""
    page = page.strip().lstrip("/")
    if not page or page.endswith("/"):
        return page + "index.html"
    if posixpath.splitext(page)[1]:
        return page
    return page + "/index.html"


def home_pages(pages: Iterable[str]) -> set[str]:
    """The site's home (``index.html``) and each language's (``<lang>/index.html``)."""
    return {p for p in pages if p == "index.html" or (p.count("/") == 1 and p.endswith("/index.html"))}


def important(options: AuditOptions, pages: Iterable[str]) -> set[str]:
    return home_pages(pages) | {page_key(p) for p in options.critical_pages}


def missing_critical(options: AuditOptions, pages: set[str]) -> list[AuditFinding]:
    """A critical page that is not served at all (a 404 on it)."""
    return [AuditFinding(check="page-missing", severity="critical", page=key, subject=key,
                         message=f"critical page {key} is not served (404)")
            for key in sorted({page_key(p) for p in options.critical_pages} - pages)]


def images(facts: dict[str, PageFacts], resolve: dict[tuple[str, str], Path | None],
           options: AuditOptions) -> list[AuditFinding]:
    """Broken and oversize images, and images without ``alt`` (``alt=""`` is decorative: fine)."""
    out: list[AuditFinding] = []
    limit = options.max_image_kb * 1024
    for page, f in facts.items():
        for src, alt in f.images:
            if alt is None:
                out.append(AuditFinding(check="image-alt", severity="low", page=page, subject=src, url=src,
                                        message=f"image {src} has no alt text"))
            if (page, src) not in resolve:
                continue  # external or data: URL, left to the link checker
            path = resolve[(page, src)]
            if path is None:
                out.append(AuditFinding(check="image-broken", severity="high", page=page, subject=src, url=src,
                                        message=f"image {src} is missing"))
            elif (size := path.stat().st_size) > limit:
                out.append(AuditFinding(check="image-oversize", severity="low", page=page, subject=src, url=src,
                                        message=f"image {src} is {size // 1024} KB (limit {options.max_image_kb} KB)"))
    return out


def orphans(facts: dict[str, PageFacts], inbound: dict[str, set[str]]) -> list[AuditFinding]:
    """Pages no other page links to (the nav is in every page, so nav pages are linked)."""
    homes = home_pages(facts)
    return [AuditFinding(check="orphan-page", severity="medium", page=page, subject=page,
                         message="no page links here and it is in no nav")
            for page, f in sorted(facts.items())
            if page not in homes and not f.redirect and page != "404.html" and not (inbound.get(page, set()) - {page})]


def unreferenced(files: Iterable[str], referenced: set[str], options: AuditOptions) -> list[AuditFinding]:
    out = []
    for rel in sorted(files):
        name = posixpath.basename(rel)
        if rel.endswith((".html", ".htm")) or rel.startswith("pdf/") or any(p.startswith(".") for p in rel.split("/")):
            continue
        if any(fnmatch.fnmatch(name, g) or fnmatch.fnmatch(rel, g) for g in options.ignore_assets):
            continue
        if rel not in referenced:
            out.append(AuditFinding(check="unreferenced-asset", severity="low", page=rel, subject=rel,
                                    message=f"no page or stylesheet references {rel}"))
    return out


def stale(facts: dict[str, PageFacts], history: dict[str, float], options: AuditOptions,
          now: float, commits: dict[str, float] | None = None) -> list[AuditFinding]:
    """Pages whose last change is older than ``stale_after_days``: the last commit of the page's
    source (published with the release when it was built from git history), else the page's own
    date (front matter ``date``/``lastmod`` as rendered), else the release history. A commit is
    preferred because a date in front matter is only as fresh as the writer remembered to make it."""
    out = []
    cutoff = now - options.stale_after_days * _DAY
    commits = commits or {}
    for page, f in sorted(facts.items()):
        if f.redirect or page == "404.html":
            continue
        if page in commits:
            changed = commits[page]
            source = "git history"
        elif f.date:
            try:
                changed = datetime.fromisoformat(f.date).replace(tzinfo=UTC).timestamp()
            except ValueError:
                continue
            source = f"its date {f.date}"
        elif page in history:
            changed = history[page]
            source = "the release history"
        else:
            continue
        if changed < cutoff:
            days = int((now - changed) // _DAY)
            out.append(AuditFinding(check="stale-page", severity="low", page=page, subject=page,
                                    message=f"last changed {days} days ago (from {source}); "
                                            f"the limit is {options.stale_after_days}"))
    return out


def metadata(facts: dict[str, PageFacts]) -> list[AuditFinding]:
    out: list[AuditFinding] = []
    by_title: dict[tuple[str, str], list[str]] = defaultdict(list)
    for page, f in sorted(facts.items()):
        if f.redirect or page == "404.html":
            continue

        def add(check: str, severity: AuditSeverity, message: str, subject: str = "", page: str = page) -> None:
            out.append(AuditFinding(check=check, severity=severity, page=page, subject=subject, message=message))

        if not f.title:
            add("title-missing", "medium", "the page has no <title>")
        else:
            by_title[(page.split("/", 1)[0] if "/" in page else "", f.title)].append(page)
        if not f.description:
            add("description-missing", "low", "no <meta name=description>")
        if not f.lang:
            add("lang-missing", "low", "<html> has no lang attribute")
        if not f.canonical:
            add("canonical-missing", "low", 'no <link rel="canonical">')
    for (_, title), group in by_title.items():
        if len(group) > 1:
            for page in group:
                others = ", ".join(p for p in group if p != page)
                out.append(AuditFinding(check="title-duplicate", severity="medium", page=page, subject=title,
                                        message=f"title {title!r} is also used by {others}"))
    return out


def headings(facts: dict[str, PageFacts]) -> list[AuditFinding]:
    """A heading that skips a level (h2 then h4), reported once per page at the first skip."""
    out = []
    for page, f in sorted(facts.items()):
        previous = 0
        for level in f.headings:
            if previous and level > previous + 1:
                out.append(AuditFinding(check="heading-order", severity="low", page=page, subject=f"h{previous}>h{level}",
                                        message=f"h{level} follows h{previous} (a level is skipped)"))
                break
            previous = level
    return out


def pdfs(pages: Iterable[str], files: set[str]) -> list[AuditFinding]:
    """Each language (a top-level folder with a home page) should have ``pdf/<lang>.pdf``."""
    languages = sorted(p.split("/", 1)[0] for p in home_pages(pages) if "/" in p)
    return [AuditFinding(check="pdf-missing", severity="medium", page=f"{lang}/index.html", subject=lang,
                         message=f"PDFs are configured but pdf/{lang}.pdf is missing")
            for lang in languages if f"pdf/{lang}.pdf" not in files]


def link_target(page: str, href: str) -> str:
    """The site-relative file path a relative link from ``page`` names (no fragment, no query)."""
    path = urllib.parse.unquote(urllib.parse.urlsplit(href).path)
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(page), path)) if not path.startswith("/") else path.lstrip("/")
    return joined
