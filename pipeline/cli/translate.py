"""``pressroom translate extract|mark|status``: a translator's commands, on the local tree.

They work offline on the writer's own checkout (no daemon): ``status`` computes what a translate
job would report, so a team sees German at 92% before pushing; ``extract`` keeps the PO catalogs
in step with the source; ``mark`` records that a translation matches its source as it is now.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from pipeline.cli import options
from pipeline.cli.options import ExitCode
from stages.base import StageError
from stages.site import gitdates
from stages.site.siteconfig import ConfigReads
from stages.translate import inventory, workflow
from stages.translate.states import FOUND


def _root(ctx: click.Context, source: str | None) -> Path:
    cfg = options.load_config(ctx)
    return Path(source) if source else cfg.source_path


def _fail(ctx: click.Context, message: str, code: ExitCode = ExitCode.USAGE) -> None:
    click.echo(f"error: {message}", err=True)
    ctx.exit(code)


@click.group()
def translate() -> None:
    """Translations of the local source tree: catalogs, source hashes, completion (no daemon)."""


@translate.command()
@click.argument("source", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--lang", "langs", multiple=True, help="Only this language (repeatable); default every other language.")
@click.option("--all", "all_pages", is_flag=True, default=False,
              help="Also pages a folder or page.<lang>.md file already translates.")
@click.pass_context
def extract(ctx: click.Context, source: str | None, langs: tuple[str, ...], all_pages: bool) -> None:
    """Write or update the PO catalogs (<po_dir>/<lang>/<page>.po) from the source pages.

    Translations are kept; a message whose source changed keeps its former translation marked
    fuzzy; messages gone from the page stay as obsolete entries.
    """
    cfg = options.load_config(ctx)
    root = _root(ctx, source)
    try:
        reads = ConfigReads()  # the site's config parsed once for every language
        _default, targets = workflow.other_languages(root, cfg.site, langs, reads=reads)
        reports = [workflow.extract(root, cfg.site, lang, po_dir=cfg.translate.po_dir, all_pages=all_pages, reads=reads)
                   for lang in targets]
    except StageError as exc:
        _fail(ctx, str(exc))
        return
    if not targets:
        click.echo("no other language to extract catalogs for")
    failed = False
    for r in reports:
        click.echo(
            f"{r.language}: {len(r.written)} catalogs written, {r.unchanged} unchanged, {r.skipped} pages "
            f"translated as files; {r.messages} messages, {r.fuzzy} fuzzy, {r.obsolete} obsolete")
        for rel in r.written:
            click.echo(f"  {rel}")
        for err in r.errors:
            failed = True
            click.echo(f"error: {err}", err=True)
    ctx.exit(ExitCode.FAILED if failed else ExitCode.OK)


@translate.command()
@click.argument("lang")
@click.argument("pages", nargs=-1)
@click.option("--source", "source", type=click.Path(exists=True, file_okay=False), default=None,
              help="The source tree (default: [site] source).")
@click.option("--unmarked", is_flag=True, default=False,
              help="Also every translation of LANG that records no source_hash yet.")
@click.pass_context
def mark(ctx: click.Context, lang: str, pages: tuple[str, ...], source: str | None, unmarked: bool) -> None:
    """Record that LANG's translation of each PAGE matches its source as it is now.

    Writes ``source_hash:`` into the translation's front matter; when the source changes later,
    the page counts as stale until it is translated again and marked again. PAGE is the page's
    path in the docs folder (guide/intro.md) or the translation's file.
    """
    cfg = options.load_config(ctx)
    if not pages and not unmarked:
        _fail(ctx, "name the pages to mark (or --unmarked)")
        return
    try:
        report = workflow.mark(_root(ctx, source), cfg.site, lang, list(pages), unmarked=unmarked)
    except StageError as exc:
        _fail(ctx, str(exc))
        return
    for src, rel, digest in report.marked:
        click.echo(f"marked {src} ({rel}) source_hash {digest}")
    if report.current:
        click.echo(f"{report.current} already current")
    for name in report.unknown:
        click.echo(f"error: {name}: no {lang} translation of that page (a file in the "
                                  f"language's folder or a page.{lang}.md)", err=True)
    ctx.exit(ExitCode.USAGE if report.unknown else ExitCode.OK)


def _status_json(default: str, invs: list[inventory.Inventory]) -> dict[str, Any]:
    return {"source_language": default,
            "languages": {inv.language: {**{k: v for k, v in inv.summary().items() if k not in ("language", "source_language")},
                                         "pages": {src: p.to_dict() for src, p in inv.pages.items()}}
                          for inv in invs}}


@translate.command()
@click.argument("source", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--lang", "langs", multiple=True, help="Only this language (repeatable).")
@click.option("--json", "as_json", is_flag=True, default=False, help="Print JSON (every page's state too).")
@click.option("--pages", "show_pages", is_flag=True, default=False, help="List the stale and missing pages.")
@click.pass_context
def status(ctx: click.Context, source: str | None, langs: tuple[str, ...], as_json: bool, show_pages: bool) -> None:
    """Completion of each language, computed here from the tree (offline).

    Completion = pages translated and up to date / source pages in the nav. Stale: the source
    changed after the translation (source_hash, the PO catalog, or git history).
    """
    cfg = options.load_config(ctx)
    root = _root(ctx, source)
    try:
        reads = ConfigReads()  # the site's config parsed once for every language
        default, targets = workflow.other_languages(root, cfg.site, langs, reads=reads)
        git = gitdates.collect(root)
        invs = [inventory.take(root, cfg.site, lang, po_dir=cfg.translate.po_dir, git=git, reads=reads)
                for lang in targets]
    except StageError as exc:
        _fail(ctx, str(exc))
        return
    if as_json:
        click.echo(json.dumps(_status_json(default, invs), indent=2, ensure_ascii=False))
        ctx.exit(ExitCode.OK)
    table = Table(title=f"translations of {escape(root.name)} (source language {escape(default)})")
    for name in ("language", "complete", *FOUND, "source pages"):  # no machine pages offline
        table.add_column(name, justify="left" if name == "language" else "right")
    for inv in invs:
        c = inv.counts()
        table.add_row(escape(inv.language), f"{inv.completion:.1f}%", *(str(c[s]) for s in FOUND), str(c["source_pages"]))
    options.console.print(table)
    if show_pages:
        for inv in invs:
            for src, page in inv.pages.items():
                if page.state in FOUND and page.state != "translated":
                    click.echo(f"{inv.language} {page.state:8} {src}")
    for inv in invs:
        for f in inv.findings:
            click.echo(f"warning: {f.file}: {f.message}", err=True)
    ctx.exit(ExitCode.OK)


commands = [translate]
