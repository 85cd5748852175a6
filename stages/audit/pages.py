"""What the audit reads from one built page: title, metadata, headings, images, links, date."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


@dataclass(kw_only=True)
class PageFacts:
    title: str = ""
    description: str = ""
    lang: str = ""
    canonical: str = ""
    redirect: bool = False
    headings: list[int] = field(default_factory=list)
    """Heading levels of the main content, in document order."""
    images: list[tuple[str, str | None]] = field(default_factory=list)
    """``(src, alt)``; ``alt`` is None when the attribute is absent."""
    links: list[str] = field(default_factory=list)
    """``href`` of every ``<a>`` (all links, nav included: a page in the nav is not an orphan)."""
    date: str = ""
    """``YYYY-MM-DD`` from the page's date (front matter ``date``/``lastmod`` as rendered)."""


def parse(text: str) -> PageFacts:
    tree = LexborHTMLParser(text)
    facts = PageFacts()
    title = tree.css_first("title")
    facts.title = title.text(strip=True) if title is not None else ""
    html = tree.css_first("html")
    facts.lang = (html.attributes.get("lang") or "") if html is not None else ""
    for meta in tree.css("meta"):
        attrs = meta.attributes
        name = (attrs.get("name") or attrs.get("property") or "").lower()
        content = (attrs.get("content") or "").strip()
        if name == "description":
            facts.description = content
        elif name in ("lastmod", "date", "article:modified_time") and _DATE.match(content):
            facts.date = max(facts.date, content[:10])
        if (attrs.get("http-equiv") or "").lower() == "refresh":
            facts.redirect = True
    canonical = tree.css_first('link[rel="canonical"]')
    facts.canonical = (canonical.attributes.get("href") or "") if canonical is not None else ""
    for node in tree.css(".page-date time, time[itemprop=dateModified]"):
        value = node.attributes.get("datetime") or node.text(strip=True)
        if value and _DATE.match(value):
            facts.date = max(facts.date, value[:10])
    main = tree.css_first("main") or tree.css_first("article") or tree.css_first('[role="main"]') or tree.body
    if main is not None:
        facts.headings = [int((n.tag or "h0")[1]) for n in main.css("h1, h2, h3, h4, h5, h6")]
    for img in tree.css("img"):
        src = img.attributes.get("src")
        if src:
            facts.images.append((src, img.attributes.get("alt")))
    facts.links = [a.attributes.get("href") or "" for a in tree.css("a[href]")]
    return facts
