"""Output writers: the LinkChecker CSV, our JSON, and the dispatch to every format by name.

The CSV is LinkChecker 10.x's, column for column, including its quirks (a row whose line and
column are unknown, such as a start URL, has two fewer fields, because LinkChecker skips them
instead of leaving them empty) so that whatever already parses its files keeps working.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Callable
from typing import TextIO

from stages.linkcheck import output_html, output_text
from stages.linkcheck.checker import Report
from stages.linkcheck.model import Row
from stages.linkcheck.output_common import (
    APP,
    DOC_URL,
    row_warnings,
    rows_of,
    shown,
    strduration,
    strtime,
)

COLUMNS = ("urlname", "parentname", "base", "result", "warningstring", "infostring", "valid",
           "url", "line", "column", "name", "dltime", "size", "checktime", "cached", "level",
           "modified")
FORMATS = ("text", "csv", "html", "json", "none")


def write_csv(report: Report, out: TextIO, *, verbose: bool = False, warnings: bool = True,
              every: bool = False) -> None:
    sep = os.linesep
    out.write(f"# created by {APP} at {strtime(report.stats.started)}{sep}")
    out.write(f"# Read the documentation at {DOC_URL}{sep}")
    out.write(f"# Output is compatible with LinkChecker's csv output{sep}")
    buffer = io.StringIO()
    writer = csv.writer(buffer, dialect="excel", delimiter=";", lineterminator=sep, quotechar='"')
    writer.writerow(COLUMNS)
    for row in rows_of(report, every):
        if shown(row, verbose=verbose, warnings=warnings):
            writer.writerow(csv_fields(row, warnings=warnings))
    out.write(buffer.getvalue())
    for note in report.stats.notes:
        out.write(f"# {note}{sep}")
    finished = report.stats.finished or time.time()
    out.write(f"# Stopped checking at {strtime(finished)} "
              f"({strduration(finished - report.stats.started)}){sep}")


def csv_fields(row: Row, *, warnings: bool = True) -> list[object]:
    outcome, link = row.outcome, row.link
    fields: list[object] = [
        link.urlname, link.parent, link.base, outcome.result,
        os.linesep.join(msg for _, msg in row_warnings(row, warnings)),
        os.linesep.join(outcome.info), outcome.valid, row.url,
    ]
    if link.line is not None:
        fields.append(link.line)
    if link.column is not None:
        fields.append(link.column)
    fields += [link.name, _num(outcome.dltime), _num(outcome.size), outcome.checktime, 0,
               link.level, outcome.modified]
    return fields


def _num(value: float) -> float | int:
    return -1 if value < 0 else value


def write_json(report: Report, out: TextIO, *, verbose: bool = False, warnings: bool = True,
              every: bool = False) -> None:
    """Our own format: every field, plus the totals, as one JSON document."""
    stats = report.stats
    document = {
        "generator": APP,
        "started": stats.started,
        "finished": stats.finished,
        "stats": {"links": stats.links, "urls": stats.urls_known, "checked": stats.urls_checked,
                  "errors": stats.errors, "warnings": stats.warnings, "truncated": stats.truncated},
        "notes": stats.notes,
        "results": [row_dict(r, warnings=warnings) for r in rows_of(report, every)
                    if shown(r, verbose=verbose, warnings=warnings)],
    }
    json.dump(document, out, indent=1, ensure_ascii=False)
    out.write("\n")


def row_dict(row: Row, *, warnings: bool = True) -> dict[str, object]:
    outcome, link = row.outcome, row.link
    return {
        "urlname": link.urlname, "parentname": link.parent, "base": link.base,
        "url": row.url, "real_url": outcome.url, "valid": outcome.valid, "result": outcome.result,
        "warnings": [{"tag": t, "message": m} for t, m in row_warnings(row, warnings)],
        "info": outcome.info, "line": link.line, "column": link.column, "name": link.name,
        "level": link.level, "extern": row.extern, "content_type": outcome.content_type,
        "size": outcome.size, "dltime": outcome.dltime, "checktime": outcome.checktime,
        "cached": outcome.cached,
    }


def writer_for(fmt: str) -> Callable[..., None]:
    """The writer of one output type (``-o``/``-F``)."""
    if fmt == "csv":
        return write_csv
    if fmt == "json":
        return write_json
    if fmt == "text":
        return output_text.write_text
    if fmt == "html":
        return output_html.write_html
    if fmt == "none":
        return lambda report, out, **_: None
    raise ValueError(f"unknown output type {fmt!r}; choose one of {', '.join(FORMATS)}")
