"""YAML front matter split off a page without shifting its line numbers."""

from __future__ import annotations

import datetime
import re
from typing import Any

import yaml

_FENCE = re.compile(r"^---[ \t]*$")

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML has it: every page's front matter is read, and it is ~10x faster."""


def split(text: str) -> tuple[dict[str, Any], str, str | None, int]:
    """Return ``(meta, body, error, fm_lines)``.

    The front matter lines are replaced by blank lines in ``body`` so that every line number the
    markdown parser reports is still a line number of the file on disk.
    """
    if not text.startswith("---"):
        return {}, text, None, 0
    lines = text.split("\n")
    if not _FENCE.match(lines[0]):
        return {}, text, None, 0
    end = next((i for i in range(1, len(lines)) if _FENCE.match(lines[i]) or lines[i].rstrip() == "..."), None)
    if end is None:
        return {}, text, "front matter starts with '---' but has no closing '---'", 0
    raw = "\n".join(lines[1:end])
    body = "\n" * (end + 1) + "\n".join(lines[end + 1 :])
    try:
        data = yaml.load(raw, Loader=SAFE_LOADER) if raw.strip() else {}  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return {}, body, f"front matter is not valid YAML{where}: {problem}", end + 1
    if data is None:
        data = {}
    if not isinstance(data, dict):
        kind = type(data).__name__
        return {}, body, f"front matter must be a mapping of keys to values, got a {kind}", end + 1
    meta = _plain(data)
    for key in list(meta):  # Hugo reads keys in any case (`Title:`, `Weight:`): the lowercase name answers too
        meta.setdefault(key.lower(), meta[key])
    return meta, body, None, end + 1


def _plain(value: Any) -> Any:
    """Make YAML values JSON- and pickle-friendly (dates become ISO strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$")
_ATTR = re.compile(r"\s*\{[^}]*\}\s*$")


def peek_title(text: str) -> tuple[str | None, float]:
    """A cheap title and weight for ordering a folder-tree nav before any page is parsed."""
    meta, body, _err, _n = split(text)
    weight = meta.get("weight", 0)
    title = meta.get("title")
    if not isinstance(weight, int | float):
        weight = 0
    if not isinstance(title, str):
        title = None
        in_fence = False
        for line in body.split("\n"):
            if line.startswith(("```", "~~~")):
                in_fence = not in_fence
            elif not in_fence and (m := _H1.match(line)):
                title = _ATTR.sub("", m.group(1))
                break
    return title, float(weight)
