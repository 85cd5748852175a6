"""One front matter key set in a page's text, leaving every other byte of the page alone.

``pressroom translate mark`` records ``source_hash`` in a translator's file and the stage marks
machine pages ``machine_translated``; re-dumping the YAML would reorder keys and requote values
in files people edit by hand, so only the one line is written.
"""

from __future__ import annotations

import json
import re

_FENCE = re.compile(r"^---[ \t]*$")


def set_key(text: str, key: str, value: str | bool) -> str:
    """``text`` with front matter ``key: value`` (replaced when present, else added)."""
    nl = "\r\n" if "\r\n" in text else "\n"
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    body = text[len(bom):]
    rendered = "true" if value is True else "false" if value is False else json.dumps(value, ensure_ascii=False)
    line = f"{key}: {rendered}"
    lines = body.split(nl)
    if lines and _FENCE.match(lines[0]):
        end = next((i for i in range(1, len(lines)) if _FENCE.match(lines[i]) or lines[i].rstrip() == "..."), None)
        if end is not None:
            own = re.compile(rf"^{re.escape(key)}[ \t]*:")
            for i in range(1, end):
                if own.match(lines[i]):
                    lines[i] = line
                    return bom + nl.join(lines)
            lines.insert(end, line)
            return bom + nl.join(lines)
    return f"{bom}---{nl}{line}{nl}---{nl}{body}"
