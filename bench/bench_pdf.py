"""PDF benchmark: the render_pdf stage against plain WeasyPrint on the FastAPI book.

One run measures, on the English FastAPI corpus (``../shared/corpus/fastapi-docs``):

0. per page (the baseline): each page's HTML as its own WeasyPrint document in nav order, one
   after another, merged with pypdf - what a writer without pressroom would script;
1. raw: the whole book (cover, ``target-counter`` TOC, every page) in ONE WeasyPrint call;
2. stage, cold cache: chapters in parallel child processes, merged with pypdf;
3. stage, one page changed: the same build after editing one page in the middle of the book;
4. two languages (en + es): one stage run rendering both in parallel, against two runs in a row.

The corpus is copied to a temp dir and rendered to HTML there (with the render_html stage when
it is in the tree, else with markdown-it-py here); nothing is written into the repository except
with ``--write``, which replaces the "PDF render" section of docs/benchmarks.md.

    .venv/bin/python bench/bench_pdf.py [--corpus PATH] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import html
import json
import multiprocessing
import os
import platform
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _report  # bench/_report.py, beside this script

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from stages.base import StageContext, StageResult  # noqa: E402
from stages.render_pdf import book as pdfbook  # noqa: E402
from stages.render_pdf import builder, stage  # noqa: E402
from stages.render_pdf.options import Options  # noqa: E402
from stages.site.options import SiteOptions  # noqa: E402

_INCLUDE_RE = re.compile(r"^\{\*\s*(\S+).*?\*\}\s*$", re.MULTILINE)
_HEADING_ID_RE = re.compile(r"^(#{1,6} .*?)\s*\{\s*#([\w-]+)\s*\}\s*$", re.MULTILINE)


def flatten_nav(nav: list[Any], section: tuple[str, ...] = ()) -> list[tuple[str, str | None, tuple[str, ...]]]:
    """mkdocs nav -> [(src, title or None, section path)] in nav order."""
    out: list[tuple[str, str | None, tuple[str, ...]]] = []
    for item in nav:
        if isinstance(item, str):
            out.append((item, None, section))
        elif isinstance(item, dict):
            for title, value in item.items():
                if isinstance(value, str):
                    out.append((value, str(title), section))
                elif isinstance(value, list):
                    out.extend(flatten_nav(value, (*section, str(title))))
    return out


def load_nav(corpus: Path) -> list[Any]:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("", lambda loader, suffix, node: None)
    data = yaml.load((corpus / "docs/en/mkdocs.yml").read_text(), Loader=Loader)
    return list(data["nav"])


def render_markdown_site(corpus: Path, out: Path, languages: list[str]) -> dict[str, Any]:
    """HTML that follows the render_html contract, made with markdown-it-py."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    nav = flatten_nav(load_nav(corpus))
    (out / "assets").mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"site_dir": "out", "languages": {}}
    for lang in languages:
        docs = corpus / "docs" / lang / "docs"
        pages = []
        for src, title, section in nav:
            path = docs / src
            if not path.is_file():
                continue
            text = path.read_text(encoding="utf-8")
            text = _INCLUDE_RE.sub(functools.partial(_include_match, page=path), text)
            text = _HEADING_ID_RE.sub(lambda m: f"{m.group(1)}\n<a id=\"{m.group(2)}\"></a>", text)
            body = md.render(text)
            h1 = re.search(r"<h1>(.*?)</h1>", body)
            page_title = title or (re.sub(r"<[^>]+>", "", h1.group(1)) if h1 else src)
            stem = src[:-3]
            url_path = "" if stem == "index" else (stem[:-5] if stem.endswith("/index") else stem + "/")
            url = f"{lang}/{url_path}"
            file = url + "index.html"
            doc = (
                f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(page_title)}</title></head>'
                f'<body><main id="content">{body}</main></body></html>'
            )
            target = out / file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(doc, encoding="utf-8")
            pages.append({
                "src": src, "file": file, "url": url, "title": page_title,
                "level": len(section) + 1, "section": list(section),
                "hash": hashlib.sha256(doc.encode()).hexdigest(), "fallback": False,
            })
            img_src = docs / "img"
            if img_src.is_dir() and not (out / lang / "img").exists():
                shutil.copytree(img_src, out / lang / "img")
        result["languages"][lang] = {"dir": f"out/{lang}", "pages": pages, "changed": []}
    return result


