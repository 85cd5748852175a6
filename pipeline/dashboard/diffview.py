"""The review queue's diff preview: added, removed and changed pages, changed ones side by side.

The review part stores the preview in the status JSON's ``review.diff``. This module accepts the
shapes that contract allows and normalises them, so the page works whichever one a build carries:

* ``added`` / ``removed``: lists of paths, or of objects with ``path`` (and optionally ``url``);
* ``changed``: a list of paths, or of objects with ``path`` and either ``before`` and ``after``
  texts or a ``unified`` (or ``diff``) unified-diff text.
"""

from __future__ import annotations

import difflib
from typing import Any

MAX_LINES = 2000
"""Lines per side rendered for one page; a huge page gets a note instead of a huge table."""


def _entry(item: Any) -> dict[str, Any] | None:
    if isinstance(item, str):
        return {"path": item}
    if isinstance(item, dict) and isinstance(item.get("path") or item.get("page"), str):
        return {**item, "path": item.get("path") or item.get("page")}
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
        if isinstance(entry.get("before"), str) and isinstance(entry.get("after"), str):
            rows = side_by_side(entry["before"], entry["after"])
        elif isinstance(entry.get("unified") or entry.get("diff"), str):
            rows = from_unified(entry.get("unified") or entry.get("diff") or "")
        changed.append({"path": entry["path"], "url": entry.get("url"), "rows": rows,
                        "stats": _stats(rows) if rows is not None else None})
    out["changed"] = changed
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
