"""The ``linkcheck`` stage: check the built site from disk, external links as configured.

Internal links and anchors are read from the files the render stage wrote (no HTTP server, so
the check is as fast as the disk and cannot be flaky). External links go through the same
checker as the ``linkcheck`` command, with a between-builds cache so a rebuild re-fetches only
what changed or failed. Findings name the source page when the render stage says which one it
was, and the CSV report is LinkChecker's format with one row per broken occurrence.
"""

from __future__ import annotations

import asyncio
import difflib
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from stages.base import Cancelled, Finding, Severity, StageContext, StageError, StageResult
from stages.linkcheck import checker, files, output, scope
from stages.linkcheck import pages as page_cache
from stages.linkcheck.cache import ResultCache
from stages.linkcheck.model import CheckConfig, Row
from stages.linkcheck.options import Options

REPORT = "reports/linkcheck.csv"
_POOL_MIN_PAGES = 24
"""Fewer changed pages than this are parsed inline: a pool round trip costs more."""
_POOL_CHUNK = 16


def check_config(options: Options) -> CheckConfig:
    return CheckConfig(
        check_extern=options.external != "off", robots=options.robots,
        concurrency=options.concurrency, per_host=options.per_host,
        politeness_delay=options.politeness_delay, timeout=options.request_timeout,
        retries=options.retries, max_retry_after=options.max_retry_after, max_urls=options.max_urls,
        max_page_bytes=int(options.max_page_mb * 1024 * 1024), ignore=tuple(options.ignore),
        no_follow=tuple(options.no_follow), user_agent=options.user_agent,
        check_anchors=options.check_anchors, cache_ttl=options.cache_ttl,
    )


def _pages(ctx: StageContext[Options], site: files.SiteRoot) -> tuple[list[Path], dict[str, str]]:
    """Pages to start from, and ``built file -> source file`` where the render stage said."""
    sources: dict[str, str] = {}
    render = ctx.previous.get("render_html")
    languages = render.outputs.get("languages", {}) if render is not None else {}
    for info in languages.values() if isinstance(languages, dict) else ():
        for page in info.get("pages", []) if isinstance(info, dict) else ():
            if isinstance(page, dict) and page.get("file"):
                sources[str(page["file"])] = str(page.get("src") or page["file"])
    prefix = f"{ctx.language}/" if ctx.language else ""
    pages = [p for p in files.html_files(site.root)
             if not (rel := site.rel_of(p)).startswith("pdf/")
             and (not prefix or rel.startswith(prefix) or "/" not in rel)]
    return pages, sources


_ANCHORS = re.compile(r"^(?P<head>Anchor `(?P<name>[^']*)'.*? Available anchors: )(?P<list>.*)\.$", re.S)
BRIEF_ANCHORS = 8