async def render_with_stage(corpus: Path, tmp: Path, languages: list[str]) -> tuple[Path, dict[str, Any]] | None:
    """HTML from the real render_html stage (when it is in the tree), on a copy of the corpus."""
    try:
        from stages.render_html import stage as html_stage
        from stages.render_html.options import Options as HtmlOptions
    except ImportError:
        return None
    src = tmp / "corpus"
    shutil.copytree(corpus, src)
    site = SiteOptions.model_validate(
        {"name": "fastapi", "title": "FastAPI", "source": str(src), "languages": languages, "layout": "mkdocs"})
    ws = tmp / "ws"
    ctx = StageContext(job_id="bench", workspace=ws, source=src, out=ws / "out", cache_dir=tmp / "cache-html",
                       sites_dir=tmp / "sites", site=site, options=HtmlOptions())
    result = await html_stage.run(ctx)
    if result.status != "passed":
        return None
    return ws, result.outputs


def _include_match(match: re.Match[str], page: Path) -> str:
    return _include(match.group(1), page)


def _include(rel: str, page: Path) -> str:
    """``{* ../../docs_src/x.py *}`` includes a source file as a fenced code block."""
    target = (page.parent / rel).resolve()
    for base in [page.parent, *page.parents]:
        candidate = (base / rel).resolve()
        if candidate.is_file():
            target = candidate
            break
    try:
        code = target.read_text(encoding="utf-8")
    except OSError:
        return f"`{rel}`"
    return f"```python\n{code}\n```"


def raw_book_html(plan: builder.Plan, title: str) -> str:
    """The whole book as ONE document, TOC numbers from ``target-counter`` (the naive way)."""
    rows = "".join(
        f'<li class="pr-toc-d{min(e.depth, 5)}"><a class="raw" href="#{e.target}">{html.escape(e.title)}</a></li>'
        for e in plan.toc
    )
    body = "\n".join(plan.unit_html[i].split("<body>", 1)[1].rsplit("</body>", 1)[0] for i in range(len(plan.units)))
    body = body.replace(pdfbook.INTERNAL, "#")
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        '<style>.pr-toc a.raw::after{content: leader(".") target-counter(attr(href), page)}'
        "@page{@bottom-center{content: counter(page)}}</style></head><body>"
        f'<section class="pr-cover"><h1>{html.escape(title)}</h1></section>'
        f'<nav class="pr-toc"><h1>Contents</h1><ul>{rows}</ul></nav>{body}</body></html>'
    )


def _raw_child(html_text: str, sheets: list[str], css_text: str, site_dir: str, out: str) -> dict[str, Any]:
    from stages.render_pdf import child

    t0 = time.perf_counter()
    meta = child.render_document(html_text, sheets, css_text, site_dir, out)
    return {"pages": meta["pages"], "seconds": time.perf_counter() - t0}


