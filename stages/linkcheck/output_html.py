"""The HTML report: one table per logged URL, as LinkChecker's ``-o html`` lays it out, with the
same row labels, so a team's published report page looks familiar."""

from __future__ import annotations

from html import escape
from typing import TextIO

from stages.linkcheck import output_common, output_text
from stages.linkcheck.checker import Report
from stages.linkcheck.model import Row

_STYLE = """body{font-family:sans-serif;background:#fff;color:#000}
table.url{border:1px solid #ccc;border-collapse:collapse;margin:1em 0;min-width:40em}
td{padding:.2em .6em;vertical-align:top}
td.label{width:8em;font-weight:bold}
.valid{color:#080}.error{color:#c00}.warning{color:#a60}"""


def _tr(label: str, value: str, css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    return f'<tr><td class="label">{escape(label)}</td><td{cls}>{value}</td></tr>\n'


def _table(row: Row, *, warnings: bool) -> str:
    outcome, link = row.outcome, row.link
    cells = [_tr("URL", escape(link.urlname))]
    if link.name:
        cells.append(_tr("Name", escape(link.name)))
    if link.parent:
        where = ""
        if link.line is not None:
            where += f", line {link.line}"
        if link.column is not None:
            where += f", col {link.column}"
        cells.append(_tr("Parent URL", f'<a href="{escape(link.parent)}">{escape(link.parent)}</a>{where}'))
    if link.base:
        cells.append(_tr("Base", escape(link.base)))
    cells.append(_tr("Real URL", f'<a href="{escape(outcome.url)}">{escape(outcome.url)}</a>'))
    if outcome.checktime:
        cells.append(_tr("Check time", f"{outcome.checktime:.3f} seconds"))
    if outcome.dltime >= 0:
        cells.append(_tr("D/L time", f"{outcome.dltime:.3f} seconds"))
    if outcome.size >= 0:
        cells.append(_tr("Size", output_text.strsize(outcome.size)))
    if outcome.info:
        cells.append(_tr("Info", "<br>".join(escape(i) for i in outcome.info)))
    shown_warnings = output_common.row_warnings(row, warnings)
    if shown_warnings:
        text = "<br>".join(escape(f"[{tag}] {msg}") for tag, msg in shown_warnings)
        cells.append(_tr("Warning", text, "warning"))
    verdict, css = ("Valid", "valid") if outcome.valid else ("Error", "error")
    cells.append(_tr("Result", f"{verdict}: {escape(outcome.result)}", css))
    return '<table class="url">\n' + "".join(cells) + "</table>\n"


def write_html(report: Report, out: TextIO, *, verbose: bool = False, warnings: bool = True,
              every: bool = False) -> None:
    stats = report.stats
    out.write("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n")
    out.write(f"<title>{escape(output_common.APP)}</title>\n<style>{_STYLE}</style></head><body>\n")
    out.write(f"<h2>{escape(output_common.APP)}</h2>\n")
    out.write(f"<p>Start checking at {escape(output_common.strtime(stats.started))}</p>\n")
    for row in output_common.rows_of(report, every):
        if output_common.shown(row, verbose=verbose, warnings=warnings):
            out.write(_table(row, warnings=warnings))
    for note in stats.notes:
        out.write(f'<p class="warning">{escape(note)}</p>\n')
    warning_count = stats.warnings if warnings else 0
    out.write(f"<p>That's it. {stats.links} links in {stats.urls_checked} URLs checked. "
              f"{warning_count} warnings found. {stats.errors} errors found.</p>\n")
    finished = stats.finished or stats.started
    out.write(f"<p>Stopped checking at {escape(output_common.strtime(finished))} "
              f"({escape(output_common.strduration(finished - stats.started))})</p>\n</body></html>\n")
