"""HTML render benchmark: pressroom's render_html against ``mkdocs build`` on the FastAPI docs.

One run, English only, on a copy of ``../shared/corpus/fastapi-docs`` under bench/.work/:

1. ``mkdocs build`` (plain ``mkdocs`` theme, the corpus' markdown extensions, no plugins), from a
   separate venv in bench/.work/mkdocs-venv (created on first use); then ``--dirty`` with nothing
   changed and with one page changed (median of 3 each);
2. pressroom render_html with a 2-process pool: clean full build, no-change rebuild, one-page
   rebuild (median of 5 each; in-process, as the daemon runs it), plus the full build as a cold subprocess
   (interpreter start, imports and pool start included, like the ``mkdocs`` command).

Markdown extensions that cannot be installed or imported are dropped and listed.
``--write`` replaces the "HTML render" section of docs/benchmarks.md.

    .venv/bin/python bench/bench_render.py [--corpus PATH] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import _report  # bench/_report.py, beside this script

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
WORK = REPO / "bench" / ".work"
VENV = WORK / "mkdocs-venv"
PAGE = "tutorial/first-steps.md"
PACKAGES = ["mkdocs==1.6.1", "pymdown-extensions", "mdx-include", "markdown-include-variants", "zensical"]
REPEAT = 5
SITE = {"name": "fastapi-bench", "title": "FastAPI", "languages": ["en"], "base_url": "https://fastapi.example/"}


def sh(args: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=False, text=True, capture_output=True, **kw)


def mkdocs_venv() -> tuple[Path, list[str]]:
    """The venv with mkdocs and the extensions; returns (python, packages that failed)."""
    py = VENV / "bin" / "python"
    failed: list[str] = []
    if not py.exists():
        sh([sys.executable, "-m", "venv", str(VENV)])
    for pkg in PACKAGES:
        name = pkg.split("==")[0]
        if sh([str(py), "-m", "pip", "show", "-q", name]).returncode == 0:
            continue
        r = sh([str(py), "-m", "pip", "install", "-q", pkg])
        if r.returncode != 0:
            failed.append(name)
    return py, failed


def mkdocs_config(corpus: Path, py: Path) -> tuple[Path, list[str]]:
    """mkdocs.bench.yml beside the corpus' mkdocs.yml: plain theme, same extensions, no plugins."""
    from stages.site.layout import load_mkdocs_yml

    conf = load_mkdocs_yml(corpus / "docs/en/mkdocs.yml")
    dropped: list[str] = []
    exts: list[Any] = []
    for name, opts in conf.get("markdown_extensions", {}).items():
        module = name if "." in name or name.startswith(("mdx_", "markdown_")) else f"markdown.extensions.{name}"
        if sh([str(py), "-c", f"import importlib; importlib.import_module({module!r})"]).returncode != 0:
            dropped.append(name)
            continue
        if name == "pymdownx.superfences":
            continue  # written below with its python tag
        exts.append({name: opts} if opts else name)
    lines = [
        "site_name: FastAPI", f"docs_dir: {corpus / 'docs/en/docs'}", f"site_dir: {WORK / 'mkdocs-site'}",
        "theme:", "  name: mkdocs", "nav: " + json.dumps(conf["nav"]), "markdown_extensions:",
    ]
    lines += [f"  - {json.dumps(e)}" for e in exts]
    if "pymdownx.superfences" not in dropped:
        lines += ["  - pymdownx.superfences:", "      custom_fences:", "        - name: mermaid", "          class: mermaid",
                  "          format: !!python/name:pymdownx.superfences.fence_code_format"]
    path = corpus / "docs/en/mkdocs.bench.yml"
    path.write_text("\n".join(lines) + "\n")
    return path, dropped


def timed(args: list[str], cwd: Path) -> float:
    t = time.perf_counter()
    r = sh(args, cwd=cwd)
    took = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(args[:3])} failed:\n{r.stderr[-3000:]}")
    return took


def touch_page(corpus: Path, n: int) -> None:
    p = corpus / "docs/en/docs" / PAGE
    p.write_text(p.read_text() + f"\nBenchmark edit {n}.\n")


