"""Split a markdown page into what a machine translator may see and what it must never see.

A page becomes a list of pieces: verbatim strings (code, URLs, link targets, front matter keys,
include directives, HTML tags, admonition markers, table pipes, ...) and :class:`Unit` s, runs of
prose interleaved with inline parts to keep. The block structure comes from markdown-it tokens
(so an indented code block inside an admonition is found as markdown finds it); inline parts to
keep are found with conservative patterns: when in doubt a part is kept, never sent, because an
untranslated word is a small loss and a mangled code sample or URL is a broken page.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

_LINK_TARGET = r"\((?:<[^>\n]*>|(?:[^()\s]|\([^()\s]*\))*)(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^)\n]*\)))?\s*\)"
# Alternatives in priority order; every match is kept verbatim, except a link's text (group
# ``ltext``), which is handed back for translation between its kept opener and closer.
INLINE = re.compile(
    "|".join([
        r"(?P<code>(?<!`)(?P<ticks>`+)(?!`)[\s\S]*?(?<!`)(?P=ticks)(?!`))",
        r"(?P<comment><!--[\s\S]*?-->)",
        r"(?P<autolink><(?:[a-zA-Z][a-zA-Z0-9+.-]{1,31}:[^<>\s]*|[^<>\s@]+@[^<>\s@]+)>)",
        r"(?P<tag></?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>)",
        r"(?P<task>^\[[ xX]\](?=\s))",
        r"(?P<macro>\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}|\{#[\s\S]*?#\}|\{\*[\s\S]*?\*\}|\{![\s\S]*?!\}|--8<--.*)",
        r"(?P<footref>\[\^[^\]\s]+\])",
        r"(?P<lopen>!?\[)(?P<ltext>(?:[^\[\]\n]|\[[^\[\]\n]*\])*)(?P<lclose>\](?:" + _LINK_TARGET + r"|\[[^\]\n]*\]))",
        r"(?P<url>\b(?:https?|ftp|mailto|file):[^\s<>\"'`)\]]*[^\s<>\"'`)\].,;:!?])",
        r"(?P<email>(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)",
        r"(?P<www>\bwww\.[^\s<>\"'`)\]]*[^\s<>\"'`)\].,;:!?])",
        r"(?P<attrs>\{:?[ \t]*(?:[#.:]|[\w-]+=)[^{}\n]*\}|\{:[^{}\n]*\})",
        r"(?P<entity>&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);)",
        r"(?P<keys>\+\+[\w+-]+\+\+)",
        r"(?P<emoji>(?<![\w:]):[a-z0-9_+-]+(?:-[a-z0-9_+-]+)*:(?![\w:]))",
        r"(?P<path>(?<![\w/])(?:\.{0,2}/)?[\w.-]+(?:/[\w.-]+)+/?(?![\w/]))",
    ])
)
_ADMONITION = re.compile(r"^(?P<pre>[ \t>]*(?:!!!|\?\?\?\+?)[ \t]+[\w-]+(?:[ \t]+[\w-]+)*[ \t]*(?:\"|$))(?P<title>[^\"]*)(?P<post>\".*)?$")
_BLOCK_FENCE = re.compile(r"^(?P<pre>[ \t>]*/{3,}[ \t]*[\w-]+[ \t]*(?:\|[ \t]*)?)(?P<title>.*?)(?P<post>[ \t]*)$")
_TAB = re.compile(r"^(?P<pre>[ \t>]*===\+?[ \t]+\")(?P<title>[^\"]*)(?P<post>\".*)$")
_SPECIAL_LINE = re.compile(r"^[ \t>]*(?:/{3,}|:::|===\+?[ \t]|--8<--|\{\*|\{!|\{%|\{\{|\{#|\*\[[^\]]+\]:)")
_KEEP_LINE = re.compile(r"^\*\[[^\]]+\]:")
"""Abbreviation definitions: the expansion is matched against the page's words, kept as written."""
_HTML_PARTS = re.compile(r"<!--[\s\S]*?-->|<(script|style|pre|code|textarea|svg|math)\b[\s\S]*?</\1\s*>|<[^<>]*>")
_UNSAFE = re.compile(r"\{\{|\}\}|\{%|%\}|\{\*|\*\}|\{!|!\}|--8<--|<[A-Za-z/!?]|://|`|~~~")
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9-]*)")
INLINE_TAGS = frozenset(["a", "abbr", "b", "bdi", "bdo", "br", "cite", "del", "dfn", "em", "i", "ins", "mark", "q", "s",
                         "small", "span", "strong", "sub", "sup", "time", "u", "wbr"])
