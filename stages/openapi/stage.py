"""``openapi``: validate each spec, write its reference pages, diff it against what is live.

The stage runs after lint and before render_html. It writes Markdown pages into the job's
workspace (``openapi/pages/``, laid out like the docs folder, the pages under
``[stages.openapi] path``), never into the source, which for ``pressroom build`` is the user's own
folder. render_html adds them to the site (:func:`stages.site.layout.add_generated`) and renders
them with the prose's engine, theme, search and incremental cache. Beside them goes
``_spec/<name>.json``, the bundled spec: it is published with the site, which is how the next
build finds the spec of the live release to compare with. Outputs: ``specs``, ``breaking``,
``non_breaking``, ``summary``, ``changed``, ``auto_publish`` (read by the deploy stage's promotion
decision), ``search`` (one entry per operation), ``generated_dir`` and ``nav`` (read by render_html).
"""

from __future__ import annotations

import asyncio
import json
import posixpath
import shutil
from typing import Any

from stages.base import Finding, StageContext, StageError, StageResult
from stages.openapi import breaking, pages, report
from stages.openapi.load import bundle
from stages.openapi.options import Options
from stages.openapi.validate import validate
from stages.site.layout import SiteLayout, discover

SPEC_DIR = "_spec"
GENERATED = "openapi/pages"
"""Where, inside the job's workspace, the generated pages go (laid out like the docs folder)."""


def _folder(opts: Options) -> str:
    folder = posixpath.normpath(opts.path.strip("/"))
    if folder in (".", "") or folder.startswith(".."):
        raise StageError(f"[stages.openapi] path: {opts.path!r} must be a folder inside the docs, e.g. 'api/'",
                         code="config_invalid")
    return folder


def _name(spec: str) -> str:
    return pages.slug(posixpath.splitext(posixpath.basename(spec))[0])


def _published(ctx: StageContext[Options], folder: str, name: str) -> dict[str, Any] | None:
    """The bundled spec inside the live release of ``compare_target``, or None before the first publish."""
    compare = ctx.options.compare_target
    current = ctx.target_roots.get(compare, ctx.sites_dir / compare) / "current"
    for candidate in sorted(current.glob(f"*/{folder}/{SPEC_DIR}/{name}.json")) + [current / folder / SPEC_DIR / f"{name}.json"]:
        try:
            data = json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        return data if isinstance(data, dict) else None
    return None


def _nav(layout: SiteLayout, opts: Options, folder: str, entries: list[tuple[str, str, list[str]]]) -> list[Any] | None:
    """The site's nav with the reference in it: where an entry names the spec, else appended.

    None for a site whose nav comes from its folders: the generated pages join it by themselves.
    """
    if layout.nav_config is None or layout.nav_origin == "folders":
        return None
    docs = layout.rel(layout.trees[layout.default_language].docs_dir) or "."
    by_spec = {spec: (title, srcs) for spec, title, srcs in entries}

    def names_spec(value: Any) -> str | None:
        if not isinstance(value, str):
            return None
        value = posixpath.normpath(value.strip("/"))
        return next((s for s in by_spec if value in (posixpath.normpath(s), posixpath.relpath(s, docs))), None)

    placed: set[str] = set()

    def visit(items: list[Any]) -> list[Any]:
        out: list[Any] = []
        for item in items:
            title, value = next(iter(item.items())) if isinstance(item, dict) and len(item) == 1 else (None, item)
            if isinstance(value, list):
                out.append({title: visit(value)})
                continue
            spec = names_spec(value)
            if spec is None:
                out.append(item)
                continue
            t, srcs = by_spec[spec]
            out.append({str(title or t): [posixpath.join(folder, s) for s in srcs]})
            placed.add(spec)
        return out

    nav = visit(list(layout.nav_config))
    for spec, title, srcs in entries:
        if spec not in placed:
            nav.append({opts.nav_title if len(entries) == 1 else title: [posixpath.join(folder, s) for s in srcs]})
    return nav


def _work(ctx: StageContext[Options]) -> StageResult:
    opts = ctx.options
    folder = _folder(opts)
    layout = discover(ctx.source, ctx.site, None)
    findings: list[Finding] = []
    loaded: list[tuple[str, str, dict[str, Any]]] = []
    for spec in opts.specs:
        bundled, problems = bundle(ctx.source, spec)
        findings += problems
        if bundled is None:
            continue
        findings += validate(bundled)
        loaded.append((spec, _name(spec), bundled.doc))
    if any(f.severity == "error" for f in findings):
        return StageResult(status="failed", error_code="openapi_invalid", findings=findings,
                           counts={"specs": len(opts.specs), "errors": len(findings)},
                           message=f"{len(findings)} problem(s) in the OpenAPI spec(s); the first: "
                                   f"{findings[0].file}: {findings[0].message}")
    generated = ctx.workspace / GENERATED
    if generated.exists():
        shutil.rmtree(generated)
    target = generated / folder
    diff = breaking.Diff()
    changed = False
    search: list[dict[str, str]] = []
    specs_out: list[dict[str, Any]] = []
    nav_entries: list[tuple[str, str, list[str]]] = []
    counts = {"specs": len(loaded), "operations": 0, "schemas": 0, "pages": 0}
    for spec, name, doc in loaded:
        prefix = name if len(loaded) > 1 else ""
        ref = pages.generate(doc, prefix)
        for rel, text in ref.pages.items():
            path = target / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        spec_file = target / SPEC_DIR / f"{name}.json"
        spec_file.parent.mkdir(parents=True, exist_ok=True)
        spec_file.write_text(json.dumps(doc, sort_keys=True, ensure_ascii=False), encoding="utf-8")
        old = _published(ctx, folder, name)
        d = breaking.compare(old, doc)
        changed = changed or old != json.loads(spec_file.read_text(encoding="utf-8"))
        diff.breaking += d.breaking
        diff.non_breaking += d.non_breaking
        search += [{**e, "src": posixpath.join(folder, e["src"])} for e in ref.search]
        title = str((doc.get("info") or {}).get("title") or name)
        specs_out.append({"spec": spec, "title": title, "version": str((doc.get("info") or {}).get("version", "")),
                          "operations": ref.operations, "schemas": ref.schemas, "published": old is not None,
                          "breaking": len(d.breaking), "non_breaking": len(d.non_breaking)})
        nav_entries.append((spec, title, sorted(ref.pages, key=lambda s: (not s.endswith("index.md"), s))))
        counts["operations"] += ref.operations
        counts["schemas"] += ref.schemas
        counts["pages"] += len(ref.pages)
    nav = _nav(layout, opts, folder, nav_entries)
    reports = ctx.workspace / "reports"
    report.write(reports, specs_out, diff)
    counts["breaking"], counts["non_breaking"] = len(diff.breaking), len(diff.non_breaking)
    outputs = {"specs": specs_out, **diff.to_dict(), "summary": diff.summary(), "changed": changed,
               "auto_publish": opts.auto_publish, "search": search,
               "generated_dir": GENERATED, "nav": nav}
    return StageResult(status="passed", counts=counts, outputs=outputs,
                       artifacts={"reports.openapi": "reports/openapi-diff.json",
                                  "reports.openapi_html": "reports/openapi-diff.html"})


async def run(ctx: StageContext[Options]) -> StageResult:
    if not ctx.options.specs:
        return StageResult(status="skipped", message="no [stages.openapi] specs configured")
    ctx.progress(1, "reading the OpenAPI specs")
    result = await asyncio.to_thread(_work, ctx)
    ctx.progress(100, "API reference written")
    return result
