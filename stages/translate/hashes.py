"""The source hash a translation records, so staleness survives checkouts, copies and snapshots.

File times say when a file was copied, not when it was written, and every job builds a fresh
snapshot; a hash of the text itself is the same wherever the file travels. Line endings and
trailing blanks are normalized so an editor's whitespace habits never make a page stale.
"""

from __future__ import annotations

import hashlib


def normalize(text: str) -> str:
    """``\\n`` line endings and no trailing whitespace on any line."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines)


def source_hash(text: str) -> str:
    """First 16 hex digits of the SHA-256 of the normalized source page."""
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()[:16]
