"""A Markdown page cut into the units a translator works on, without losing a byte of it.

A PO catalog needs one message per paragraph, heading, list item, table row, admonition title and
front matter ``title``/``description`` (the way mdpo cuts pages); everything a translator must not
touch (fenced and indented code, HTML blocks, include directives, link definitions) stays
verbatim. The cut is by lines, and joining the segments' ``text`` gives back the page exactly, so
applying a catalog changes only the lines of translated messages.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass

import yaml

_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})")
_ATX = re.compile(r"^(\s*#{1,6}[ \t]+)(.*?)((?:[ \t]*\{[^}]*\})?[ \t]*#*[ \t]*)$")
_HR = re.compile(r"^\s*([-*_])(?:\s*\1){2,}\s*$")
_SETEXT_EQ = re.compile(r"^\s*=+\s*$")
_LIST = re.compile(r"^(\s*(?:[-*+]|\d{1,9}[.)])[ \t]+)(\S.*)$")
_FOOTNOTE = re.compile(r"^(\s*\[\^[^\]]+\]:[ \t]+)(\S.*)$")
_QUOTE = re.compile(r"^(\s*>[ \t]?)(.*)$")
_ADMONITION = re.compile(r"^(\s*(?:!!!|\?\?\?\+?)[ \t]+[\w-]+(?:[ \t]+[\w-]+)*[ \t]+\")(.*?)(\"[ \t]*)$")
_ADMONITION_BARE = re.compile(r"^\s*(?:!!!|\?\?\?\+?|===)[ \t]*\S")
_BLOCK_TITLE = re.compile(r"^(\s*/{3,}[ \t]*[\w-]+[^|\n]*\|[ \t]*)(.+?)([ \t]*)$")
_BLOCK_FENCE = re.compile(r"^\s*/{3,}")
_DIRECTIVE = re.compile(r"^\s*(?:\{\*.*\*\}|\{!.*!\}|-{2}8<-{2}.*|;-{2}8<-{2}.*|\{%.*%\}|\{\{.*\}\}|\[TOC\]|:::.*)\s*$")
_LINK_DEF = re.compile(r"^\s{0,3}(?:\[[^\]^][^\]]*\]|\*\[[^\]]+\]):")
_TABLE_DELIM = re.compile(r"^\s*\|?\s*:?-{1,}:?\s*(?:\|\s*:?-{1,}:?\s*)*\|?\s*$")
_HTML_RAW = re.compile(r"^\s*<(script|pre|style|textarea)(?:\s|>|$)", re.IGNORECASE)
_HTML_COMMENT = re.compile(r"^\s*<!--")
_HTML_BLOCK = re.compile(r"^\s*</?([A-Za-z][A-Za-z0-9-]*)(?:\s|/?>|$)")
_HTML_ALONE = re.compile(r"^\s*(?:<[A-Za-z][A-Za-z0-9-]*(?:\s+[^<>]*)?/?>|</[A-Za-z][A-Za-z0-9-]*\s*>)\s*$")
_FM_KEY = re.compile(r"^((?:title|description)[ \t]*:[ \t]*)(\S.*?)([ \t]*)$")
_TOML_KEY = re.compile(r"^((?:title|description)[ \t]*=[ \t]*)(\S.*?)([ \t]*)$")
BLOCK_TAGS = frozenset(
    [
        "address", "article", "aside", "base", "basefont", "blockquote", "body", "caption", "center", "col",
        "colgroup", "dd", "details", "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure",
        "footer", "form", "frame", "frameset", "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hr",
        "html", "iframe", "legend", "li", "link", "main", "menu", "menuitem", "nav", "noframes", "ol",
        "optgroup", "option", "p", "param", "search", "section", "summary", "table", "tbody", "td", "tfoot",
        "th", "thead", "title", "tr", "track", "ul"
    ]
)
"""CommonMark's HTML block tags: a line opening one starts a block that ends at a blank line."""


@dataclass(frozen=True)
class Segment:
    """Lines of the page; ``msgid`` is None for lines copied verbatim."""

    text: str
    line: int
    """1-based line number of the first line (a PO occurrence)."""
    msgid: str | None = None
    prefix: str = ""
    """Put before the first line of a translation (list marker, ``## ``, ``title: ``)."""
    indent: str = ""
    """Put before every further line of a translation."""
    suffix: str = ""
    """Put after the translation (a heading's ``{ #anchor }``, a title's closing quote)."""
    yaml_value: bool = False
    """The message is a front matter value: its translation is written as a quoted string (a JSON
    string is a valid YAML and TOML string)."""

    def render(self, translation: str | None) -> str:
        if self.msgid is None or not translation:
            return self.text
        if self.yaml_value:
            return f"{self.prefix}{json.dumps(translation, ensure_ascii=False)}{self.suffix}"
        first, *rest = translation.split("\n")
        return "\n".join([self.prefix + first, *(self.indent + line for line in rest)]) + self.suffix


