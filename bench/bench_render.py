"""HTML render benchmark: pressroom's render_html against ``mkdocs build`` on the FastAPI docs.

English only, on a copy of ``../shared/corpus/fastapi-docs`` under bench/.work/ made into its
own git repository (one commit), as a writer's checkout is:

1. **cold**, a new process for every command, ours and the anchor alike: ``mkdocs build`` (plain
   ``mkdocs`` theme, the corpus' markdown extensions, no plugins; from bench/.work/mkdocs-venv,
   created on first use) and ``pressroom build --stages render_html`` with an empty cache, run in
   pairs (``--runs``, median); then ``mkdocs build --dirty`` and our command with nothing changed
   and with one page changed (median of 3 each);
2. **warm**, in this process as the daemon runs it: render_html with a 2-process pool, full
   build, no-change rebuild, one-page rebuild (median of 5 each), plus the stage alone as a cold
   subprocess (interpreter start, imports and pool start included).

Markdown extensions that cannot be installed or imported are dropped and listed.
``--write`` replaces the "HTML render" section of docs/benchmarks.md.

    .venv/bin/python bench/bench_render.py [--corpus PATH] [--runs N] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
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


CPU: dict[str, list[float]] = {}
"""User + system seconds of each timed command (its children included), by label."""


def timed(args: list[str], cwd: Path, label: str = "") -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = sh(args, cwd=cwd)
    took = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode not in (0, 1):  # 1: lint or link findings, the site is still written
        raise SystemExit(f"{' '.join(args[:3])} failed:\n{r.stdout[-2000:]}{r.stderr[-3000:]}")
    if label:
        CPU.setdefault(label, []).append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return took


def cpu(label: str) -> float:
    return statistics.median(CPU[label]) if CPU.get(label) else float("nan")


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


def cli_command(corpus: Path) -> list[str]:
    data, out, cfg = WORK / "cli-data", WORK / "cli-site", WORK / "cli-config.toml"
    cfg.write_text(CLI_CONFIG.format(data=data))
    return [sys.executable, "-m", "pipeline", "--config", str(cfg), "build", str(corpus), "--out", str(out),
            "--stages", "render_html"]


def cli_cold(corpus: Path) -> float:
    """``pressroom build`` as a user types it with an empty cache and no earlier output: a new
    process (interpreter start-up, imports, pool start included)."""
    shutil.rmtree(WORK / "cli-data", ignore_errors=True)
    shutil.rmtree(WORK / "cli-site", ignore_errors=True)
    return timed(cli_command(corpus), corpus, "cli_cold")


IMPORT_GROUPS = (("the config schema (pydantic)", ("pipeline.config", "pydantic")),
                 ("the runner", ("pipeline.jobs",)),
                 ("the render stage (Markdown engine, Jinja, site model)", ("stages.", "markdown_it", "mdit_py_plugins", "jinja2", "yaml")),
                 ("the command (click, pipeline.cli)", ("pipeline", "click")))


def import_breakdown(corpus: Path) -> tuple[float, list[tuple[str, float]]]:
    """One more one-page rebuild with ``-X importtime``: its wall time and the seconds of its
    imports by group (importtime's own overhead included, so the groups read a little high)."""
    touch_page(corpus, 999)
    cmd = cli_command(corpus)
    t = time.perf_counter()
    r = sh([cmd[0], "-X", "importtime", *cmd[1:]], cwd=corpus)
    took = time.perf_counter() - t
    groups = {name: 0.0 for name, _ in IMPORT_GROUPS}
    other = 0.0
    for line in r.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        _, cumulative, name = line.split("|")
        if name.startswith("  ") or not name.strip() or not cumulative.strip().isdigit():
            continue  # only top-level imports: their cumulative time holds their children's
        secs, module = int(cumulative) / 1e6, name.strip()
        for group, prefixes in IMPORT_GROUPS:
            if module.startswith(prefixes):
                groups[group] += secs
                break
        else:
            other += secs
    return took, [*groups.items(), ("other (standard library, ...)", other)]


FLOOR_IMPORTS = "import click, jinja2, markdown_it, yaml"
"""What any command that renders a page must load (the command line, templates, Markdown, YAML)."""


def import_floor() -> dict[str, float]:
    """A new interpreter doing nothing, and one importing only :data:`FLOOR_IMPORTS`: the least a
    one-page rebuild in a new process can cost before reading the config or the page."""
    out = {}
    for label, code in (("python", "pass"), ("floor", FLOOR_IMPORTS)):
        out[label] = statistics.median(timed([sys.executable, "-c", code], REPO, f"import_{label}") for _ in range(5))
    return out


def cli_rebuilds(corpus: Path) -> dict[str, float]:
    """The same command again with the cache and the output kept, as ``mkdocs build --dirty``
    keeps its site: nothing changed, then one page changed."""
    cmd = cli_command(corpus)
    timed(cmd, corpus)  # takes in the pages the --dirty runs edited since our cold build
    nochange, onepage = [], []
    for i in range(3):
        nochange.append(timed(cmd, corpus, "cli_nochange"))
        touch_page(corpus, 100 + i)
        onepage.append(timed(cmd, corpus, "cli_onepage"))
    return {"nochange": statistics.median(nochange), "onepage": statistics.median(onepage)}


def git_checkout(corpus: Path) -> None:
    """One commit, so the copy is a work tree of its own (the include root and the page dates
    come from it, as in a writer's checkout) and not part of the repository holding bench/."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "corpus"]):
        subprocess.run(["git", *args], cwd=corpus, check=True, env=env, capture_output=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus" / "fastapi-docs")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--runs", type=int, default=3, help="paired cold runs of mkdocs build and pressroom build")
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
    # as installed: pip compiles mkdocs' modules, so pressroom's are compiled too (a shell with
    # PYTHONDONTWRITEBYTECODE set would otherwise compile them from source on every command)
    sh([sys.executable, "-m", "compileall", "-q", str(REPO / "pipeline"), str(REPO / "stages")])
    cfg, dropped = mkdocs_config(corpus, py)
    git_checkout(corpus)
    mkdocs = [str(VENV / "bin" / "mkdocs"), "build", "-q", "-f", str(cfg)]
    loads = [os.getloadavg()[0]]
    m_runs, c_runs = [], []
    for _ in range(max(1, args.runs)):  # in pairs, so both see the same load
        shutil.rmtree(WORK / "mkdocs-site", ignore_errors=True)
        m_runs.append(timed(mkdocs, corpus / "docs/en", "mkdocs_cold"))
        c_runs.append(cli_cold(corpus))
    m_full, cli_cold_s = statistics.median(m_runs), statistics.median(c_runs)
    loads.append(os.getloadavg()[0])
    dirty, dirty_one = [], []
    for i in range(3):
        dirty.append(timed([*mkdocs, "--dirty"], corpus / "docs/en", "mkdocs_dirty"))
        touch_page(corpus, i)
        dirty_one.append(timed([*mkdocs, "--dirty"], corpus / "docs/en", "mkdocs_dirty_one"))
    m_dirty, m_dirty_one = statistics.median(dirty), statistics.median(dirty_one)
    cli = {"cold": cli_cold_s, **cli_rebuilds(corpus)}
    traced, imports = import_breakdown(corpus)
    floor = import_floor()
    loads.append(os.getloadavg()[0])
    shutil.rmtree(WORK / "ours", ignore_errors=True)
    o = asyncio.run(ours(corpus, WORK / "ours" / "out", WORK / "ours" / "cache"))
    cold = cold_subprocess(corpus)
    loads.append(os.getloadavg()[0])
    rows = [
        ("**cold** `mkdocs build` (plain theme, same extensions; new process)", m_full, "", cpu("mkdocs_cold")),
        ("**cold** `pressroom build --stages render_html`, empty cache (new process)", cli["cold"],
         f"**{cli['cold'] / m_full:.2f}×** `mkdocs build`", cpu("cli_cold")),
        ("**cold** `mkdocs build --dirty`, nothing changed", m_dirty, "", cpu("mkdocs_dirty")),
        ("**cold** `pressroom build`, nothing changed (cache and output kept)", cli["nochange"],
         f"**{cli['nochange'] / m_dirty:.2f}×** `mkdocs build --dirty`", cpu("cli_nochange")),
        ("**cold** `mkdocs build --dirty`, one page changed", m_dirty_one, "", cpu("mkdocs_dirty_one")),
        ("**cold** `pressroom build`, one page changed (cache and output kept)", cli["onepage"],
         f"{cli['onepage'] / m_dirty_one:.2f}× `mkdocs build --dirty`; {cli['onepage'] / cli['nochange']:.1f}× our no-change",
         cpu("cli_onepage")),
        ("a new Python process doing nothing", floor["python"], "", cpu("import_python")),
        (f"a new Python process importing only `{FLOOR_IMPORTS[7:]}`", floor["floor"],
         f"{floor['floor'] / cli['nochange']:.1f}× our no-change", cpu("import_floor")),
        ("warm: render_html stage, full build (2-process pool already started, as in the daemon)", o["full"], f"{o['full'] / m_full:.2f}× mkdocs", float("nan")),
        ("the render_html stage alone as a cold subprocess (interpreter, imports, pool start)", cold, f"{cold / m_full:.2f}× mkdocs", float("nan")),
        ("warm: no-change rebuild", o["nochange"], f"{100 * o['nochange'] / o['full']:.1f}% of full; {m_dirty / o['nochange']:.0f}× faster than --dirty", float("nan")),
        ("warm: one page changed", o["onepage"], f"{100 * o['onepage'] / o['full']:.1f}% of full; {m_dirty_one / o['onepage']:.0f}× faster than --dirty", float("nan")),
    ]
    commit = sh(["git", "rev-parse", "--short", "HEAD"], cwd=REPO).stdout.strip()
    busy = max(loads) > 2
    body = [
        "## HTML render", "",
        f"Measured by `bench/bench_render.py --runs {args.runs}` (commit {commit}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"load average {', '.join(f'{x:.1f}' for x in loads)} at the start, after the cold pairs, after the rebuilds and at the end: "
        + ("**the machine was shared with other engineers' tests and builds**, so wall times read high; CPU time is steadier)." if busy else "a quiet machine).")
        + f" Corpus: FastAPI docs, English, {o['pages']} pages, copied into a git work tree of its own; the one-page change edits `{PAGE}`. "
        "The corpus lacks `fastapi/openapi/docs.py`, which one page includes and which makes `mkdocs build` abort, so the benchmark copy gets a stand-in file.",
        "mkdocs 1.6.1 from bench/.work/mkdocs-venv with the corpus' markdown extensions and the plain `mkdocs` theme, no plugins"
        + (f"; dropped (not installable or not importable): {', '.join(f'`{d}`' for d in sorted(set(dropped) | set(failed)))}" if dropped or failed else "") + ".",
        "", "| run | wall time | ratio | CPU (user+sys) |", "|---|---|---|---|",
    ]
    body += [f"| {name} | {secs:.2f} s | {ratio} | {'' if c != c else f'{c:.2f} s'} |" for name, secs, ratio, c in rows]
    body += ["", f"**Cold** rows are commands as a user types them, a new process each for us and for mkdocs: full builds "
             f"are the median of {args.runs} runs made in pairs (mkdocs, then ours), `--dirty` and our rebuilds the median of 3. "
             f"**Warm** rows run in this process with the pool already started, as the daemon runs a build (median of {REPEAT} for rebuilds). "
             "Our cold no-change run decides from the stats of the input files (sources, includes, config, git metadata, pressroom itself) "
             "recorded in the output's marker, prints the last build's report again and touches nothing (docs/quickstart.md, section Without a daemon).",
             "", f"Where a cold one-page rebuild's time goes: one more run under `python -X importtime` took {traced:.2f} s, "
             f"{sum(v for _, v in imports):.2f} s of it imports: " + ", ".join(f"{name} {v:.2f} s" for name, v in imports)
             + "; the rest is the interpreter's start, the no-change check's walk of the inputs, the render stage's work and the output's swap.",
             "", f"One page changed ≤ 2× the no-change time asks for ≤ {2 * cli['nochange']:.2f} s here. A new process that only imports the "
             f"libraries any page render needs takes {floor['floor']:.2f} s ({floor['floor'] / cli['nochange']:.1f}× our no-change run) before it reads "
             "the config or the page, which leaves "
             f"{max(0.0, 2 * cli['nochange'] - floor['floor']):.2f} s to read the config, parse the page, relink the site's other files and "
             "write the search index: out of reach for a command that starts a new Python process; only a resident build process "
             "could (docs/render.md, What a one-page rebuild costs).",
             "", "Goals: full build ≤ 1/3 of mkdocs; no-change rebuild ≤ 5% and one-page rebuild ≤ 10% of our full build, "
             "and ≥ 10× faster than `mkdocs build --dirty`; as commands: cold ≤ 1/3 of `mkdocs build`, no-change faster than "
             "`mkdocs build --dirty`, one page changed ≤ 2× the no-change time.", ""]
    text = "\n".join(body)
    print(text)
    if args.write:
        _report.replace_section("HTML render", text)


if __name__ == "__main__":
    main()
