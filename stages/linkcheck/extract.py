"""Find links and anchors in HTML and CSS.

Uses the standard library's tolerant ``html.parser`` (as LinkChecker does through BeautifulSoup),
so broken markup yields whatever links can be read instead of an exception, and each link keeps
the line and column of its tag for the report.
"""

from __future__ import annotations

import html.parser
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


class _Parser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = PageLinks()
        self._open_a: list[tuple[int, list[str]]] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v for k, v in attrs if v is not None}
        line, col = self.getpos()
        column = col + 1
        anchor = values.get("id")
        if anchor:
            self.page.anchors.add(anchor)
        if tag == "a" and values.get("name"):
            self.page.anchors.add(values["name"])
        if tag == "base" and not self.page.base and values.get("href"):
            self.page.base = values["href"].strip()
        if tag == "meta" and values.get("name", "").lower() == "robots":
            self.page.nofollow = bool(_NOFOLLOW.search(values.get("content", "")))
        if tag == "style":
            self._in_style = True
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
                self._open_a.append((len(self.page.links) - 1, []))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "a" and self._open_a:
            self.handle_endtag("a")

    def handle_data(self, data: str) -> None:
        for _, parts in self._open_a:
            parts.append(data)
        if self._in_style:
            line, col = self.getpos()
            for url, dline, dcol in css_urls(data):
                self._add(url, line + dline - 1, dcol if dline > 1 else col + dcol + 1, "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False
        if tag == "a" and self._open_a:
            index, parts = self._open_a.pop()
            text = "".join(parts).strip()
            link = self.page.links[index]
            if text:
                self.page.links[index] = FoundLink(link.url, link.line, link.column, text)

    def _name(self, tag: str, values: dict[str, str]) -> str:
        if tag == "a":
            return values.get("title", "")
        if tag == "img":
            return values.get("alt", "") or values.get("title", "")
        return ""

    def _add(self, url: str, line: int, column: int, name: str) -> None:
        self.page.links.append(FoundLink(url, line, column, name))


def parse_html(text: str) -> PageLinks:
    """Links and anchors of one page. Never raises on bad markup: what parsed is returned."""
    parser = _Parser()
    try:
        parser.feed(text)
        parser.close()
    except (AssertionError, ValueError, IndexError):
        # html.parser gives up on a few pathological inputs; keep what was found so far.
        pass
    while parser._open_a:
        parser.handle_endtag("a")
    return parser.page


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
