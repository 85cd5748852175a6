"""The review queue's diff preview: added, removed and changed pages, changed ones side by side.

The deploy stage writes the preview as JSON next to the build (``review.preview_json``, see
``stages/deploy/diff.py``): page URLs ``added`` and ``removed``, and ``changed`` pages with line
counts and a difflib side-by-side table (``diff_html``). The dashboard does not paste that HTML
into its pages: it reads the table back into rows of plain text and renders them with its own
autoescaped template, so the page's look, dark mode and CSP hold. Other shapes are accepted too:

* ``added`` / ``removed``: lists of paths, or of objects with ``path``/``url``;
* ``changed``: paths, or objects with ``path``/``url`` and either ``diff_html``, ``before`` and
  ``after`` texts, or a ``unified`` (or ``diff``) unified-diff text.
"""

from __future__ import annotations

import difflib
from html.parser import HTMLParser
from typing import Any

MAX_LINES = 2000
"""Lines per side rendered for one page; a huge page gets a note instead of a huge table."""


def _entry(item: Any) -> dict[str, Any] | None:
    if isinstance(item, str):
        return {"path": item}
    if isinstance(item, dict):
        path = item.get("path") or item.get("page") or item.get("url")
        if isinstance(path, str):
            return {**item, "path": path}
    return None


def preview(diff: Any) -> dict[str, Any]:
    diff = diff if isinstance(diff, dict) else {}
    out: dict[str, Any] = {}
    for key in ("added", "removed"):
        out[key] = [e for e in map(_entry, diff.get(key) or []) if e]
    changed = []
    for item in diff.get("changed") or []:
        entry = _entry(item)
        if entry is None:
            continue
        rows: list[dict[str, Any]] | None = None
        if isinstance(entry.get("diff_html"), str):
            rows = from_difflib_table(entry["diff_html"])
        elif isinstance(entry.get("before"), str) and isinstance(entry.get("after"), str):
            rows = side_by_side(entry["before"], entry["after"])
        elif isinstance(entry.get("unified") or entry.get("diff"), str):
            rows = from_unified(entry.get("unified") or entry.get("diff") or "")
        stats = _stats(rows) if rows is not None else None
        if isinstance(entry.get("added_lines"), int):
            stats = {"added": entry["added_lines"], "removed": int(entry.get("removed_lines") or 0)}
        changed.append({"path": entry["path"], "url": entry.get("url"), "rows": rows, "stats": stats})
    out["changed"] = changed
    out["truncated"] = bool(diff.get("truncated"))
    out["empty"] = not (out["added"] or out["removed"] or changed)
    return out