"""Tags inside a sentence: a text node around them is sent as one string, the tags as placeholders."""
_PIPE = re.compile(r"(?<!\\)\|")
_FRONT = re.compile(r"\A(?P<fence>---|\+\+\+)[ \t]*\r?\n(?P<body>[\s\S]*?)\r?\n(?P=fence)[ \t]*(?:\r?\n|\Z)")
_FRONT_VALUE = re.compile(r"^(?P<key>title|description|linkTitle)(?P<sep>[ \t]*[:=][ \t]*)(?P<value>.*?)(?P<end>[ \t]*\r?\n?)$")


@dataclass
class Unit:
    """Prose to translate: ``parts`` are ``(keep, text)``; ``pairs`` are the indexes (among the
    kept parts) of a link's opener and closer, which must stay in that order."""

    parts: list[tuple[bool, str]]
    pairs: list[tuple[int, int]] = field(default_factory=list)
    quote: str | None = None
    """For a front matter value: its YAML/TOML quote (``"``, ``'``, or ``""`` when plain), re-applied after."""

    def kept(self) -> list[str]:
        return [t for k, t in self.parts if k]

    def texts(self) -> list[str]:
        return [t for k, t in self.parts if not k]


Piece = str | Unit


def has_words(text: str) -> bool:
    return any(c.isalpha() for c in text)


def inline_unit(text: str, *, join_lines: bool = False) -> list[Piece]:
    """Prose with its inline parts to keep; leading and trailing kept parts and whitespace are
    split off as verbatim pieces so a translator sees as few placeholders as possible."""
    parts: list[tuple[bool, str]] = []
    pairs: list[tuple[int, int]] = []
    pos = 0

    def add(keep: bool, s: str) -> None:
        if not s:
            return
        if not keep and _UNSAFE.search(s):
            keep = True  # half a directive, tag or URL the patterns did not pair up: never sent
        if not keep and join_lines:
            s = re.sub(r"[ \t]*\n[ \t]*", " ", s)
        if parts and parts[-1][0] == keep and not keep:
            parts[-1] = (keep, parts[-1][1] + s)
        else:
            parts.append((keep, s))

    for m in INLINE.finditer(text):
        add(False, text[pos : m.start()])
        if m.group("lopen") is not None:
            opener = sum(1 for k, _ in parts if k)
            add(True, m.group("lopen"))
            inner = inline_unit(m.group("ltext"))  # link text may hold code or tags
            for piece in inner:
                if isinstance(piece, Unit):
                    base = sum(1 for k, _ in parts if k)
                    pairs.extend((a + base, b + base) for a, b in piece.pairs)
                    for k, s in piece.parts:
                        parts.append((k, s)) if k else add(False, s)
                else:
                    add(True, piece) if not piece.isspace() else add(False, piece)
            pairs.append((opener, sum(1 for k, _ in parts if k)))
            add(True, m.group("lclose"))
        else:
            add(True, m.group(0))
        pos = m.end()
    add(False, text[pos:])
    return _trim(parts, pairs)


def _trim(parts: list[tuple[bool, str]], pairs: list[tuple[int, int]]) -> list[Piece]:
    head: list[str] = []
    tail: list[str] = []
    lo, hi = 0, len(parts)
    while lo < hi and (parts[lo][0] or not parts[lo][1].strip()):
        head.append(parts[lo][1])
        lo += 1
    while hi > lo and (parts[hi - 1][0] or not parts[hi - 1][1].strip()):
        tail.insert(0, parts[hi - 1][1])
        hi -= 1
    if lo == hi or not any(has_words(t) for k, t in parts[lo:hi] if not k):
        return ["".join(t for _, t in parts)] if parts else []
    middle = list(parts[lo:hi])
    k, s = middle[0]
    lead = s[: len(s) - len(s.lstrip())]
    middle[0] = (k, s.lstrip())
    k, s = middle[-1]
    trail = s[len(s.rstrip()) :]
    middle[-1] = (k, s.rstrip())
    dropped = sum(1 for k, _ in parts[:lo] if k)
    inside = sum(1 for k, _ in middle if k)
    kept_pairs = [(a - dropped, b - dropped) for a, b in pairs if dropped <= a and b < dropped + inside]
    out: list[Piece] = []
    if head or lead:
        out.append("".join(head) + lead)
    out.append(Unit(middle, kept_pairs))
    if trail or tail:
        out.append(trail + "".join(tail))
    return out


