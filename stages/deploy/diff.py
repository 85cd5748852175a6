"""Diff preview of a candidate release against the live one, for reviewers.

Pages are compared by the TEXT of ``<main id="content">``, not the markup: a theme change or a
new build date in the footer is not a content change a reviewer has to read. For changed pages
a side-by-side HTML table (difflib) shows the text lines that differ.
"""

from __future__ import annotations

import difflib
import hashlib
import html
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

_BLOCK = frozenset(
    ["address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul"]
)
_SKIP = frozenset({"script", "style", "template", "noscript"})


class _MainText(HTMLParser):
    """Text lines of ``<main id="content">`` (or of ``<body>`` when a page has no main)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.main_depth = 0
        self.seen_main = False
        self.skip = 0
        self.parts: list[str] = []
        self.body_parts: list[str] = []
        self.pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "main" and dict(attrs).get("id") == "content" and not self.seen_main:
            self.seen_main = True
            self.main_depth = 1
            return
        if self.main_depth and tag == "main":
            self.main_depth += 1
        if tag in _SKIP:
            self.skip += 1
        if tag == "pre":
            self.pre += 1
        if tag in _BLOCK:
            self._emit("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "main" and self.main_depth:
            self.main_depth -= 1
        if tag in _SKIP and self.skip:
            self.skip -= 1
        if tag == "pre" and self.pre:
            self.pre -= 1
        if tag in _BLOCK:
            self._emit("\n")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        self._emit(data if self.pre else " ".join(data.split()) + (" " if data[-1:].isspace() else ""))

    def _emit(self, text: str) -> None:
        (self.parts if self.main_depth else self.body_parts).append(text)

    def lines(self) -> list[str]:
        text = "".join(self.parts if self.seen_main else self.body_parts)
        return [line.strip() for line in text.splitlines() if line.strip()]


def page_text(path: Path) -> list[str]:
    """The rendered text of a page, one line per block."""
    parser = _MainText()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    parser.close()
    return parser.lines()


def site_pages(release: Path) -> dict[str, Path]:
    """URL path (``en/guide/install/``) -> file, for every HTML page of a release.

    The root ``404.html`` and ``index.html`` (a language redirect) are site plumbing, not pages.
    """
    pages: dict[str, Path] = {}
    if not release.is_dir():
        return pages
    for path in release.rglob("*.html"):
        rel = path.relative_to(release).as_posix()
        if rel in ("404.html", "index.html"):
            continue
        url = rel[: -len("index.html")] if rel.endswith("/index.html") else rel
        pages[url] = path
    return pages


@dataclass(frozen=True)
class PageDiff:
    url: str
    added_lines: int
    removed_lines: int
    table: str | None
    """Side-by-side ``<table class="diff">`` of the text, or None past the preview's limit."""


@dataclass
class DiffPreview:
    """What a reviewer sees in ``GET /api/reviews``: pages added, removed and changed."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[PageDiff] = field(default_factory=list)
    unchanged: int = 0
    truncated: bool = False

    @property
    def changed_urls(self) -> list[str]:
        return [c.url for c in self.changed]

    def summary(self) -> dict[str, int]:
        return {"added": len(self.added), "removed": len(self.removed), "changed": len(self.changed),
                "unchanged": self.unchanged}

    def to_dict(self, *, tables: bool = True) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "added": self.added,
            "removed": self.removed,
            "changed": [
                {"url": c.url, "added_lines": c.added_lines, "removed_lines": c.removed_lines,
                 **({"diff_html": c.table} if tables else {})}
                for c in self.changed
            ],
            "truncated": self.truncated,
        }


def _digest(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def diff_releases(candidate: Path, live: Path | None, *, max_tables: int = 50, context: int = 2) -> DiffPreview:
    """Compare a candidate release (staging) with what is live (``current`` of production).

    ``live`` None (nothing deployed yet) lists every page as added. Only the first
    ``max_tables`` changed pages get a side-by-side table; ``truncated`` says when more changed.
    """
    return diff_pages(site_pages(candidate), site_pages(live) if live is not None else {},
                      max_tables=max_tables, context=context)


def diff_pages(new: dict[str, Path], old: dict[str, Path], *, max_tables: int = 50, context: int = 2) -> DiffPreview:
    """:func:`diff_releases` on page maps already chosen (one language's folder of two releases)."""
    preview = DiffPreview(added=sorted(set(new) - set(old)), removed=sorted(set(old) - set(new)))
    differ = difflib.HtmlDiff(wrapcolumn=70)
    for url in sorted(set(new) & set(old)):
        if _same_file(new[url], old[url]):
            preview.unchanged += 1
            continue
        a, b = page_text(old[url]), page_text(new[url])
        if a == b:
            preview.unchanged += 1
            continue
        removed = added = 0
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if tag != "equal":
                removed += i2 - i1
                added += j2 - j1
        table = None
        if len(preview.changed) < max_tables:
            table = differ.make_table(a, b, "live", "candidate", context=True, numlines=context)
        else:
            preview.truncated = True
        preview.changed.append(PageDiff(url, added, removed, table))
    return preview


def _same_file(a: Path, b: Path) -> bool:
    try:
        sa, sb = a.stat(), b.stat()
    except OSError:
        return False
    if (sa.st_ino, sa.st_dev) == (sb.st_ino, sb.st_dev):
        return True
    return sa.st_size == sb.st_size and a.read_bytes() == b.read_bytes()


def preview_html(preview: DiffPreview, *, title: str = "Changes against the live site") -> str:
    """A standalone HTML page of the preview (what a "diff preview" link in a review opens)."""
    esc = html.escape
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title><style>"
        "body{font-family:sans-serif;margin:2em}table.diff{font-family:monospace;font-size:12px;"
        "border-collapse:collapse;margin-bottom:2em}.diff_add{background:#cfc}.diff_chg{background:#ff8}"
        ".diff_sub{background:#fcc}td{padding:0 .4em;vertical-align:top}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        "<p>" + ", ".join(f"{k}: {v}" for k, v in preview.summary().items()) + "</p>",
    ]
    for label, urls in (("Added pages", preview.added), ("Removed pages", preview.removed)):
        if urls:
            parts.append(f"<h2>{label}</h2><ul>" + "".join(f"<li>{esc(u)}</li>" for u in urls) + "</ul>")
    if preview.changed:
        parts.append("<h2>Changed pages</h2>")
    for change in preview.changed:
        parts.append(f"<h3>{esc(change.url)} (+{change.added_lines} −{change.removed_lines})</h3>")
        parts.append(change.table or "<p>(diff not shown: too many changed pages)</p>")
    parts.append("</body></html>")
    return "".join(parts)