def _per_page_child(pages: list[str], site_dir: str, sheets: list[str], css_text: str, out: str) -> dict[str, Any]:
    """The baseline a writer could script in ten lines: each page's content (the ``<main>`` of
    what render_html wrote, so no site navigation; nav order) as its own WeasyPrint document with
    the book's stylesheets, one after another, then one merge."""
    import pypdf
    import weasyprint

    from stages.render_pdf import book as pdf_book
    from stages.render_pdf import child

    t0 = time.perf_counter()
    fetcher = child._SafeFetcher(Path(site_dir))
    css = [weasyprint.CSS(filename=f, url_fetcher=fetcher) for f in sheets] + [weasyprint.CSS(string=css_text)]
    writer = pypdf.PdfWriter()
    count = 0
    for i, page in enumerate(pages):
        part = f"{out}.{i}.pdf"
        content = pdf_book.extract_main(Path(page).read_text("utf-8", errors="replace"))
        document = f'<!doctype html><html><head><meta charset="utf-8"></head><body>{content}</body></html>'
        weasyprint.HTML(string=document, base_url=Path(page).as_uri(), url_fetcher=fetcher).write_pdf(
            part, stylesheets=css)
        writer.append(part)
        count += len(pypdf.PdfReader(part).pages)
        os.unlink(part)
    writer.write(out)
    return {"pages": count, "seconds": time.perf_counter() - t0}


def context(ws: Path, outputs: dict[str, Any], cache: Path, lang: str | None = None) -> StageContext:
    return StageContext(
        job_id="bench", workspace=ws, source=ws / "source", out=ws / "out", cache_dir=cache,
        sites_dir=ws / "sites", site=SiteOptions.model_validate({"title": "FastAPI", "version": "bench"}),
        options=Options(timeout=3600), language=lang, previous={"render_html": StageResult(outputs=outputs)},
    )


def cpu_seconds() -> float:
    """User + system time of this process and its reaped children (steadier than wall time
    on a machine shared with other work)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


CPU: dict[str, float] = {}


def _subreaper() -> None:
    """Make this process adopt orphaned descendants (Linux ``PR_SET_CHILD_SUBREAPER``): a
    ``pressroom build`` exits without waiting for its worker processes, whose CPU would
    otherwise be counted nowhere."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)


def _waitable() -> list[int]:
    """This process's child processes, except multiprocessing's resource tracker (it lives as
    long as this process)."""
    pids: list[int] = []
    for task in Path("/proc/self/task").glob("*/children"):
        for pid in task.read_text().split():
            with contextlib.suppress(OSError):
                if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                    pids.append(int(pid))
    return pids


def reap(limit: float = 60.0) -> None:
    """Wait for every descendant still running (the stage's idle WeasyPrint processes tear down
    after it returns; a command's workers outlive it), so its CPU lands in RUSAGE_CHILDREN."""
    for child in multiprocessing.active_children():
        child.join(limit)
    deadline = time.monotonic() + limit
    while (pids := _waitable()) and time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


async def timed_stage(ctx: StageContext, label: str = "") -> tuple[float, StageResult]:
    c0 = cpu_seconds()
    t0 = time.perf_counter()
    result = await stage.run(ctx)
    elapsed = time.perf_counter() - t0
    if label:
        reap()
        CPU[label] = round(cpu_seconds() - c0, 1)
    if result.status != "passed":
        raise SystemExit(f"stage did not pass: {result.status} {result.message} {result.findings[:3]}")
    return elapsed, result