async def ours(corpus: Path, out: Path, cache: Path) -> dict[str, float]:
    from stages.context import local_context, process_pool
    from stages.render_html import stage
    from stages.render_html.options import Options

    res: dict[str, float] = {}
    t0 = time.perf_counter()
    with process_pool(2) as pool:
        ctx = local_context(corpus, out, cache_dir=cache, site=SITE, options=Options(), executor=pool)
        t = time.perf_counter()
        full = await stage.run(ctx)
        res["full"] = time.perf_counter() - t
        res["full_with_pool_start"] = time.perf_counter() - t0
        nochange, onepage = [], []
        for i in range(REPEAT):  # cheap steps: the median of several, the machine is shared
            t = time.perf_counter()
            none = await stage.run(ctx)
            nochange.append(time.perf_counter() - t)
            touch_page(corpus, 10 + i)
            t = time.perf_counter()
            one = await stage.run(ctx)
            onepage.append(time.perf_counter() - t)
            assert none.counts["rendered"] == 0 and one.counts["rendered"] == 1, (none.counts, one.counts)
        res["nochange"], res["onepage"] = statistics.median(nochange), statistics.median(onepage)
    res["pages"] = full.counts["pages"]
    return res


def cold_subprocess(corpus: Path) -> float:
    call = f"local_context({str(corpus)!r}, {str(WORK / 'cold-out')!r}, cache_dir={str(WORK / 'cold-cache')!r}, site={SITE!r}"
    code = (f"import asyncio,sys; sys.path.insert(0, {str(REPO)!r})\n"
            "from stages.context import local_context, process_pool\n"
            "from stages.render_html import stage\nfrom stages.render_html.options import Options\n"
            f"async def m():\n with process_pool(2) as p:\n  await stage.run({call}, options=Options(), executor=p))\n"
            "asyncio.run(m())\n")
    shutil.rmtree(WORK / "cold-out", ignore_errors=True)
    shutil.rmtree(WORK / "cold-cache", ignore_errors=True)
    return timed([sys.executable, "-c", code], cwd=REPO)


CLI_CONFIG = """data_dir = "{data}"
[site]
name = "fastapi-bench"
title = "FastAPI"
languages = ["en"]
base_url = "https://fastapi.example/"
"""