def html_pieces(block: str) -> list[Piece]:
    """An HTML block: tags, attributes, comments and code-like elements kept, text nodes sent."""
    parts: list[tuple[bool, str]] = []
    pos = 0
    for m in _HTML_PARTS.finditer(block):
        if m.start() > pos:
            parts.append((False, block[pos : m.start()]))
        parts.append((True, m.group(0)))
        pos = m.end()
    if pos < len(block):
        parts.append((False, block[pos:]))
    out: list[Piece] = []
    run: list[str] = []
    for keep, s in parts:
        tag = _TAG_NAME.match(s) if keep else None
        if not keep or (tag and tag.group(1).lower() in INLINE_TAGS):
            run.append(s)  # text and inline tags form one sentence; inline_unit keeps the tags
            continue
        out.extend(inline_unit("".join(run)))
        run.clear()
        out.append(s)
    out.extend(inline_unit("".join(run)))
    return out


@functools.cache
def _parser() -> MarkdownIt:
    from mdit_py_plugins.admon import admon_plugin
    from mdit_py_plugins.deflist import deflist_plugin
    from mdit_py_plugins.footnote import footnote_plugin

    md = MarkdownIt("commonmark", {"html": True})
    md.enable(["table", "strikethrough"])
    return md.use(admon_plugin).use(deflist_plugin).use(footnote_plugin)


def _titled(line: str, pattern: re.Pattern[str]) -> list[Piece] | None:
    """An admonition, block or tab marker line: everything but its title is kept."""
    m = pattern.match(line)
    if m is None:
        return None
    title = m.group("title") or ""
    if not has_words(title):
        return [line]
    return [m.group("pre"), *inline_unit(title), m.group("post") or ""]


def _line(line: str, content: str) -> list[Piece]:
    """One source line whose markdown content is ``content`` (container prefixes stripped)."""
    for pattern in (_ADMONITION, _BLOCK_FENCE, _TAB):
        got = _titled(line, pattern)
        if got is not None:
            return got
    content = content.strip()
    if _KEEP_LINE.match(content):
        return [line]
    at = line.find(content) if content else -1
    if at < 0:
        return [line]
    return [line[:at], *inline_unit(content), line[at + len(content) :]]


def _table_row(line: str) -> list[Piece]:
    """A table row: pipes kept, each cell its own unit (inline code is kept whole first, so a
    pipe inside it never splits a cell that would then leak half a code span)."""
    out: list[Piece] = []
    cell: list[str] = []

    def flush() -> None:
        text = "".join(cell)
        cell.clear()
        if text:
            out.extend(inline_unit(text) if has_words(text) else [text])

    pos = 0
    for m in INLINE.finditer(line):
        _split_pipes(line[pos : m.start()], cell, out, flush)
        cell.append(m.group(0))
        pos = m.end()
    _split_pipes(line[pos:], cell, out, flush)
    flush()
    return out


def _split_pipes(text: str, cell: list[str], out: list[Piece], flush: Callable[[], None]) -> None:
    pieces = _PIPE.split(text)
    for i, s in enumerate(pieces):
        if i:
            flush()
            out.append("|")
        cell.append(s)


def segment(text: str) -> list[Piece]:
    """The page as pieces; joining the verbatim strings with the units' texts gives it back."""
    pieces: list[Piece] = []
    body = text
    fm = _FRONT.match(text)
    if fm is not None:
        pieces.extend(_front_matter(fm.group(0)))
        body = text[fm.end() :]
    lines = body.splitlines(keepends=True)
    rows: list[list[Piece] | None] = [[ln] for ln in lines]
    tokens = _parser().parse(body)
    depth_table = 0
    admon_lines: set[int] = set()
    for i, tok in enumerate(tokens):
        if tok.type == "table_open" and tok.map:
            depth_table += 1
            for n in range(tok.map[0], tok.map[1]):
                if n != tok.map[0] + 1:  # the delimiter row is all syntax
                    rows[n] = [*_table_row(_strip_nl(lines[n])), _nl(lines[n])]
        elif tok.type == "table_close":
            depth_table -= 1
        elif tok.type == "admonition_open" and tok.map:
            admon_lines.add(tok.map[0])
            rows[tok.map[0]] = [*_line(_strip_nl(lines[tok.map[0]]), ""), _nl(lines[tok.map[0]])]
        elif tok.type == "html_block" and tok.map:
            block = "".join(lines[tok.map[0] : tok.map[1]])
            rows[tok.map[0]] = html_pieces(block)
            for n in range(tok.map[0] + 1, tok.map[1]):
                rows[n] = None
        elif tok.type == "inline" and tok.map and not depth_table and tok.map[0] not in admon_lines:
            _inline_block(tok, lines, rows, tokens[i - 1] if i else None)
    for row in rows:
        if row is not None:
            pieces.extend(row)
    return pieces


