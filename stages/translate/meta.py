"""One front matter key read from or set in a page, leaving every other byte of the page alone.

``pressroom translate mark`` records ``source_hash`` in a translator's file and the stage marks
machine pages ``machine_translated``; re-dumping the front matter would reorder keys and requote
values in files people edit by hand, so only the one line is written. YAML (``---``) and Hugo's
TOML (``+++``) front matter are both read and written.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

from stages.site import frontmatter

_YAML = re.compile(r"^---[ \t]*$")
_TOML = re.compile(r"^\+\+\+[ \t]*$")


def get_key(text: str, key: str) -> Any:
    """The value of front matter ``key``, or None."""
    text = text.lstrip("\ufeff")
    lines = text.split("\n", 1)
    if _TOML.match(lines[0].rstrip("\r")):
        end = re.search(r"^\+\+\+[ \t]*\r?$", lines[1] if len(lines) > 1 else "", re.M)
        if end is None:
            return None
        try:
            return tomllib.loads(lines[1][: end.start()]).get(key)
        except tomllib.TOMLDecodeError:
            return None
    return frontmatter.split(text.replace("\r\n", "\n"))[0].get(key)


def set_key(text: str, key: str, value: str | bool) -> str:
    """``text`` with front matter ``key: value`` (``key = value`` in TOML), replaced when
    present, else added (a page without front matter gets a YAML block)."""
    nl = "\r\n" if "\r\n" in text else "\n"
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    body = text[len(bom):]
    rendered = "true" if value is True else "false" if value is False else json.dumps(value, ensure_ascii=False)
    lines = body.split(nl)
    fence = _TOML if lines and _TOML.match(lines[0]) else _YAML
    if lines and fence.match(lines[0]):
        line = f"{key} = {rendered}" if fence is _TOML else f"{key}: {rendered}"
        end = next((i for i in range(1, len(lines))
                    if fence.match(lines[i]) or (fence is _YAML and lines[i].rstrip() == "...")), None)
        if end is not None:
            own = re.compile(rf"^{re.escape(key)}[ \t]*[:=]")
            for i in range(1, end):
                if own.match(lines[i]):
                    lines[i] = line
                    return bom + nl.join(lines)
            lines.insert(end, line)
            return bom + nl.join(lines)
    return f"{bom}---{nl}{key}: {rendered}{nl}---{nl}{body}"
