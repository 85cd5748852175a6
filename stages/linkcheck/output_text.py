"""The text report, laid out as LinkChecker's default output so people reading CI logs see the
same blocks (``URL``, ``Parent URL``, ``Real URL``, ``Warning``, ``Result``) and summary line."""

from __future__ import annotations

import textwrap
from collections import Counter
from typing import TextIO

from stages.linkcheck import output_common
from stages.linkcheck.checker import Report
from stages.linkcheck.model import Row

_LABEL = 11
_WRAP = 65


def strsize(size: int) -> str:
    if size < 1024:
        return f"{size}B"
    if size < 10 * 1024:
        return f"{size // 1024}KB"
    if size < 1024 * 1024:
        return f"{size / 1024:.2f}KB"
    return f"{size / (1024 * 1024):.2f}MB"


def _field(out: TextIO, label: str, value: str) -> None:
    out.write(f"{label:<{_LABEL}}{value}\n")


def _wrapped(out: TextIO, label: str, value: str) -> None:
    lines = textwrap.wrap(value, _WRAP, break_long_words=False, break_on_hyphens=False) or [""]
    out.write(f"{label:<{_LABEL}}{lines[0]}\n")
    for line in lines[1:]:
        out.write(" " * _LABEL + line + "\n")


def write_row(out: TextIO, row: Row, *, warnings: bool = True) -> None:
    outcome, link = row.outcome, row.link
    out.write("\n")
    _field(out, "URL", f"`{link.urlname}'")
    if link.name:
        _field(out, "Name", f"`{link.name}'")
    if link.parent:
        parent = link.parent
        if link.line is not None:
            parent += f", line {link.line}"
        if link.column is not None:
            parent += f", col {link.column}"
        _field(out, "Parent URL", parent)
    if link.base:
        _field(out, "Base", link.base)
    _field(out, "Real URL", outcome.url)
    if outcome.checktime:
        _field(out, "Check time", f"{outcome.checktime:.3f} seconds")
    if outcome.dltime >= 0:
        _field(out, "D/L time", f"{outcome.dltime:.3f} seconds")
    if outcome.size >= 0:
        _field(out, "Size", strsize(outcome.size))
    if outcome.info:
        _wrapped(out, "Info", "\n".join(outcome.info))
    if outcome.modified:
        _field(out, "Modified", outcome.modified)
    for i, (tag, message) in enumerate(output_common.row_warnings(row, warnings)):
        _wrapped(out, "Warning" if i == 0 else "", f"[{tag}] {message}")
    verdict = "Valid" if outcome.valid else "Error"
    _field(out, "Result", f"{verdict}: {outcome.result}")


def write_text(report: Report, out: TextIO, *, verbose: bool = False, warnings: bool = True,
              every: bool = False) -> None:
    stats = report.stats
    out.write(f"{output_common.APP}, compatible with LinkChecker 10.x output\n")
    out.write(f"Read the documentation at {output_common.DOC_URL}\n\n")
    out.write(f"Start checking at {output_common.strtime(stats.started)}\n")
    for row in output_common.rows_of(report, every):
        if output_common.shown(row, verbose=verbose, warnings=warnings):
            write_row(out, row, warnings=warnings)
    out.write("\nStatistics:\n")
    if report.rows:
        kinds = Counter(_kind(r) for r in report.rows)
        out.write(f"Content types: {kinds['image']} image, {kinds['text']} text, {kinds['video']} video, "
                  f"{kinds['audio']} audio, {kinds['application']} application, {kinds['mail']} mail "
                  f"and {kinds['other']} other.\n")
        lengths = [len(r.url) for r in report.rows]
        out.write(f"URL lengths: min={min(lengths)}, max={max(lengths)}, "
                  f"avg={sum(lengths) // len(lengths)}.\n")
    else:
        out.write("No statistics available since no URLs were checked.\n")
    for note in stats.notes:
        out.write(f"\n{note}\n")
    warning_count = stats.warnings if warnings else 0
    out.write(f"\nThat's it. {stats.links} links in {stats.urls_checked} URLs checked. "
              f"{warning_count} warning{'s' if warning_count != 1 else ''} found. "
              f"{stats.errors} error{'s' if stats.errors != 1 else ''} found.\n")
    finished = stats.finished or stats.started
    out.write(f"Stopped checking at {output_common.strtime(finished)} "
              f"({output_common.strduration(finished - stats.started)})\n")


def _kind(row: Row) -> str:
    if row.url.startswith("mailto:"):
        return "mail"
    major = row.outcome.content_type.partition("/")[0]
    return major if major in ("image", "text", "video", "audio", "application") else "other"
