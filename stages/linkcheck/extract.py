"""Find links and anchors in HTML and CSS.

A small regex tokenizer rather than ``html.parser`` (which LinkChecker uses through
BeautifulSoup): link extraction was most of the checker's CPU time, and a page only needs its
tags, not a tree. Like ``html.parser`` it is tolerant, so broken markup yields whatever links can
be read instead of an exception, and each link keeps the line and column of its tag.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

# The tags and attributes we read, LinkChecker's list minus obsolete ones (applet, layer...).
LINK_ATTRS: dict[str, tuple[str, ...]] = {
    "a": ("href",),
    "area": ("href",),
    "audio": ("src",),
    "body": ("background",),
    "embed": ("src",),
    "frame": ("src",),
    "iframe": ("src",),
    "img": ("src", "srcset"),
    "input": ("src",),
    "link": ("href",),
    "object": ("data",),
    "script": ("src",),
    "source": ("src", "srcset"),
    "track": ("src",),
    "video": ("src", "poster"),
    "meta": ("content",),
}
_CSS_URL = re.compile(r"url\(\s*(?P<url>'[^']+'|\"[^\"]+\"|[^)\s]+)\s*\)")
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_REFRESH = re.compile(r"(?i)^\d+;\s*url=(?P<url>.+)$")
_NOFOLLOW = re.compile(r"(?i)\bnofollow\b|\bnone\b")


@dataclass(frozen=True)
class FoundLink:
    url: str
    line: int
    column: int
    name: str = ""


@dataclass
class PageLinks:
    """What one page offers: its links, its anchors, its ``<base href>``, and robots hints."""

    links: list[FoundLink] = field(default_factory=list)
    anchors: set[str] = field(default_factory=set)
    base: str = ""
    nofollow: bool = False


_TOKEN = re.compile(
    r"""<!--.*?(?:-->|\Z)"""                                   # comment
    r"""|<([a-zA-Z][^\s/>]*)((?:"[^"]*"|'[^']*'|[^'">])*)>"""  # start tag with attributes
    r"""|</([a-zA-Z][^\s>]*)\s*>""",                           # end tag
    re.DOTALL)
_ATTR = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_RAW_END = {"script": re.compile(r"</script\s*>", re.IGNORECASE),
            "style": re.compile(r"</style\s*>", re.IGNORECASE)}
_TAGS = re.compile(r"<[^>]*>")


class _Collector:
    """Turns tags into links and anchors. Fed by :func:`_scan`, a tolerant regex tokenizer:
    several times faster than ``html.parser`` on real pages, and like it, it never gives up on
    bad markup (an unclosed tag is skipped, the rest of the page is still read)."""

    def __init__(self) -> None:
        self.page = PageLinks()
        self._open_a: list[tuple[int, int]] = []

    def start(self, tag: str, values: dict[str, str], line: int, column: int, end: int) -> None:
        page = self.page
        anchor = values.get("id")
        if anchor:
            page.anchors.add(anchor)
        if tag == "a" and values.get("name"):
            page.anchors.add(values["name"])
        if tag == "base" and not page.base and values.get("href"):
            page.base = values["href"].strip()
        if tag == "meta" and values.get("name", "").lower() == "robots":
            page.nofollow = bool(_NOFOLLOW.search(values.get("content", "")))
        style = values.get("style")
        if style:
            for url, _, _ in css_urls(style):
                self._add(url, line, column, "")
        for attr in LINK_ATTRS.get(tag, ()):
            value = values.get(attr)
            if value is None:
                continue
            if tag == "meta":
                match = _REFRESH.match(value) if values.get("http-equiv", "").lower() == "refresh" else None
                if match:
                    self._add(match.group("url").strip(), line, column, "")
                continue
            if tag == "link" and any(r in values.get("rel", "").lower() for r in ("preconnect", "dns-prefetch")):
                continue
            if attr == "srcset":
                for url in parse_srcset(value):
                    self._add(url, line, column, self._name(tag, values))
                continue
            self._add(value, line, column, self._name(tag, values))
            if tag == "a":
                self._open_a.append((len(page.links) - 1, end))

    def end_a(self, text: str, start: int) -> None:
        if not self._open_a:
            return
        index, opened = self._open_a.pop()
        inner = text[opened:start]
        name = html.unescape(_TAGS.sub("", inner)).strip() if inner else ""
        link = self.page.links[index]
        if name:
            self.page.links[index] = FoundLink(link.url, link.line, link.column, name)

    def _name(self, tag: str, values: dict[str, str]) -> str:
        if tag == "a":
            return values.get("title", "")
        if tag == "img":
            return values.get("alt", "") or values.get("title", "")
        return ""

    def _add(self, url: str, line: int, column: int, name: str) -> None:
        self.page.links.append(FoundLink(url, line, column, name))


def _attributes(raw: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for match in _ATTR.finditer(raw):
        name = match.group(1).lower()
        if name in values:
            continue
        value = match.group(2)
        if value is None:
            value = match.group(3)
        if value is None:
            value = match.group(4)
        if value is None:
            value = ""
        values[name] = html.unescape(value) if "&" in value else value
    return values


def _scan(text: str, collector: _Collector) -> None:
    line, counted, last_nl = 1, 0, -1
    pos = 0
    search = _TOKEN.search
    while (match := search(text, pos)) is not None:
        start = match.start()
        pos = match.end()
        tag = match.group(1)
        if tag is None:
            end_tag = match.group(3)
            if end_tag is not None and end_tag.lower() == "a":
                collector.end_a(text, start)
            continue
        line += text.count("\n", counted, start)
        counted = start
        last_nl = text.rfind("\n", 0, start) if line > 1 else -1
        tag = tag.lower()
        raw = match.group(2)
        values = _attributes(raw) if raw.strip() else {}
        collector.start(tag, values, line, start - last_nl, pos)
        if raw.rstrip().endswith("/") and tag == "a":
            collector.end_a(text, pos)
        if tag in _RAW_END:
            close = _RAW_END[tag].search(text, pos)
            content_end = close.start() if close else len(text)
            if tag == "style":
                _style_block(text, pos, content_end, collector)
            pos = close.end() if close else len(text)


def _style_block(text: str, begin: int, end: int, collector: _Collector) -> None:
    """CSS ``url()`` in a ``<style>`` element, placed at their line in the page."""
    first_line = text.count("\n", 0, begin) + 1
    column0 = begin - text.rfind("\n", 0, begin)
    for url, dline, dcol in css_urls(text[begin:end]):
        collector._add(url, first_line + dline - 1, dcol + 1 if dline > 1 else column0 + dcol, "")


def parse_html(text: str) -> PageLinks:
    """Links and anchors of one page. Never raises on bad markup: what parsed is returned."""
    collector = _Collector()
    _scan(text, collector)
    return collector.page


def css_urls(text: str) -> list[tuple[str, int, int]]:
    """``url()`` references in CSS as ``(url, line, column)``; column is LinkChecker's
    (0-based offset of the URL in its line)."""
    found = []
    for lineno, line in enumerate(_CSS_COMMENT.sub("", text).splitlines(), start=1):
        for match in _CSS_URL.finditer(line):
            url = match.group("url").strip()
            if len(url) >= 2 and url[0] == url[-1] and url[0] in "'\"":
                url = url[1:-1]
            found.append((url.strip(), lineno, match.start("url")))
    return found


def parse_css(text: str) -> PageLinks:
    return PageLinks(links=[FoundLink(u, line, col) for u, line, col in css_urls(text)])


def parse_srcset(value: str) -> list[str]:
    """URLs of a ``srcset``: the WHATWG splitting loop, descriptors skipped (as LinkChecker)."""
    urls: list[str] = []
    pos, end_of_input, blank = 0, len(value), " \t\n\r\f"
    while pos < end_of_input:
        while pos < end_of_input and (value[pos] in blank or value[pos] == ","):
            pos += 1
        if pos >= end_of_input:
            break
        start = pos
        while pos < end_of_input and value[pos] not in blank:
            pos += 1
        end = pos
        if value[end - 1] == ",":
            while end > start and value[end - 1] == ",":
                end -= 1
        else:
            while pos < end_of_input and value[pos] != ",":
                if value[pos] == "(":
                    while pos < end_of_input and value[pos] != ")":
                        pos += 1
                pos += 1
        if end > start:
            urls.append(value[start:end])
    return urls
