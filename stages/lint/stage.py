"""``lint``: markdownlint rules (rumdl) plus pressroom's own site checks.

Only files changed since the last *passing* lint of the same site are parsed and run through
rumdl; everything is re-linted when the nav, the config or a markdownlint config file changes.
Findings of unchanged files come from the cache, so every run reports the whole site.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import json
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from stages.base import Finding, StageContext, StageError, StageResult
from stages.lint import checks, rumdl
from stages.lint.options import DEFAULT_SEVERITY, Options
from stages.markdown import analyze, engine
from stages.site import changes
from stages.site.changes import DepHashes, atomic_write
from stages.site.layout import SiteLayout, discover
from stages.site.nav import build_nav

LINT_SALT = "pressroom-lint-3"
MARKDOWNLINT_CONFIGS = (".markdownlint.json", ".markdownlint.jsonc", ".markdownlint.yaml", ".markdownlint.yml",
                        ".rumdl.toml", "rumdl.toml")


def _fingerprint(ctx: StageContext[Options], layout: SiteLayout, opts: Options) -> str:
    h = hashlib.sha256(LINT_SALT.encode())
    h.update(engine.code_fingerprint().encode())  # the parser's code: an upgrade re-reads every page
    h.update((layout.hugo.cache_key() if layout.hugo else "").encode())  # Hugo's params (what `param` finds), URL case, ids
    h.update(layout.nav_fingerprint().encode())
    h.update(repr(layout.mkdocs.markdown if layout.mkdocs else None).encode())  # markdown_extensions change parsing
    h.update(opts.model_dump_json().encode())
    h.update(ctx.site.model_dump_json().encode())
    for d in {layout.source, *(t.docs_dir for t in layout.trees.values())}:
        for name in MARKDOWNLINT_CONFIGS:
            p = d / name
            if p.is_file():
                h.update(name.encode() + p.read_bytes())
    return h.hexdigest()


class _State:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
            return data
        except (OSError, ValueError):
            return {}

    def save(self, data: dict[str, Any]) -> None:
        atomic_write(self.path, json.dumps(data).encode())


async def run(ctx: StageContext[Options]) -> StageResult:
    opts = ctx.options
    ctx.progress(1, "reading the source tree")
    layout = await asyncio.to_thread(discover, ctx.source, ctx.site, ctx.language)
    units: dict[str, tuple[str, str]] = {}
    for lang, tree in layout.trees.items():
        for src, ps in tree.pages.items():
            if not ps.fallback:
                units.setdefault(layout.rel(ps.path), (lang, src))
    if not units:
        raise StageError("no markdown pages found in the source: nothing to lint", code="empty_site")
    # one state per language built alone: a fanned-out build lints its languages in concurrent
    # jobs, and one shared file kept only the last one's, so every other language re-linted in full
    store = _State(Path(ctx.cache_dir) / "lint" / ctx.site.name / (f"state-{ctx.language}.json" if ctx.language else "state.json"))
    state = store.load()
    fingerprint = _fingerprint(ctx, layout, opts)
    full = not opts.incremental or state.get("fingerprint") != fingerprint
    old: dict[str, Any] = {} if full else state.get("files", {})
    deps = DepHashes(layout.include_root)

    def scan() -> tuple[dict[str, dict[str, Any]], list[str]]:
        entries: dict[str, dict[str, Any]] = {}
        changed: list[str] = []
        for rel in units:
            try:
                h = changes.sha256((layout.source / rel).read_bytes())
            except OSError:
                h = "unreadable"
            prev = old.get(rel)
            if prev and prev["hash"] == h and deps.unchanged(prev["deps"]):
                entries[rel] = prev
            else:
                entries[rel] = {"hash": h}
                changed.append(rel)
        return entries, changed

    entries, changed = await asyncio.to_thread(scan)
    ctx.progress(5, f"linting {len(changed)} of {len(units)} files")
    excluded = {rel for rel in units if any(fnmatch.fnmatch(rel, pat) for pat in opts.exclude)}
    md_files = [r for r in changed if r not in excluded] if opts.markdownlint else []
    cache_dir = Path(ctx.cache_dir) / "lint" / ctx.site.name / "rumdl"
    md_task = asyncio.ensure_future(rumdl.check(layout.source, md_files, opts, cache_dir))
    try:
        fresh = await _analyze(ctx, layout, units, changed)
        md_found = await md_task
    finally:
        md_task.cancel()
    by_file: dict[str, list[dict[str, Any]]] = {r: [] for r in changed}
    for f in md_found:
        by_file.setdefault(f["file"], []).append(f)
    for rel, res in fresh.items():
        meta = res["meta"]
        weight = meta.get("weight", 0)
        entries[rel].update(
            deps=deps.of(res["deps"]),
            analysis={"title": res["title"], "weight": weight if isinstance(weight, int | float) else 0,
                      "ids": res["ids"], "links": res["links"], "images": res["images"]},
            findings=res["findings"] + by_file.get(rel, []),
        )
    ctx.progress(85, "checking links, anchors, images and the nav")
    raw: list[dict[str, Any]] = []
    for rel, e in entries.items():
        if rel not in excluded:
            raw.extend(e["findings"])
    raw.extend(await asyncio.to_thread(_site_checks, layout, entries, excluded))
    findings = _finalize(raw, opts, await asyncio.to_thread(_site_severities, layout))
    return await asyncio.to_thread(_result, ctx, opts, findings, len(units), len(changed), full, store, fingerprint, entries)


async def _analyze(ctx: StageContext[Options], layout: SiteLayout, units: dict[str, tuple[str, str]],
                   changed: list[str]) -> dict[str, dict[str, Any]]:
    jobs = []
    for rel in changed:
        lang, src = units[rel]
        tree = layout.trees[lang]
        ps = tree.pages[src]
        jobs.append(analyze.PageJob(lang=lang, src=src, path=str(ps.path), rel=rel, include_base=str(tree.include_base),
                                    source_root=str(layout.include_root), docs_dir=str(tree.docs_dir),
                                    max_bytes=int(ctx.site.max_page_bytes), **layout.parse_options(ctx.site, lang)))
    def report(done: int, total: int) -> None:
        ctx.progress(5 + 75 * done / total, f"parsed {done}/{total} files")

    return {r["rel"]: r for r in await analyze.analyze_all(ctx, jobs, False, report)}


def _site_checks(layout: SiteLayout, entries: dict[str, dict[str, Any]], excluded: set[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for lang, tree in layout.trees.items():
        analyses = {}
        for src, ps in tree.pages.items():
            e = entries.get(layout.rel(ps.path))
            if e and "analysis" in e:
                analyses[src] = e["analysis"]
        nav = build_nav(layout.nav_config, {s: (a["title"], float(a["weight"])) for s, a in analyses.items()})
        if lang == layout.default_language:
            nav_file = layout.rel(layout.mkdocs_file) if layout.nav_origin == "mkdocs" and layout.mkdocs_file else "config.toml"
            for target, title in nav.missing:
                out.append({"file": nav_file, "line": None, "column": None, "rule": "nav-missing", "severity": "",
                            "message": f"nav entry {title!r} points to {target}, which does not exist", "language": lang})
        found = checks.site_checks(layout, lang, tree, analyses, nav)
        out.extend(f for f in found if f["file"] not in excluded)
    return out


def _site_severities(layout: SiteLayout) -> dict[str, str]:
    """Severities the site's own ``.markdownlint.*`` gives its rules (``"MD001": {"severity": "error"}``).

    rumdl calls most of its findings errors; a markdownlint rule is a matter of style, so unless the
    site says so it is a warning, and a broken site (our integrity checks) is what fails a build.
    """
    found: dict[str, str] = {}
    for d in {layout.source, *(t.docs_dir for t in layout.trees.values())}:
        for name in MARKDOWNLINT_CONFIGS[:4]:
            try:
                text = (d / name).read_text(encoding="utf-8")
                data = yaml.safe_load(text) if name.endswith((".yaml", ".yml")) else json.loads(text)
            except (OSError, ValueError, yaml.YAMLError):
                continue
            for rule, value in (data.items() if isinstance(data, dict) else []):
                sev = value.get("severity") if isinstance(value, dict) else None
                if isinstance(rule, str) and sev in ("error", "warning", "info"):
                    found.setdefault(rule.upper(), sev)
    return found


def _finalize(raw: list[dict[str, Any]], opts: Options, site_severity: dict[str, str] | None = None) -> list[Finding]:
    site_severity = site_severity or {}
    disabled = {r.lower() for r in opts.disable}
    overrides = {k.lower(): v for k, v in opts.severity.items()}
    out: list[Finding] = []
    seen: set[tuple[Any, ...]] = set()
    for f in raw:
        rule = f["rule"]
        if rule.lower() in disabled:
            continue
        if rumdl.RULE_ID.match(rule):
            default = site_severity.get(rule.upper(), "warning")
        else:
            default = DEFAULT_SEVERITY.get(rule) or f.get("severity") or "warning"
        sev = overrides.get(rule.lower()) or default
        if sev not in ("error", "warning", "info"):
            sev = "warning"
        if opts.strict and sev == "warning":
            sev = "error"
        key = (f["file"], f.get("line"), f.get("column"), rule, f["message"])
        if key in seen:
            continue
        seen.add(key)
        out.append(Finding(file=f["file"], line=f.get("line"), column=f.get("column"), rule=rule, severity=cast(Literal["error", "warning", "info"], sev),
                           message=f["message"], language=f.get("language")))
    out.sort(key=lambda x: ({"error": 0, "warning": 1}.get(x.severity, 2), x.file, x.line or 0, x.column or 0, x.rule))
    return out


def _result(ctx: StageContext[Options], opts: Options, findings: list[Finding], files: int, linted: int, full: bool,
            store: _State, fingerprint: str, entries: dict[str, Any]) -> StageResult:
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = sum(1 for f in findings if f.severity == "warning")
    by_rule: dict[str, int] = {}
    for f in findings:
        by_rule[f.rule] = by_rule.get(f.rule, 0) + 1
    failed = (opts.fail_on == "error" and errors > 0) or (opts.fail_on == "warning" and errors + warnings > 0)
    counts = {"files": files, "linted": linted, "findings": len(findings), "errors": errors, "warnings": warnings,
              "info": len(findings) - errors - warnings}
    outputs = {"full": full, "by_rule": dict(sorted(by_rule.items())),
               "first": [f.to_dict() for f in findings[: opts.show_first]]}
    ctx.progress(100, f"{errors} errors, {warnings} warnings in {files} files ({linted} linted)")
    if failed:
        first = findings[0]
        where = f"{first.file}:{first.line}" if first.line else first.file
        return StageResult(status="failed", counts=counts, findings=findings, outputs=outputs, error_code="lint_failed",
                           message=f"lint found {errors} errors and {warnings} warnings (fail_on = {opts.fail_on!r}"
                                   f"{', strict' if opts.strict else ''}); "
                                   f"first: {where} {first.rule} {first.message}")
    store.save({"fingerprint": fingerprint, "files": entries})
    return StageResult(status="passed", counts=counts, findings=findings, outputs=outputs)
