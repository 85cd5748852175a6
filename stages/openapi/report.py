"""``reports/openapi-diff.json`` and the readable ``reports/openapi-diff.html``.

Every value in the HTML comes from a submitted spec, so all of it is escaped, and the page carries
no script: it is served as user content (sandboxed) by the API and the dashboard.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from stages.openapi.breaking import Change, Diff


def _rows(changes: list[Change]) -> str:
    if not changes:
        return "<p>None.</p>"
    rows = "".join(f"<tr><td>{escape(c.kind)}</td><td><code>{escape(c.pointer)}</code></td><td>{escape(c.message)}</td></tr>"
                   for c in changes)
    return f"<table><thead><tr><th>Kind</th><th>Where</th><th>What</th></tr></thead><tbody>{rows}</tbody></table>"


def summary_html(diff: Diff) -> str:
    """The breaking-change summary as an HTML fragment (the review diff page puts it on top)."""
    cls = "breaking" if diff.breaking else "clean"
    return (f'<section class="openapi-summary {cls}"><h2>API changes</h2><p><strong>{escape(diff.summary())}</strong></p>'
            f"<h3>Breaking ({len(diff.breaking)})</h3>{_rows(diff.breaking)}"
            f"<h3>Non-breaking ({len(diff.non_breaking)})</h3>{_rows(diff.non_breaking)}</section>")


def html_page(specs: list[dict[str, Any]], diff: Diff) -> str:
    spec_rows = "".join(
        f"<tr><td>{escape(str(s['spec']))}</td><td>{escape(str(s['title']))}</td><td>{escape(str(s['version']))}</td>"
        f"<td>{s['operations']}</td><td>{s['schemas']}</td><td>{'yes' if s['published'] else 'first publish'}</td></tr>"
        for s in specs)
    return ("<!doctype html><html><head><meta charset=\"utf-8\"><title>OpenAPI changes</title>"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
            "padding:.3em .6em;text-align:left}.breaking strong{color:#b00}</style></head><body>"
            "<h1>OpenAPI changes</h1><table><thead><tr><th>Spec</th><th>Title</th><th>Version</th><th>Operations</th>"
            f"<th>Schemas</th><th>Compared with</th></tr></thead><tbody>{spec_rows}</tbody></table>"
            f"{summary_html(diff)}</body></html>\n")


def write(reports: Path, specs: list[dict[str, Any]], diff: Diff) -> None:
    reports.mkdir(parents=True, exist_ok=True)
    data = {"specs": specs, **diff.to_dict(), "summary": diff.summary()}
    (reports / "openapi-diff.json").write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    (reports / "openapi-diff.html").write_text(html_page(specs, diff), encoding="utf-8")
