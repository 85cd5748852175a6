"""``[site] raw_html``: what becomes of raw HTML written in Markdown.

* ``allow`` (default): published as written. Docs need it (tables with colspans, ``<details>``,
  embedded diagrams), and the daemon serves sites on their own origin, so a script on a page
  cannot act on the dashboard.
* ``escape``: raw HTML blocks and inline tags are shown as text (markdown-it's render rules below).
* ``sanitize``: the rendered page body goes through ammonia (Rust, via the small ``nh3`` wheel): an
  allowlist keeps what Markdown itself produces and the usual safe tags, and drops ``<script>``,
  ``<style>``, ``<iframe>``/``<object>``/``<embed>``, forms, every ``on*`` attribute, ``javascript:``
  and ``data:`` URLs, and any ``style`` beyond ``text-align`` (markdown-it's table alignment).

For sites that take contributions from people who are not trusted to run scripts on the site's own
origin (its visitors' cookies, its search box). The theme's own markup is not touched.
"""

from __future__ import annotations

import html
from typing import Any

MODES = ("allow", "sanitize", "escape")

_TAGS = {
    "a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "data",
    "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "input", "ins", "kbd", "li", "mark", "ol", "p", "picture", "pre", "q", "rp", "rt",
    "ruby", "s", "samp", "section", "small", "source", "span", "strong", "sub", "summary", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "var", "wbr",
}
_GENERIC = {"id", "class", "title", "lang", "dir"}
_ATTRIBUTES: dict[str, set[str]] = {
    "*": _GENERIC,
    "a": {"href", "hreflang", "name"},
    "img": {"src", "alt", "width", "height", "loading", "srcset", "sizes"},
    "source": {"srcset", "type", "media", "sizes"},
    "input": {"checked", "disabled"},
    "details": {"open"},
    "ol": {"start", "type", "reversed"},
    "td": {"colspan", "rowspan", "headers", "align", "style"},
    "th": {"colspan", "rowspan", "headers", "scope", "align", "style"},
    "col": {"span"}, "colgroup": {"span"},
    "time": {"datetime"}, "data": {"value"},
    "blockquote": {"cite"}, "q": {"cite"}, "del": {"cite", "datetime"}, "ins": {"cite", "datetime"},
}
_VALUES = {"input": {"type": {"checkbox"}}}
"""Task-list checkboxes only: no text fields, no buttons."""


def sanitize(fragment: str) -> str:
    import nh3

    return str(nh3.clean(fragment, tags=_TAGS, attributes=_ATTRIBUTES, tag_attribute_values=_VALUES,
                         url_schemes={"http", "https", "mailto", "tel"}, filter_style_properties={"text-align"},
                         generic_attribute_prefixes={"aria-"}, link_rel=None, strip_comments=True))


def render_block(self: Any, tokens: list[Any], idx: int, options: Any, env: Any) -> str:
    content = str(tokens[idx].content)
    if (env or {}).get("raw_html") == "escape":
        return f"<p>{html.escape(content.strip())}</p>\n"
    return content


def render_inline(self: Any, tokens: list[Any], idx: int, options: Any, env: Any) -> str:
    content = str(tokens[idx].content)
    return html.escape(content) if (env or {}).get("raw_html") == "escape" else content