def edit_one_page(ws: Path, outputs: dict[str, Any], lang: str = "en") -> str:
    pages = outputs["languages"][lang]["pages"]
    page = pages[len(pages) // 3]
    path = ws / "out" / page["file"]
    text = path.read_text(encoding="utf-8").replace(
        "</main>", "<p>One more sentence written by a writer during the benchmark.</p></main>"
    )
    path.write_text(text, encoding="utf-8")
    page["hash"] = hashlib.sha256(text.encode()).hexdigest()
    return str(page["file"])


async def _two_languages(ws: Path, outputs: dict[str, Any], tmp: Path, second: str, results: dict[str, Any]) -> None:
    elapsed, res = await timed_stage(context(ws, outputs, tmp / "cache-par"), "parallel")
    results["two_lang_parallel_seconds"] = round(elapsed, 1)
    results["two_lang_pages"] = res.counts["pages"]
    print("two languages parallel", elapsed, res.counts, flush=True)
    serial = 0.0
    for lang in ("en", second):
        elapsed, res = await timed_stage(context(ws, outputs, tmp / "cache-ser", lang=lang))
        serial += elapsed
    results["two_lang_serial_seconds"] = round(serial, 1)
    print("two languages serial", serial, flush=True)


async def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    _subreaper()
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared/corpus/fastapi-docs")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--second", default="es", help="second language for the parallel test")
    parser.add_argument("--skip-two-languages", action="store_true", help="leave out the en + es runs (minutes)")
    parser.add_argument("--skip-raw", action="store_true", help="leave out the whole book in one WeasyPrint call (minutes)")
    parser.add_argument("--skip-cli", action="store_true", help="leave out the `pressroom build` commands")
    args = parser.parse_args()
    results: dict[str, Any] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    with tempfile.TemporaryDirectory(prefix="pressroom-bench-pdf-") as tmp:
        ws = Path(tmp) / "ws"
        t0 = time.perf_counter()
        staged = await render_with_stage(args.corpus, Path(tmp), ["en", args.second])
        if staged is not None:
            ws, outputs = staged
            results["html_via"] = "the render_html stage"
        else:
            outputs = render_markdown_site(args.corpus, ws / "out", ["en", args.second])
            results["html_via"] = "markdown-it-py (bench)"
        results["html_seconds"] = round(time.perf_counter() - t0, 1)
        en_only: dict[str, Any] = {"site_dir": "out", "languages": {"en": outputs["languages"]["en"]}}
        results["pages_en"] = len(en_only["languages"]["en"]["pages"])

        # 1. raw WeasyPrint, one call, in a child process like the stage's
        ctx = context(ws, en_only, Path(tmp) / "cache-raw")
        inp = stage._inputs(ctx, Options())[0]
        plan, _ = builder.plan_book(inp, Options())
        raw_html = raw_book_html(plan, "FastAPI")
        results["load_before"] = round(os.getloadavg()[0], 1)
        if args.skip_raw:
            results["raw_seconds"] = results["raw_pages"] = "not run (--skip-raw)"
        else:
            c0 = cpu_seconds()
            with multiprocessing.get_context("spawn").Pool(1) as pool:
                t0 = time.perf_counter()
                raw = pool.apply(_raw_child, (raw_html, inp.stylesheets, plan.css_text, str(inp.site_dir), str(Path(tmp) / "raw.pdf")))
                results["raw_seconds"] = round(time.perf_counter() - t0, 1)
            CPU["raw"] = round(cpu_seconds() - c0, 1)
            results["raw_pages"] = raw["pages"]
            print("raw", results["raw_seconds"], raw, flush=True)

        # 1b. per page, one after another, merged: what a writer without pressroom would run
        files = [str(ws / "out" / p["file"]) for p in en_only["languages"]["en"]["pages"]]
        c0 = cpu_seconds()
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            t0 = time.perf_counter()
            per_page = pool.apply(_per_page_child, (files, str(inp.site_dir), inp.stylesheets, plan.css_text,
                                                    str(Path(tmp) / "per-page.pdf")))
            results["per_page_seconds"] = round(time.perf_counter() - t0, 1)
        CPU["per_page"] = round(cpu_seconds() - c0, 1)
        results["per_page_pages"] = per_page["pages"]
        print("per page", results["per_page_seconds"], per_page, flush=True)

        # 2. our stage, cold cache
        cache = Path(tmp) / "cache-en"
        elapsed, res = await timed_stage(context(ws, en_only, cache), "cold")
        results["stage_cold_seconds"] = round(elapsed, 1)
        results["stage_pages"] = res.counts["pages"]
        results["stage_chapters"] = res.counts["chapters"]
        print("stage cold", elapsed, res.counts, flush=True)

        # 2b. nothing changed; then the same tree in another workspace (as the daemon's next job)
        elapsed, res = await timed_stage(context(ws, en_only, cache), "no_change")
        results["stage_no_change_seconds"] = round(elapsed, 2)
        results["stage_no_change_rendered"] = res.counts["chapters_rendered"]
        other = Path(tmp) / "ws-2"
        shutil.copytree(ws / "out", other / "out")
        elapsed, res = await timed_stage(context(other, en_only, cache), "other_workspace")
        results["stage_other_ws_seconds"] = round(elapsed, 2)
        results["stage_other_ws_rendered"] = res.counts["chapters_rendered"]
        shutil.rmtree(other)
        print("no change", results["stage_no_change_seconds"], "other workspace", elapsed, res.counts, flush=True)

        # 3. one page changed
        results["edited_page"] = edit_one_page(ws, en_only)
        elapsed, res = await timed_stage(context(ws, en_only, cache), "one_page")
        results["stage_one_page_seconds"] = round(elapsed, 2)
        results["stage_one_page_rendered"] = res.counts["chapters_rendered"]
        print("stage one page", elapsed, res.counts, flush=True)

        # 3b. the commands a user types, each a new process with an empty cache
        if args.skip_cli:
            results["cli"] = {}
        else:
            results["cli"] = cli_commands(Path(tmp))
            print("cli", results["cli"], flush=True)

        # 4. two languages, parallel vs serial, cold caches
        if args.skip_two_languages:
            results["two_lang_parallel_seconds"] = results["two_lang_serial_seconds"] = "not run"
            results["two_lang_pages"] = "-"
        else:
            await _two_languages(ws, outputs, Path(tmp), args.second, results)
    results["load_after"] = round(os.getloadavg()[0], 1)
    results["cpu"] = CPU
    raw_s = results["raw_seconds"]
    results["ratio_cold"] = f"{results['stage_cold_seconds'] / raw_s:.2f}×; " if isinstance(raw_s, float) else ""
    results["ratio_one_page"] = f"{results['stage_one_page_seconds'] / raw_s:.3f}×; " if isinstance(raw_s, float) else ""
    results["ratio_cold_per_page"] = round(results["stage_cold_seconds"] / results["per_page_seconds"], 2)
    results["ratio_one_page_cold"] = round(results["stage_one_page_seconds"] / results["stage_cold_seconds"], 3)
    print(json.dumps(results, indent=2))
    if args.write:
        write_section(results)
    return results