def _strip_nl(line: str) -> str:
    return line.rstrip("\r\n")


def _nl(line: str) -> str:
    return line[len(_strip_nl(line)) :]


def _inline_block(tok: Token, lines: list[str], rows: list[list[Piece] | None], opener: Token | None) -> None:
    """A paragraph, heading or term. Consecutive plain lines are sent as one sentence run and
    written back on the first of them (soft line breaks are spaces to markdown); a hard break
    or a block-like line (``///``, ``===``, directives) ends a run, and such a line is its own."""
    assert tok.map is not None
    start, end = tok.map[0], max(tok.map[1], tok.map[0] + 1)
    content_lines = tok.content.split("\n")
    if end - start != len(content_lines) or any(r is None or len(r) != 1 for r in rows[start:end]):
        return  # not a plain mapping of lines to content: keep it as written
    if opener is not None and opener.type == "heading_open":
        for n, c in zip(range(start, end), content_lines, strict=True):
            rows[n] = [*_line(_strip_nl(lines[n]), c), _nl(lines[n])]
        return
    run: list[int] = []
    for n, c in zip(range(start, end), content_lines, strict=True):
        if _SPECIAL_LINE.match(c):
            _merge(run, lines, content_lines, start, rows)
            run = []
            rows[n] = [*_line(_strip_nl(lines[n]), c), _nl(lines[n])]
            continue
        run.append(n)
        if _strip_nl(lines[n]).endswith(("  ", "\\")):  # a hard break stays where it is
            _merge(run, lines, content_lines, start, rows)
            run = []
    _merge(run, lines, content_lines, start, rows)


def _merge(run: list[int], lines: list[str], content: list[str], start: int, rows: list[list[Piece] | None]) -> None:
    """Lines ``run`` of one paragraph as one unit on the first line; the others are dropped."""
    if not run:
        return
    if len(run) == 1:
        n = run[0]
        rows[n] = [*_line(_strip_nl(lines[n]), content[n - start]), _nl(lines[n])]
        return
    texts = [content[n - start].strip() for n in run]
    first, last = _strip_nl(lines[run[0]]), _strip_nl(lines[run[-1]])
    at = first.find(texts[0]) if texts[0] else -1
    last_at = last.rfind(texts[-1]) if texts[-1] else -1
    if at < 0 or last_at < 0:
        return
    tail = last[last_at + len(texts[-1]) :]
    rows[run[0]] = [first[:at], *inline_unit("\n".join(texts), join_lines=True), tail, _nl(lines[run[-1]])]
    for n in run[1:]:
        rows[n] = None


def _front_matter(block: str) -> list[Piece]:
    """Only the values of ``title`` and ``description`` are prose; every key and other value is kept."""
    out: list[Piece] = []
    for line in block.splitlines(keepends=True):
        m = _FRONT_VALUE.match(line)
        value = m.group("value") if m else ""
        quote = value[:1] if value[:1] in ("'", '"') and len(value) > 1 and value.endswith(value[:1]) else ""
        inner = value[1:-1] if quote else value
        if m is None or not has_words(inner) or (not quote and value[:1] in "|>&*!%@`[{#"):
            out.append(line)
            continue
        if quote == '"':
            inner = inner.replace('\\"', '"').replace("\\\\", "\\")
        elif quote == "'":
            inner = inner.replace("''", "'")
        got = inline_unit(inner)
        if len(got) != 1 or not isinstance(got[0], Unit):
            out.append(line)  # a value with code or links around its words: kept as written
            continue
        got[0].quote = quote or '""'
        out.extend([m.group("key") + m.group("sep"), got[0], m.group("end")])
    return out


def quote_value(text: str, quote: str) -> str:
    """A translated front matter value re-quoted the way it was (plain values that the
    translation made unsafe as plain YAML get double quotes)."""
    if quote == "'":
        return "'" + text.replace("'", "''") + "'"
    if quote == '"' or re.search(r":\s|\s#|^[-?:,\[\]{}#&*!|>'\"%@`]|\\", text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text