def _plain(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def brief(message: str) -> str:
    """A missing-anchor message for a person: the anchors closest to the one asked for, then a
    few more and how many are left. The CSV keeps LinkChecker's full list; a finding shown in the
    build's output and on the dashboard listed all 700 anchors of a changelog page."""
    m = _ANCHORS.match(message)
    names = m.group("list").split(", ") if m else []
    if m is None or len(names) <= BRIEF_ANCHORS:
        return message
    target = _plain(m.group("name"))

    def score(name: str) -> tuple[int, float]:  # a shared start first (`9.7.0' ~ `970-november-…'), then likeness
        plain = _plain(name)
        return len(os.path.commonprefix([plain, target])), difflib.SequenceMatcher(None, plain, target).ratio()

    close = [n for n in sorted(names, key=score, reverse=True)[:3]
             if score(n)[0] >= min(3, len(target)) or score(n)[1] >= 0.6]
    shown = [*close, *(n for n in names if n not in close)][:BRIEF_ANCHORS]
    return f"{m.group('head')}{', '.join(shown)} and {len(names) - len(shown)} more."


def _finding(row: Row, options: Options, site: files.SiteRoot, sources: dict[str, str],
             languages: list[str]) -> Finding | None:
    if row.outcome.valid and not row.outcome.warnings and not row.extra_warnings:
        return None  # most links of a site: decided without building the warnings list
    strict: Severity = "error" if options.fail_on_broken else "warning"

    def make(rule: str, severity: Severity, message: str) -> Finding:
        # only for the few rows that become findings: most of a site's links are fine
        page = site.built_page(row.link.parent)
        language = page.split("/", 1)[0] if page.split("/", 1)[0] in languages else None
        where = f" (built page {page}, line {row.link.line})" if row.link.line else ""
        source = sources.get(page, page)
        return Finding(file=source, line=row.link.line, column=row.link.column, rule=rule,
                       severity=severity, message=brief(message) + where, url=row.link.urlname,
                       language=language)

    if row.extern and not row.outcome.syntax:
        if not row.valid:
            return make("external-broken", "error" if options.external == "fail" else "warning",
                        f"{row.link.urlname}: {row.outcome.result}")
        if row.warnings:
            return make("external-warning", "info", "; ".join(m for _, m in row.warnings))
        return None
    if not row.valid:
        return make("broken-link", strict, f"{row.link.urlname}: {row.outcome.result}")
    for tag, message in row.warnings:
        if tag == "url-anchor-not-found":
            return make("missing-anchor", strict, message)
    if row.warnings:
        return make("link-warning", "warning", "; ".join(m for _, m in row.warnings))
    return None


def _write_report(ctx: StageContext[Options], report: checker.Report) -> None:
    target = ctx.workspace / REPORT
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".csv.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        output.write_csv(report, handle, verbose=False, warnings=True, every=True)
    os.replace(tmp, target)


async def run(ctx: StageContext[Options]) -> StageResult:
    options = ctx.options
    if not ctx.out.is_dir():
        raise StageError(f"no built site at {ctx.out}; did render_html run?", code="site_missing")
    # the base the pages were built for (a Hugo baseURL or mkdocs site_url), so root-absolute
    # links resolve inside the site as they will when it is served there
    render = ctx.previous.get("render_html")
    base_url = (render.outputs.get("base_url") if render is not None else None) or ctx.site.base_url
    site = files.SiteRoot.create(ctx.out, base_url)
    pages, sources = _pages(ctx, site)
    if not pages:
        raise StageError(f"the built site at {ctx.out} has no HTML pages", code="site_empty")
    ctx.raise_if_cancelled()

    def progress(checked: int, known: int) -> None:
        ctx.progress(100.0 * checked / max(known, 1), f"{checked}/{known} URLs checked")

    config = check_config(options)
    config = replace(config, ignore=(*config.ignore, *scope.other_languages(ctx, site.base_url),
                                     *scope.unbuilt_languages(ctx.out, site.base_url)))
    cache = ResultCache(ctx.cache_dir / "linkcheck", options.cache_ttl)
    parsed = page_cache.PageCache(ctx.cache_dir / "linkcheck", f"pages-{ctx.language or 'all'}")
    ahead = await _read_and_parse(ctx, parsed, site, pages, config.max_page_bytes)
    engine = checker.Checker(config, site=site, cache=cache, progress=progress,
                             should_cancel=ctx.should_cancel, pages=parsed, ahead=ahead)
    try:
        report = await engine.run([site.page_url(p) for p in pages])
    except checker.CheckCancelled as exc:
        raise Cancelled(f"job {ctx.job_id}: {exc}") from None
    parsed.save()
    # Pages are read concurrently, so the crawl's order varies from run to run; report by page
    # (each page's links stay in document order) so two checks of one site read the same.
    report.rows.sort(key=lambda row: row.link.parent)
    _write_report(ctx, report)
    languages = list(ctx.site.languages)
    findings = [f for row in report.rows
                if (f := _finding(row, options, site, sources, languages)) is not None]
    if report.stats.truncated:
        findings.append(Finding(file=".", rule="max-urls", severity="warning",
                                message=report.stats.notes[-1]))
    result = _result(report, findings, options)
    result.counts["pages_parsed"] = parsed.parsed
    result.counts["reused"] = parsed.reused
    return result


async def _read_and_parse(ctx: StageContext[Options], cache: page_cache.PageCache, site: files.SiteRoot,
                          pages: list[Path], max_bytes: int) -> dict[Path, page_cache.Ahead]:
    """Read and hash every page once, before the crawl (which takes bytes, size and hash from
    here), and parse the pages the cache does not know in the process pool when there are enough
    of them to pay for it (a cold check of a big site); with few changes the crawl parses them
    inline as it meets them. The pool also resolves each page's links against the URL the crawl
    starts it from, so the crawl in the main process only schedules them (a page met at another
    URL is joined there, as before)."""
    ahead = await asyncio.to_thread(page_cache.read_ahead, pages, max_bytes)
    if ctx.executor is None:
        return ahead
    missing: dict[str, tuple[bytes, str]] = {}
    for path, a in ahead.items():
        if a.key not in cache and a.key not in missing:
            missing[a.key] = (a.read.body[:max_bytes], site.page_url(path))
    if len(missing) < _POOL_MIN_PAGES:
        return ahead
    keys = list(missing)
    chunks = [keys[i:i + _POOL_CHUNK] for i in range(0, len(keys), _POOL_CHUNK)]
    results = await asyncio.gather(*(ctx.in_pool(page_cache.parse_and_join, [missing[k] for k in chunk])
                                     for chunk in chunks))
    for chunk, done in zip(chunks, results, strict=True):
        for key, (entry, absolutes) in zip(chunk, done, strict=True):
            cache.add(key, entry)
            cache.remember(key, page_cache.where(missing[key][1], entry[2]), absolutes)
    return ahead


def _result(report: checker.Report, findings: list[Finding], options: Options) -> StageResult:
    broken = [f for f in findings if f.rule in ("broken-link", "missing-anchor")]
    external_broken = [f for f in findings if f.rule == "external-broken"]
    counts = {
        "urls": report.stats.urls_known,
        "checked": report.stats.urls_checked,
        "broken": len(broken) + len(external_broken),
        "warnings": sum(1 for f in findings if f.severity == "warning"),
        "external": len({r.outcome.url for r in report.rows if r.extern}),
        "missing_anchors": sum(1 for f in broken if f.rule == "missing-anchor"),
        "links": report.stats.links,
    }
    first: list[dict[str, Any]] = [f.to_dict() for f in findings[: options.max_findings_in_status]]
    failing = (broken and options.fail_on_broken) or (external_broken and options.external == "fail")
    summary = (f"{counts['checked']} URLs checked, {len(broken)} broken internal links/anchors, "
               f"{len(external_broken)} broken external links")
    if failing:
        shown = "; ".join(f"{f.file}: {f.message}" for f in (broken + external_broken)[:3])
        return StageResult(status="failed", error_code="broken_links", counts=counts,
                           findings=findings, artifacts={"reports.linkcheck": REPORT},
                           outputs={"first": first}, message=f"{summary}. First: {shown}")
    return StageResult(status="passed", counts=counts, findings=findings,
                       artifacts={"reports.linkcheck": REPORT}, outputs={"first": first},
                       message=summary)