CLI_CONFIG = """data_dir = "{data}"
[site]
name = "fastapi-bench"
title = "FastAPI"
languages = ["en"]
"""


def cli_commands(tmp: Path) -> dict[str, float]:
    """``pressroom build`` on the corpus copy's English docs, a new process each: HTML only and
    HTML + PDF with an empty cache, then HTML + PDF again with nothing changed."""
    import subprocess

    corpus = tmp / "corpus"
    cfg = tmp / "cli-config.toml"
    out: dict[str, float] = {}
    for label, stages_arg, fresh in (("html_cold", "render_html", True), ("pdf_cold", "render_html,render_pdf", True),
                                     ("pdf_no_change", "render_html,render_pdf", False)):
        data = tmp / f"cli-data-{stages_arg.count(',')}"
        site = tmp / f"cli-site-{stages_arg.count(',')}"
        if fresh:
            shutil.rmtree(data, ignore_errors=True)
            shutil.rmtree(site, ignore_errors=True)
        cfg.write_text(CLI_CONFIG.format(data=data))
        c0 = cpu_seconds()
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pipeline", "--config", str(cfg), "build", "docs/en", "--out", str(site),
                               "--stages", stages_arg], cwd=corpus, capture_output=True, text=True)
        out[label] = round(time.perf_counter() - t0, 2)
        reap()
        CPU[f"cli_{label}"] = round(cpu_seconds() - c0, 1)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"pressroom build failed: {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
    return out


def _secs(value: Any) -> str:
    return f"{value} s" if isinstance(value, int | float) else str(value)


