"""Fixture sites that follow the render_html output contract, for the PDF and deploy tests.

``write_site`` writes ``out/<lang>/.../index.html`` pages (content inside ``<main id="content">``),
shared assets, root files, and returns the ``render_html`` outputs dict that stage would return.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class FixturePage:
    src: str
    title: str
    body: str = ""
    section: list[str] = field(default_factory=list)
    level: int = 1

    @property
    def url_path(self) -> str:
        stem = self.src[: -len(".md")] if self.src.endswith(".md") else self.src
        if stem == "index":
            return ""
        if stem.endswith("/index"):
            return stem[: -len("index")]
        return stem + "/"


PAGE_TEMPLATE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="{root}assets/site.css"></head>
<body><nav class="site-nav"><a href="{root}{lang}/">Home</a></nav>
<main id="content">
<h1 id="{slug}">{title}</h1>
{body}
</main>
<footer>footer text that must not be in the PDF</footer></body></html>
"""


def write_site(out: Path, pages_by_lang: dict[str, list[FixturePage]]) -> dict[str, Any]:
    """Write the site under ``out`` and return what render_html would put in ``outputs``."""
    (out / "assets").mkdir(parents=True, exist_ok=True)
    (out / "assets" / "site.css").write_text("body { color: black; }\n")
    (out / "index.html").write_text('<!doctype html><meta http-equiv="refresh" content="0; url=en/">')
    (out / "404.html").write_text("<!doctype html><title>Not found</title><h1>Page not found</h1>")
    (out / "robots.txt").write_text("User-agent: *\n")
    (out / "sitemap.xml").write_text('<?xml version="1.0"?><urlset></urlset>')
    languages: dict[str, Any] = {}
    for lang, pages in pages_by_lang.items():
        entries = []
        for page in pages:
            url = f"{lang}/{page.url_path}"
            file = f"{url}index.html"
            depth = url.count("/")
            root = "../" * depth
            text = PAGE_TEMPLATE.format(
                lang=lang, title=html.escape(page.title), root=root, body=page.body,
                slug=page.title.lower().replace(" ", "-"),
            )
            target = out / file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            entries.append(
                {
                    "src": page.src, "file": file, "url": url, "title": page.title,
                    "level": page.level, "section": list(page.section),
                    "hash": hashlib.sha256(text.encode()).hexdigest(), "fallback": False,
                }
            )
        languages[lang] = {"dir": f"out/{lang}", "pages": entries, "changed": [e["file"] for e in entries]}
    return {"site_dir": "out", "languages": languages}


def paragraphs(n: int, word: str = "lorem") -> str:
    """``n`` paragraphs of filler text, to make a page span several PDF pages."""
    sentence = " ".join([word, "ipsum dolor sit amet, consectetur adipiscing elit"] * 6)
    return "\n".join(f"<p>{sentence}.</p>" for _ in range(n))


def small_book(lang: str = "en", *, long_page: int = 25) -> list[FixturePage]:
    """Five pages in two nav sections, with cross-page links, anchors, code and an image."""
    return [
        FixturePage("index.md", "Welcome", f'<p>Start at <a href="guide/install/">Install</a>.</p>{paragraphs(3)}'),
        FixturePage(
            "guide/install.md", "Install",
            '<h2 id="requirements">Requirements</h2>' + paragraphs(long_page)
            + '<p>See <a href="../usage/#advanced-usage">advanced usage</a> and '
            '<a href="https://example.com/ext">the external site</a>.</p>'
            '<pre><code>' + "x = 1; " * 80 + "</code></pre>"
            '<p><img src="../../../assets/pic.svg" alt="pic"></p>',
            section=["Guide"], level=2,
        ),
        FixturePage(
            "guide/usage.md", "Usage",
            paragraphs(4) + '<h2 id="advanced-usage">Advanced usage</h2>' + paragraphs(4)
            + '<p>Back to <a href="../install/#requirements">requirements</a>.</p>',
            section=["Guide"], level=2,
        ),
        FixturePage("reference/api.md", "API reference", paragraphs(6), section=["Reference"], level=2),
        FixturePage("about.md", "About", paragraphs(2)),
    ]


SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4000" height="300"><rect width="4000" height="300" fill="#c00"/></svg>'