def _stats(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {"added": sum(1 for r in rows if r["tag"] in ("insert", "replace") and r["right"] is not None),
            "removed": sum(1 for r in rows if r["tag"] in ("delete", "replace") and r["left"] is not None)}


def side_by_side(before: str, after: str, context: int = 3) -> list[dict[str, Any]]:
    """Rows of ``{tag, lno, left, rno, right}``; equal runs longer than the context fold to a gap."""
    a = before.splitlines()[:MAX_LINES]
    b = after.splitlines()[:MAX_LINES]
    rows: list[dict[str, Any]] = []
    for group in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_grouped_opcodes(context):
        if rows:
            rows.append({"tag": "gap", "lno": None, "left": None, "rno": None, "right": None})
        for tag, i1, i2, j1, j2 in group:
            for k in range(max(i2 - i1, j2 - j1)):
                li, rj = i1 + k, j1 + k
                rows.append({"tag": tag,
                             "lno": li + 1 if li < i2 else None, "left": a[li] if li < i2 else None,
                             "rno": rj + 1 if rj < j2 else None, "right": b[rj] if rj < j2 else None})
    return rows


def from_unified(text: str) -> list[dict[str, Any]]:
    """A unified diff laid out in two columns (removed lines left, added lines right)."""
    rows: list[dict[str, Any]] = []
    minus: list[tuple[int, str]] = []
    plus: list[tuple[int, str]] = []
    lno = rno = 0

    def flush() -> None:
        for k in range(max(len(minus), len(plus))):
            left = minus[k] if k < len(minus) else None
            right = plus[k] if k < len(plus) else None
            tag = "replace" if left and right else ("delete" if left else "insert")
            rows.append({"tag": tag, "lno": left[0] if left else None, "left": left[1] if left else None,
                         "rno": right[0] if right else None, "right": right[1] if right else None})
        minus.clear()
        plus.clear()

    for line in text.splitlines()[: MAX_LINES * 2]:
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            flush()
            if rows:
                rows.append({"tag": "gap", "lno": None, "left": None, "rno": None, "right": None})
            head = line.split("@@")[1].split()
            lno = abs(int(head[0].split(",")[0])) - 1 if head else 0
            rno = int(head[1].split(",")[0].lstrip("+")) - 1 if len(head) > 1 else 0
        elif line.startswith("-"):
            lno += 1
            minus.append((lno, line[1:]))
        elif line.startswith("+"):
            rno += 1
            plus.append((rno, line[1:]))
        else:
            flush()
            lno += 1
            rno += 1
            body = line[1:] if line.startswith(" ") else line
            rows.append({"tag": "equal", "lno": lno, "left": body, "rno": rno, "right": body})
    flush()
    return rows


class _DifflibTable(HTMLParser):
    """Rows of a ``difflib.HtmlDiff.make_table`` table as text, changed spans marked."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[dict[str, Any]] = []
        self.cells: list[list[tuple[str, bool]]] | None = None
        self.cell: list[tuple[str, bool]] | None = None
        self.marked = 0
        self.bodies = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tbody":
            self.bodies += 1
            if self.bodies > 1 and self.rows:
                self.rows.append(_gap())
        elif tag == "tr":
            self.cells = []
        elif tag in ("td", "th") and self.cells is not None:
            self.cell = []
            self.cells.append(self.cell)
        elif tag == "span" and (dict(attrs).get("class") or "").startswith("diff_") and self.cell is not None:
            self.marked += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self.marked:
            self.marked -= 1
        elif tag in ("td", "th"):
            self.cell = None
        elif tag == "tr" and self.cells is not None:
            if len(self.cells) == 6 and self.bodies:
                self.rows.append(_difflib_row(self.cells))
            self.cells = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append((data.replace("\xa0", " "), bool(self.marked)))


def _gap() -> dict[str, Any]:
    return {"tag": "gap", "lno": None, "left": None, "rno": None, "right": None}


def _difflib_row(cells: list[list[tuple[str, bool]]]) -> dict[str, Any]:
    def number(cell: list[tuple[str, bool]]) -> int | None:
        text = "".join(t for t, _ in cell).strip()
        return int(text) if text.isdigit() else None

    def side(cell: list[tuple[str, bool]]) -> tuple[str | None, list[tuple[str, bool]], bool]:
        text = "".join(t for t, _ in cell)
        return (text if cell else None), [seg for seg in cell if seg[0]], any(m for _, m in cell)

    left, lseg, lmark = side(cells[2])
    right, rseg, rmark = side(cells[5])
    lno, rno = number(cells[1]), number(cells[4])
    if not (lmark or rmark):
        tag = "equal"
    elif left is None or (not left and lno is None and "".join(t for t, _ in cells[1]).strip() != ">"):
        tag, left = "insert", None
    elif right is None or (not right and rno is None and "".join(t for t, _ in cells[4]).strip() != ">"):
        tag, right = "delete", None
    else:
        tag = "replace"
    return {"tag": tag, "lno": lno, "left": left, "rno": rno, "right": right, "lseg": lseg, "rseg": rseg}


def from_difflib_table(table: str) -> list[dict[str, Any]]:
    parser = _DifflibTable()
    parser.feed(table)
    parser.close()
    return parser.rows[: MAX_LINES]