def _text_worth_translating(msgid: str) -> bool:
    return any(ch.isalpha() for ch in msgid)


def _starts_block(line: str) -> bool:
    """A line that ends a paragraph because another block begins there."""
    return bool(
        _FENCE.match(line) or _ATX.match(line) or _HR.match(line) or _LIST.match(line) or _QUOTE.match(line)
        or _ADMONITION_BARE.match(line) or _BLOCK_FENCE.match(line) or _DIRECTIVE.match(line)
        or _HTML_COMMENT.match(line) or _HTML_RAW.match(line) or _SETEXT_EQ.match(line)
        or _FOOTNOTE.match(line) or _is_html_block(line) or line.lstrip().startswith("|")
    )


def _is_html_block(line: str) -> bool:
    m = _HTML_BLOCK.match(line)
    return bool(m and m.group(1).lower() in BLOCK_TAGS) or bool(_HTML_ALONE.match(line))


def _indent(line: str) -> int:
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip(" "))


class _Cutter:
    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.out: list[Segment] = []
        self.i = 0

    def verbatim(self, end: int) -> None:
        self.out.append(Segment("\n".join(self.lines[self.i:end]), self.i + 1))
        self.i = end

    def message(self, end: int, msgid: str, prefix: str, indent: str = "", suffix: str = "",
                yaml_value: bool = False) -> None:
        text = "\n".join(self.lines[self.i:end])
        if _text_worth_translating(msgid):
            self.out.append(Segment(text, self.i + 1, msgid, prefix, indent, suffix, yaml_value))
        else:
            self.out.append(Segment(text, self.i + 1))
        self.i = end

    def front_matter(self) -> None:
        """YAML (``---``) or Hugo's TOML (``+++``) front matter: only ``title`` and ``description``
        values are messages, and only when they sit on one line."""
        fence = self.lines[0].rstrip() if self.lines else ""
        if fence not in ("---", "+++"):
            return
        closers = ("---", "...") if fence == "---" else ("+++",)
        end = next((k for k in range(1, len(self.lines)) if self.lines[k].rstrip() in closers), None)
        if end is None:
            return
        key = _FM_KEY if fence == "---" else _TOML_KEY
        self.verbatim(1)
        while self.i < end:
            m = key.match(self.lines[self.i])
            value = None
            if m and fence == "+++":
                try:
                    value = tomllib.loads(f"v = {m.group(2)}").get("v")
                except tomllib.TOMLDecodeError:
                    value = None
            elif m and not m.group(2).startswith(("|", ">", "[", "{", "&", "*", "!")):
                try:
                    value = yaml.safe_load(m.group(2))
                except yaml.YAMLError:
                    value = None
            if m and isinstance(value, str) and value.strip():
                self.message(self.i + 1, value, m.group(1), suffix=m.group(3), yaml_value=True)
            else:
                self.verbatim(self.i + 1)
        self.verbatim(end + 1)

    def fence(self, m: re.Match[str]) -> None:
        mark = m.group(2)
        k = self.i + 1
        while k < len(self.lines):
            close = self.lines[k].strip()
            if close.startswith(mark[0] * len(mark)) and set(close) <= {mark[0]}:
                k += 1
                break
            k += 1
        self.verbatim(k)

    def html(self, line: str) -> None:
        k = self.i
        closer = None
        if (raw := _HTML_RAW.match(line)) is not None:
            closer = f"</{raw.group(1).lower()}>"
        elif _HTML_COMMENT.match(line):
            closer = "-->"
        if closer is not None:
            while k < len(self.lines) and closer not in self.lines[k].lower():
                k += 1
            self.verbatim(min(k + 1, len(self.lines)))
            return
        while k < len(self.lines) and self.lines[k].strip():
            k += 1
        self.verbatim(k)

    def table(self) -> None:
        while self.i < len(self.lines) and self.lines[self.i].strip() and "|" in self.lines[self.i]:
            line = self.lines[self.i]
            if _TABLE_DELIM.match(line):
                self.verbatim(self.i + 1)
                continue
            lead = line[: len(line) - len(line.lstrip())]
            self.message(self.i + 1, line.strip(), lead, suffix=line[len(line.rstrip()):])

    def continued(self, start: int) -> int:
        """End of a paragraph (or list item) whose first line is ``start``: lazy continuation lines
        run until a blank line or the start of another block."""
        k = start + 1
        while k < len(self.lines):
            nxt = self.lines[k]
            if not nxt.strip() or _starts_block(nxt) or (_TABLE_DELIM.match(nxt) and "|" in nxt):
                break
            k += 1
        return k

    def lines_msgid(self, start: int, end: int, first: str) -> str:
        return "\n".join([first, *(line.strip() for line in self.lines[start + 1:end])])

    def cut(self) -> list[Segment]:
        self.front_matter()
        container = False
        lines = self.lines
        while self.i < len(lines):
            line = lines[self.i]
            if not line.strip():
                self.verbatim(self.i + 1)
                continue
            if (m := _FENCE.match(line)) is not None:
                self.fence(m)
                continue
            ind = _indent(line)
            if ind >= 4 and not container:
                k = self.i + 1
                while k < len(lines) and (not lines[k].strip() or _indent(lines[k]) >= 4):
                    k += 1
                while k > self.i + 1 and not lines[k - 1].strip():
                    k -= 1
                self.verbatim(k)
                continue
            if ind == 0:
                container = False
            if _DIRECTIVE.match(line) or _LINK_DEF.match(line) or _HR.match(line) or _SETEXT_EQ.match(line):
                if line.lstrip().startswith(":::"):  # mkdocstrings: its indented options go with it
                    k = self.i + 1
                    while k < len(lines) and (not lines[k].strip() or _indent(lines[k]) > ind):
                        k += 1
                    self.verbatim(k)
                else:
                    self.verbatim(self.i + 1)
                continue
            if _HTML_RAW.match(line) or _HTML_COMMENT.match(line) or _is_html_block(line):
                self.html(line)
                continue
            if (m := _ATX.match(line)) is not None:
                self.message(self.i + 1, m.group(2), m.group(1), suffix=m.group(3))
                continue
            if (m := _ADMONITION.match(line)) is not None:
                container = True
                self.message(self.i + 1, m.group(2), m.group(1), suffix=m.group(3))
                continue
            if _ADMONITION_BARE.match(line):
                container = True
                self.verbatim(self.i + 1)
                continue
            if _BLOCK_FENCE.match(line):
                if (m := _BLOCK_TITLE.match(line)) is not None:
                    self.message(self.i + 1, m.group(2), m.group(1), suffix=m.group(3))
                else:
                    self.verbatim(self.i + 1)
                continue
            if line.lstrip().startswith("|") or (self.i + 1 < len(lines) and "|" in line
                                                 and _TABLE_DELIM.match(lines[self.i + 1]) and "|" in lines[self.i + 1]):
                self.table()
                continue
            if (m := _LIST.match(line) or _FOOTNOTE.match(line)) is not None:
                container = True
                end = self.continued(self.i)
                self.message(end, self.lines_msgid(self.i, end, m.group(2)), m.group(1), " " * len(m.group(1)))
                continue
            if (m := _QUOTE.match(line)) is not None:
                k = self.i
                while k < len(lines) and (q := _QUOTE.match(lines[k])) is not None and q.group(2).strip():
                    k += 1
                if k == self.i:
                    self.verbatim(self.i + 1)
                    continue
                parts = [q.group(2) for q in (_QUOTE.match(lines[j]) for j in range(self.i, k)) if q]
                self.message(k, "\n".join(parts), m.group(1), m.group(1))
                continue
            end = self.continued(self.i)
            lead = line[: len(line) - len(line.lstrip())]
            self.message(end, self.lines_msgid(self.i, end, line.strip()), lead, lead)
        return self.out


def cut(text: str) -> list[Segment]:
    """The page as segments; ``"\\n".join(s.text for s in cut(text)) == text``."""
    return _Cutter(text).cut()


def msgids(text: str) -> list[tuple[str, int]]:
    """Each message of the page once, in page order, with the line it first appears on."""
    seen: dict[str, int] = {}
    for seg in cut(text):
        if seg.msgid is not None and seg.msgid not in seen:
            seen[seg.msgid] = seg.line
    return list(seen.items())


def apply(text: str, translations: dict[str, str]) -> str:
    """The page with every message that has a translation replaced by it."""
    return "\n".join(seg.render(translations.get(seg.msgid) if seg.msgid is not None else None)
                     for seg in cut(text))
