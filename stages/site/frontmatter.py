"""Front matter split off a page without shifting its line numbers: YAML between ``---`` lines
(MkDocs, Hugo), and Hugo's TOML between ``+++`` lines and JSON object at the top of the page."""

from __future__ import annotations

import datetime
import json
import re
import tomllib
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
    if not text.startswith(("---", "+++", "{")):
        return {}, text, None, 0
    lines = text.split("\n")
    first = lines[0].rstrip()
    if _FENCE.match(lines[0]):
        kind, closes = "YAML", lambda line: bool(_FENCE.match(line)) or line.rstrip() == "..."
    elif first == "+++":
        kind, closes = "TOML", lambda line: line.rstrip() == "+++"
    elif first == "{":
        kind, closes = "JSON", lambda line: line.rstrip() == "}"
    else:
        return {}, text, None, 0
    end = next((i for i in range(1, len(lines)) if closes(lines[i])), None)
    if end is None:
        return {}, text, f"front matter starts with {first!r} but has no closing line", 0
    raw = "\n".join(lines[1:end]) if kind != "JSON" else "\n".join(lines[: end + 1])
    body = "\n" * (end + 1) + "\n".join(lines[end + 1 :])
    data, problem = _load(kind, raw)
    if problem:
        return {}, body, f"front matter is not valid {kind}{problem}", end + 1
    if data is None:
        data = {}
    if not isinstance(data, dict):
        kind = type(data).__name__
        return {}, body, f"front matter must be a mapping of keys to values, got a {kind}", end + 1
    meta = _plain(data)
    for key in list(meta):  # Hugo reads keys in any case (`Title:`, `Weight:`): the lowercase name answers too
        meta.setdefault(key.lower(), meta[key])
    return meta, body, None, end + 1


def _load(kind: str, raw: str) -> tuple[Any, str]:
    """The parsed front matter, or ``(None, " (line N): what")`` for the error message."""
    if not raw.strip():
        return {}, ""
    try:
        if kind == "TOML":
            return tomllib.loads(raw), ""
        if kind == "JSON":
            return json.loads(raw), ""
        return yaml.load(raw, Loader=SAFE_LOADER), ""  # noqa: S506 (a safe loader)
    except tomllib.TOMLDecodeError as exc:
        return None, f": {exc}"
    except json.JSONDecodeError as exc:
        return None, f" (line {exc.lineno}): {exc.msg}"
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        return None, f"{where}: {getattr(exc, 'problem', None) or str(exc).splitlines()[0]}"


def _plain(value: Any) -> Any:
    """Make YAML and TOML values JSON- and pickle-friendly (dates and times become ISO strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime.date | datetime.datetime | datetime.time):
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
