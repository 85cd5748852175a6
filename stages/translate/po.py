"""gettext catalogs per page: extract them from the source, judge them, apply them.

One catalog per page and language (``<po_dir>/<lang>/<page>.po``) holds one message per block
(:mod:`stages.translate.segments`), so translators keep the tools they know (Poedit, Weblate,
msgmerge). Extracting again keeps every translation: an unchanged message keeps its
``msgstr``; a changed one takes the old translation of its closest former message marked
``fuzzy`` (as ``msgmerge`` does), and messages that left the page stay as obsolete entries.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polib

from stages.translate import segments
from stages.translate.hashes import source_hash

HASH_HEADER = "X-Source-Hash"
FUZZY_RATIO = 0.6
"""How alike a former message must be for its translation to be offered (fuzzy) for a new one."""

PoState = Literal["translated", "stale", "missing"]


class PoError(Exception):
    """A catalog that cannot be read (syntax, encoding)."""


@dataclass(frozen=True)
class ExtractStats:
    messages: int
    kept: int
    """Messages whose translation was kept as is."""
    fuzzy: int
    """Changed messages given a former translation, marked fuzzy for review."""
    obsolete: int


def catalog_path(root: Path, po_dir: str, lang: str, src: str) -> Path:
    """``<root>/<po_dir>/<lang>/<page without .md>.po``."""
    stem = src.rsplit(".", 1)[0] if src.endswith((".md", ".markdown")) else src
    return root / po_dir / lang / f"{stem}.po"


def load(path: Path) -> Any:
    """The catalog at ``path`` (a ``polib.POFile``); :class:`PoError` when it is broken."""
    try:
        return polib.pofile(str(path), encoding="utf-8", check_for_duplicates=True)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PoError(message.replace(str(path), path.name)) from exc  # a job's workspace path is nobody's business


def _closest(msgid: str, pool: dict[str, Any]) -> Any | None:
    best, best_ratio = None, FUZZY_RATIO
    for old_id, entry in pool.items():
        matcher = difflib.SequenceMatcher(None, old_id, msgid, autojunk=False)
        if matcher.real_quick_ratio() < best_ratio or matcher.quick_ratio() < best_ratio:
            continue
        ratio = matcher.ratio()
        if ratio >= best_ratio:
            best, best_ratio = entry, ratio
    return best


def extract(text: str, src: str, lang: str, existing: Any | None = None) -> tuple[Any, ExtractStats]:
    """The catalog for page ``src`` (its source ``text``) in ``lang``, keeping ``existing``'s work."""
    cat = polib.POFile(wrapwidth=0)
    cat.metadata = {
        "Project-Id-Version": src,
        "Language": lang,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        HASH_HEADER: source_hash(text),
    }
    old: dict[str, Any] = {}
    if existing is not None:
        for entry in existing:
            old.setdefault(entry.msgid, entry)
        cat.metadata = {**{k: v for k, v in existing.metadata.items() if k not in cat.metadata}, **cat.metadata}
    kept = fuzzy = 0
    new_ids = segments.msgids(text)
    current = {msgid for msgid, _ in new_ids}
    unused = {k: e for k, e in old.items() if k not in current and e.msgstr}
    for msgid, line in new_ids:
        entry = polib.POEntry(msgid=msgid, msgstr="", occurrences=[(src, str(line))])
        prior = old.get(msgid)
        if prior is not None and prior.msgstr:
            entry.msgstr = prior.msgstr
            entry.flags = [f for f in prior.flags if f == "fuzzy"]
            entry.previous_msgid = prior.previous_msgid if "fuzzy" in prior.flags else None
            entry.tcomment = prior.tcomment
            kept += 1
        elif (near := _closest(msgid, unused)) is not None:
            entry.msgstr = near.msgstr
            entry.flags = ["fuzzy"]
            entry.previous_msgid = near.msgid
            entry.tcomment = near.tcomment
            del unused[near.msgid]  # carried on as this entry's previous msgid, not as an obsolete one
            fuzzy += 1
        cat.append(entry)
    obsolete = 0
    for msgid, prior in unused.items():
        cat.append(polib.POEntry(msgid=msgid, msgstr=prior.msgstr, obsolete=True, tcomment=prior.tcomment))
        obsolete += 1
    return cat, ExtractStats(messages=len(new_ids), kept=kept, fuzzy=fuzzy, obsolete=obsolete)


def translations(cat: Any) -> dict[str, str]:
    """Messages with a translation that is neither fuzzy nor obsolete."""
    return {e.msgid: e.msgstr for e in cat if not e.obsolete and e.translated()}


def judge(cat: Any, text: str) -> tuple[PoState, int, int]:
    """``(state, translated messages, messages)`` of a catalog against the current source text.

    Every current message translated and none fuzzy: ``translated``; else ``stale`` when the
    catalog holds any translation at all (fuzzy and obsolete ones too: work that the source's
    change made out of date), else ``missing``.
    """
    done = translations(cat)
    ids = [msgid for msgid, _ in segments.msgids(text)]
    ok = sum(1 for msgid in ids if msgid in done)
    if ok == len(ids):
        return "translated", ok, len(ids)
    if any(e.msgstr for e in cat):
        return "stale", ok, len(ids)
    return "missing", ok, len(ids)


def apply(cat: Any, text: str) -> str:
    """The translated page: the source with each translated message replaced; code, HTML and
    messages without a (non-fuzzy) translation stay as in the source."""
    return segments.apply(text, translations(cat))


def recorded_hash(cat: Any) -> str | None:
    value = cat.metadata.get(HASH_HEADER)
    return str(value) if value else None
