"""Chapter HTML without the code spans no print stylesheet can style.

Pygments wraps every token of a code block in ``<span class="n">`` (a name), ``"p"`` (a
punctuation mark) and so on: 69,000 spans in the FastAPI book. The light Pygments style gives
names and punctuation no style at all; only the dark one does, under ``[data-theme=dark]``, which
a printed chapter never has. WeasyPrint still builds, styles and lays out an inline box for each,
about a sixth of its time on a code-heavy chapter. Unwrapping those spans leaves the same text in
the same places: the same pages and anchor positions, the same text; only the antialiasing of a
few glyph edges moves, since a line is drawn in fewer runs.

It is done only when it is safe for *every* stylesheet of the book: no selector (outside the
dark theme, when the chapter has no ``data-theme``) names the class, matches a ``span`` by type,
``*`` or attributes, or depends on siblings or position (``+``, ``~``, ``:nth-child``...), since
removing a span changes what those match.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import tinycss2

_TOKEN_SPAN = re.compile(r'<span class="([A-Za-z0-9_-]+)">([^<]*)</span>')
_CLASS = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")
_STRUCTURAL = re.compile(
    r"[+~]|\*|\[|:(?:nth-|first-|last-|only-|empty|is\(|where\(|not\(|has\()"
    r"|(?:^|[\s>(])span(?![\w.-])",
    re.IGNORECASE,
)
_DARK = "[data-theme"


def _selectors(css: str) -> list[str]:
    """Every element selector of a stylesheet, at-rule contents included (``@page`` and
    ``@font-face`` select no elements)."""
    out: list[str] = []

    def walk(rules: list[object]) -> None:
        for rule in rules:
            if rule.type == "qualified-rule":  # type: ignore[attr-defined]
                prelude = tinycss2.serialize(rule.prelude)  # type: ignore[attr-defined]
                out.extend(s.strip() for s in prelude.split(","))
            elif rule.type == "at-rule" and rule.content is not None:  # type: ignore[attr-defined]
                if rule.lower_at_keyword in ("page", "font-face", "counter-style"):  # type: ignore[attr-defined]
                    continue
                walk(tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True))  # type: ignore[attr-defined]

    walk(tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True))
    return out


@functools.lru_cache(maxsize=8)
def _styled(css_texts: tuple[str, ...], dark_applies: bool) -> frozenset[str] | None:
    """Classes some selector names, or None when a selector could match an unwrapped span
    regardless of its class (then nothing is unwrapped)."""
    used: set[str] = set()
    for css in css_texts:
        for sel in _selectors(css):
            if _DARK in sel and not dark_applies:
                continue
            if _STRUCTURAL.search(sel):
                return None
            used.update(_CLASS.findall(sel))
    return frozenset(used)


def sheet_texts(stylesheets: list[str], css_text: str) -> tuple[str, ...]:
    """The stylesheets' text and the stage's own CSS: read once per book, not once per chapter."""
    return tuple(Path(f).read_text("utf-8", errors="replace") for f in stylesheets) + (css_text,)


def styled_classes(stylesheets: list[str], css_text: str, dark_applies: bool) -> frozenset[str] | None:
    return _styled(sheet_texts(stylesheets, css_text), dark_applies)


def unwrap_code_spans(chapter_html: str, stylesheets: list[str], css_text: str) -> str:
    """The chapter with every ``<span class="x">text</span>`` whose class no stylesheet uses
    replaced by its text (see the module docstring for when this is done)."""
    if '<span class="' not in chapter_html:
        return chapter_html
    return unwrap_with(chapter_html, sheet_texts(stylesheets, css_text))


def unwrap_with(chapter_html: str, texts: tuple[str, ...]) -> str:
    """:func:`unwrap_code_spans` with the stylesheets already read (:func:`sheet_texts`)."""
    if '<span class="' not in chapter_html:
        return chapter_html
    used = _styled(texts, _DARK[1:] in chapter_html)
    if used is None:
        return chapter_html

    def keep_or_unwrap(m: re.Match[str]) -> str:
        return m.group(0) if m.group(1) in used else m.group(2)

    return _TOKEN_SPAN.sub(keep_or_unwrap, chapter_html)