def cli_builds(corpus: Path) -> dict[str, float]:
    """``pressroom build`` as a user types it: a new process per command (interpreter start-up,
    imports, pool start included), the cache under the config's data dir. Cold empties the data
    dir and the output first; no-change and one-page keep both, as ``mkdocs build --dirty`` does."""
    data, out, cfg = WORK / "cli-data", WORK / "cli-site", WORK / "cli-config.toml"
    cfg.write_text(CLI_CONFIG.format(data=data))
    cmd = [sys.executable, "-m", "pipeline", "--config", str(cfg), "build", str(corpus), "--out", str(out),
           "--stages", "render_html"]
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    res = {"cold": timed(cmd, corpus)}
    nochange, onepage = [], []
    for i in range(3):
        nochange.append(timed(cmd, corpus))
        touch_page(corpus, 100 + i)
        onepage.append(timed(cmd, corpus))
    res["nochange"], res["onepage"] = statistics.median(nochange), statistics.median(onepage)
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus" / "fastapi-docs")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    corpus = WORK / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.copytree(args.corpus / "docs" / "en", corpus / "docs" / "en")
    shutil.copytree(args.corpus / "docs_src", corpus / "docs_src")
    # how-to/configure-swagger-ui.md includes a file of FastAPI's source that the corpus lacks;
    # mkdocs (markdown-include-variants) aborts the whole build on it, so both tools get a stand-in.
    stub = corpus / "fastapi/openapi/docs.py"
    stub.parent.mkdir(parents=True)
    stub.write_text("".join(f"# stand-in line {i} for the benchmark\n" for i in range(1, 40)))
    py, failed = mkdocs_venv()
    cfg, dropped = mkdocs_config(corpus, py)
    mkdocs = [str(VENV / "bin" / "mkdocs"), "build", "-q", "-f", str(cfg)]
    shutil.rmtree(WORK / "mkdocs-site", ignore_errors=True)
    m_full = timed(mkdocs, corpus / "docs/en")
    dirty, dirty_one = [], []
    for i in range(3):
        dirty.append(timed([*mkdocs, "--dirty"], corpus / "docs/en"))
        touch_page(corpus, i)
        dirty_one.append(timed([*mkdocs, "--dirty"], corpus / "docs/en"))
    m_dirty, m_dirty_one = statistics.median(dirty), statistics.median(dirty_one)
    shutil.rmtree(WORK / "ours", ignore_errors=True)
    o = asyncio.run(ours(corpus, WORK / "ours" / "out", WORK / "ours" / "cache"))
    cold = cold_subprocess(corpus)
    cli = cli_builds(corpus)
    rows = [
        ("`mkdocs build` (plain theme, same extensions)", m_full, ""),
        ("`mkdocs build --dirty`, nothing changed", m_dirty, ""),
        ("`mkdocs build --dirty`, one page changed", m_dirty_one, ""),
        ("pressroom render_html, full build (warm 2-process pool, as in the daemon)", o["full"], f"{o['full'] / m_full:.2f}× mkdocs"),
        ("pressroom, full build as a cold command (interpreter, imports, pool start)", cold, f"{cold / m_full:.2f}× mkdocs"),
        ("pressroom, no-change rebuild", o["nochange"], f"{100 * o['nochange'] / o['full']:.1f}% of full; {m_dirty / o['nochange']:.0f}× faster than --dirty"),
        ("pressroom, one page changed", o["onepage"], f"{100 * o['onepage'] / o['full']:.1f}% of full; {m_dirty_one / o['onepage']:.0f}× faster than --dirty"),
        ("**cold** `pressroom build --stages render_html`, empty cache (new process)", cli["cold"], f"{cli['cold'] / m_full:.2f}× `mkdocs build`"),
        ("**cold** `pressroom build`, nothing changed (new process, cache kept)", cli["nochange"], f"{cli['nochange'] / m_dirty:.2f}× `mkdocs build --dirty`"),
        ("**cold** `pressroom build`, one page changed (new process, cache kept)", cli["onepage"], f"{cli['onepage'] / m_dirty_one:.2f}× `mkdocs build --dirty`; {cli['onepage'] / cli['nochange']:.2f}× our no-change"),
    ]
    commit = sh(["git", "rev-parse", "--short", "HEAD"], cwd=REPO).stdout.strip()
    load = os.getloadavg()[0]
    body = [
        "## HTML render", "",
        f"Measured by `bench/bench_render.py` (one run; full builds once, `--dirty` the median of 3, our rebuilds the median of {REPEAT}; commit {commit}, {os.cpu_count()} CPUs shared with other work, "
        f"load average {load:.1f} at the end, Python {platform.python_version()}). Corpus: FastAPI docs, English, "
        f"{o['pages']} pages; the one-page change edits `{PAGE}`. The corpus lacks `fastapi/openapi/docs.py`, "
        "which one page includes and which makes `mkdocs build` abort, so the benchmark copy gets a stand-in file.",
        "mkdocs 1.6.1 from bench/.work/mkdocs-venv with the corpus' markdown extensions and the plain `mkdocs` theme, no plugins"
        + (f"; dropped (not installable or not importable): {', '.join(f'`{d}`' for d in sorted(set(dropped) | set(failed)))}" if dropped or failed else "") + ".",
        "", "| run | wall time | ratio |", "|---|---|---|",
    ]
    body += [f"| {name} | {secs:.2f} s | {ratio} |" for name, secs, ratio in rows]
    body += ["", "Rows marked **cold** are commands as a user runs them (a new process each, like every mkdocs row); "
             "the others are warm (in this process, the pool already started), as the daemon runs them. "
             + ("The machine was busy (see the load average above), so figures read high; re-run on a quiet machine."
                if os.getloadavg()[0] >= 2.5 else "The machine was otherwise quiet."),
             "", "Goals: full build ≤ 1/3 of mkdocs; no-change rebuild ≤ 5% and one-page rebuild ≤ 10% of our full build, "
             "and ≥ 10× faster than `mkdocs build --dirty`; as commands: cold ≤ 1/3 of `mkdocs build`, no-change faster than "
             "`mkdocs build --dirty`, one page changed ≤ 2× the no-change time.", ""]
    text = "\n".join(body)
    print(text)
    if args.write:
        _report.replace_section("HTML render", text)


if __name__ == "__main__":
    main()