def write_section(r: dict[str, Any]) -> None:
    rev = _report.git_rev()
    load_note = ("**the machine was shared with other engineers' tests and builds**, so wall times read high and CPU "
                 "time is the steadier figure" if max(r["load_before"], r["load_after"]) >= 2.5 else "a quiet machine")
    raw_row = (f"| raw WeasyPrint, whole book in one call ({r['raw_pages']} PDF pages, `target-counter` TOC; no one needs to run "
               f"this) | {r['raw_seconds']} s | 1.00× | {r['cpu'].get('raw')} s |" if isinstance(r["raw_seconds"], float) else
               "| raw WeasyPrint, whole book in one call (`target-counter` TOC; no one needs to run this) | not run (`--skip-raw`) | | |")
    section = f"""## PDF render

Measured by `bench/bench_pdf.py{' --skip-raw' if not isinstance(r['raw_seconds'], float) else ''}` (one run of each row, commit {rev}, {r['cpus']} CPUs,
Python {r['python']}, WeasyPrint 70; load average {r['load_before']} at the start and {r['load_after']} at the end:
{load_note}).
Corpus: FastAPI docs, English ({r['pages_en']} pages; HTML made with {r['html_via']} in {r['html_seconds']} s, not counted), second language `es`.

| run | wall time | vs raw | CPU (user+sys) |
|---|---|---|---|
| **cold, baseline:** each page's content (its `<main>`) its own WeasyPrint document, one after another in one new process, merged with pypdf ({r['per_page_pages']} PDF pages) | {r['per_page_seconds']} s | — | {r['cpu'].get('per_page')} s |
{raw_row}
| **cold** `render_pdf` stage, empty cache ({r['stage_chapters']} chapters in 2 new WeasyPrint processes, merged; {r['stage_pages']} pages) | {r['stage_cold_seconds']} s | {r['ratio_cold']}**{r['ratio_cold_per_page']}× the per-page baseline** | {r['cpu'].get('cold')} s |
| `render_pdf` stage, nothing changed ({r['stage_no_change_rendered']} chapters rendered) | {r['stage_no_change_seconds']} s | | {r['cpu'].get('no_change')} s |
| `render_pdf` stage, same tree in another workspace, shared cache (the daemon's next job; {r['stage_other_ws_rendered']} chapters rendered) | {r['stage_other_ws_seconds']} s | | {r['cpu'].get('other_workspace')} s |
| `render_pdf` stage, one page changed (`{r['edited_page']}`; {r['stage_one_page_rendered']} chapter re-rendered) | {r['stage_one_page_seconds']} s | {r['ratio_one_page']}{r['ratio_one_page_cold']}× our cold | {r['cpu'].get('one_page')} s |
| **cold** `pressroom build --stages render_html` (new process, empty cache; the HTML the PDF is made from) | {_secs(r['cli'].get('html_cold', 'not run'))} | | {r['cpu'].get('cli_html_cold', '—')} s |
| **cold** `pressroom build --stages render_html,render_pdf` (new process, empty cache) | {_secs(r['cli'].get('pdf_cold', 'not run'))} | | {r['cpu'].get('cli_pdf_cold', '—')} s |
| **cold** the same command again, nothing changed (new process) | {_secs(r['cli'].get('pdf_no_change', 'not run'))} | | {r['cpu'].get('cli_pdf_no_change', '—')} s |
| two languages (en + es, {r['two_lang_pages']} pages) in one stage run, in parallel | {_secs(r['two_lang_parallel_seconds'])} | | {r['cpu'].get('parallel', '—')} s |
| the same two languages, one stage run after the other | {_secs(r['two_lang_serial_seconds'])} | | |

**Cold** rows start new processes for the WeasyPrint work, ours and the baseline's alike (the
stage rows run the stage in this process, which starts its own WeasyPrint processes each run;
the command rows are `pressroom build` as a user types it). The stage's no-change and one-page
rows reuse its chapter cache. CPU is user + system time of this process and its children.

Goals: cold ≤ 0.6× the per-page baseline on 2 cores; no-change ≤ 2 s; one page changed ≤ 0.1× cold.
"""
    _report.replace_section("PDF render", section)


if __name__ == "__main__":
    asyncio.run(main())
