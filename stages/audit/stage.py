"""One audit of one deployed release: crawl it with the link checker, read every page, run the checks.

Links and anchors come from :mod:`stages.linkcheck` in site mode (files read from the release
folder, so the audit sees exactly what is served); external links go through the same checker
with its between-runs cache, per-host limits and ``Retry-After`` handling. Pages are parsed once
with selectolax, in a thread so the daemon's loop keeps serving.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from stages.audit import checks
from stages.audit.model import AuditFinding, AuditOptions, AuditResult, AuditSeverity, Release
from stages.audit.pages import PageFacts, parse
from stages.linkcheck import checker, files
from stages.linkcheck.cache import ResultCache
from stages.linkcheck.model import CheckConfig, Row
from stages.render_html.site_files import LASTMOD

TRANSLATIONS_NOTE = ("translations: not checked yet (translation completion is not tracked by "
                     "this version); the check reports nothing")


def _rel(site: files.SiteRoot, path: Path) -> str:
    return path.resolve().relative_to(site.root).as_posix()


def _read_pages(site: files.SiteRoot, paths: list[Path]) -> dict[str, PageFacts]:
    out = {}
    for path in paths:
        try:
            out[_rel(site, path)] = parse(path.read_text("utf-8", errors="replace"))
        except OSError:
            continue
    return out


def _history(site_root: Path, pages: list[str], releases: list[Release]) -> dict[str, float]:
    """Per page, when its bytes last changed: the oldest release of the unbroken run of releases
    (newest first, the live one included) that served the same bytes."""
    ordered = sorted(releases, key=lambda r: r.deployed_at, reverse=True)
    out: dict[str, float] = {}
    for page in pages:
        try:
            live = (site_root / page).read_bytes()
        except OSError:
            continue
        since = None
        for rel in ordered:
            try:
                if (rel.path / page).read_bytes() != live:
                    break
            except OSError:
                break
            since = rel.deployed_at
        if since is not None:
            out[page] = since
    return out


def _commits(site_root: Path) -> dict[str, float]:
    """Per page, its source's last commit time from each language's ``.pressroom/lastmod.json``
    (written by render_html when the build had git history); unreadable files count as absent."""
    out: dict[str, float] = {}
    for path in site_root.glob(f"*/{LASTMOD}"):
        try:
            pages = json.loads(path.read_text("utf-8")).get("pages", {})
            for url, when in pages.items():
                out[checks.page_key(url)] = datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp()
        except (OSError, ValueError, AttributeError, TypeError):
            continue
    return out


def _row_findings(rows: list[Row], site: files.SiteRoot, important: set[str], images: set[tuple[str, str]],
                  options: AuditOptions) -> list[AuditFinding]:
    out: list[AuditFinding] = []
    seen: set[tuple[str, str, str]] = set()
    for row in rows:
        parent, _ = site.resolve(row.link.parent) if row.link.parent else (None, "")
        if parent is None:
            continue
        page = _rel(site, parent)
        if row.extern:
            if not row.valid and "external" in options.checks:
                found = AuditFinding(check="external-broken", severity="medium", page=page, subject=row.requested,
                                     url=row.link.urlname, message=f"{row.link.urlname}: {row.outcome.result}")
            else:
                continue
        elif not row.valid:
            if (page, row.link.urlname) in images or "links" not in options.checks:
                continue
            target = checks.page_key(site.relpath(row.outcome.url))
            severity: AuditSeverity = "critical" if target in important else "high"
            found = AuditFinding(check="broken-link", severity=severity, page=page, subject=target,
                                 url=row.link.urlname, message=f"{row.link.urlname}: {row.outcome.result}")
        elif any(tag == "url-anchor-not-found" for tag, _ in row.extra_warnings) and "anchors" in options.checks:
            message = next(m for tag, m in row.extra_warnings if tag == "url-anchor-not-found")
            subject = f"{checks.page_key(site.relpath(row.outcome.url))}#{row.fragment}"
            found = AuditFinding(check="missing-anchor", severity="medium", page=page, subject=subject,
                                 url=row.link.urlname, message=message)
        else:
            continue
        key = (found.check, found.page, found.subject)
        if key not in seen:
            seen.add(key)
            out.append(found)
    return out


async def run(site_dir: Path, options: AuditOptions, *, now: float, releases: list[Release] | None = None) -> AuditResult:
    """Audit the release in ``site_dir`` (``now`` is the run's clock: stages read no wall clock)."""
    site = files.SiteRoot.create(site_dir, options.base_url)
    html = [p for p in files.html_files(site.root) if not _rel(site, p).startswith("pdf/")]
    every = {_rel(site, p) for p in site.root.rglob("*") if p.is_file()}
    facts = await asyncio.to_thread(_read_pages, site, html)
    page_urls = {page: site.page_url(site.root / page) for page in facts}

    config = CheckConfig(check_extern=options.check_external, check_anchors=True, per_host=options.per_host,
                         cache_ttl=options.external_cache_ttl if options.check_external else 0.0)
    cache = ResultCache(options.external_cache_dir, config.cache_ttl) if options.check_external else None
    report = await checker.Checker(config, site=site, cache=cache).run(sorted(page_urls.values()))

    referenced: set[str] = set()
    inbound: dict[str, set[str]] = defaultdict(set)
    for row in report.rows:
        if row.extern or not row.valid:
            continue
        path, _ = site.resolve(row.outcome.url)
        parent, _ = site.resolve(row.link.parent) if row.link.parent else (None, "")
        if path is None:
            continue
        referenced.add(_rel(site, path))
        if parent is not None and row.link.level > 0:
            inbound[_rel(site, path)].add(_rel(site, parent))

    resolved: dict[tuple[str, str], Path | None] = {}
    for page, f in facts.items():
        for src, _ in f.images:
            absolute = urllib.parse.urljoin(page_urls[page], src)
            if site.contains(absolute):
                resolved[(page, src)] = site.resolve(absolute)[0]

    important = checks.important(options, facts)
    wanted = set(options.checks)
    findings = checks.missing_critical(options, set(facts)) if "links" in wanted else []
    findings += _row_findings(report.rows, site, important, set(resolved), options)
    if "images" in wanted:
        findings += checks.images(facts, resolved, options)
    if "assets" in wanted:
        findings += checks.unreferenced(every, referenced, options)
    if "orphans" in wanted:
        findings += checks.orphans(facts, inbound)
    if "stale" in wanted:
        commits = await asyncio.to_thread(_commits, site.root)
        undated = [p for p, f in facts.items() if not f.date and p not in commits]
        history = await asyncio.to_thread(_history, site.root, undated, releases or [])
        findings += checks.stale(facts, history, options, now, commits)
    if "metadata" in wanted:
        findings += checks.metadata(facts)
    if "headings" in wanted:
        findings += checks.headings(facts)
    if "pdf" in wanted and options.pdf_expected:
        findings += checks.pdfs(facts, every)
    notes = [TRANSLATIONS_NOTE] if "translations" in wanted else []
    notes += report.stats.notes
    counts = {"pages": len(facts), "files": len(every), "urls": report.stats.urls_checked,
              "links": report.stats.links, "findings": len(findings)}
    return AuditResult(findings=findings, counts=counts, notes=notes)
