"""``mkdocs.yml`` ``markdown_extensions``: which syntax a site turns on, and with which options.

A MkDocs author picks extensions and options and expects the page to look the way they render
in ``mkdocs build``. Each extension pressroom knows is mapped onto :class:`MarkdownOptions`,
which the Markdown engine is built from; an extension or option pressroom does not honour is
returned as a warning naming it, so the writer learns why a page differs instead of guessing.

This module only reads data (no Markdown code), so ``stages.site`` stays below ``stages.markdown``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_PERMALINK = "#"
"""The heading link a site without ``mkdocs.yml`` has always had."""


@dataclass(frozen=True)
class HighlightOptions:
    """``pymdownx.highlight`` options that map onto Pygments' ``HtmlFormatter``."""

    linenums: bool | None = None
    """True: every block gets line numbers; None: only blocks that ask (``linenums="1"``)."""
    linenums_style: str = "inline"
    """``table`` (Pygments' table) or ``inline``/``pymdownx-inline`` (numbers inside the lines)."""
    linenums_special: int = 0
    anchor_linenums: bool = False
    line_spans: str = ""
    line_anchors: str = ""
    css_class: str = "highlight"


@dataclass(frozen=True)
class MarkdownOptions:
    """Hashable, so the engine caches one parser per distinct set (a pool worker keeps each)."""

    permalink: str = DEFAULT_PERMALINK
    """Text of the heading link; empty: headings get ids but no link (``toc`` without ``permalink``)."""
    permalink_title: str = ""
    """``title`` of the heading link (Python-Markdown's ``Permanent link`` on MkDocs sites); none on others."""
    permalink_class: str = "headerlink"
    permalink_leading: bool = False
    toc_levels: tuple[int, ...] = (2, 3)
    mark: bool = False
    caret: bool = False
    tilde: bool = False
    keys: bool = False
    inlinehilite: bool = False
    md_in_html: bool = False
    tabbed: bool = False
    """pymdownx.tabbed: ``=== "Title"`` content tabs."""
    admonition_types: tuple[str, ...] = ()
    """``pymdownx.blocks.admonition`` ``types``: the ``/// type`` names that are admonitions (empty: all known)."""
    highlight: HighlightOptions = HighlightOptions()


PLAIN = MarkdownOptions()
"""A site without ``mkdocs.yml``: the syntax pressroom has always enabled, nothing more."""

_ALWAYS = frozenset({"abbr", "attr_list", "footnotes", "tables", "def_list", "pymdownx.tasklist", "admonition",
                     "pymdownx.details", "pymdownx.betterem", "fenced_code", "codehilite", "meta",
                     "pymdownx.blocks.details", "pymdownx.blocks.tab", "pymdownx.blocks.html",
                     "mdx_include", "markdown_include_variants", "pymdownx.snippets", "pymdownx.emoji"})
"""Extensions whose syntax the engine always has (``{* *}`` and ``{! !}`` are pressroom's own
includes, FastAPI's ``markdown_include_variants`` and ``mdx_include``). ``pymdownx.emoji`` is
accepted because its ``:name:`` codes are left as text, as without the Material icon set."""

_SWITCHES = {"pymdownx.mark": "mark", "pymdownx.caret": "caret", "pymdownx.tilde": "tilde",
             "pymdownx.keys": "keys", "pymdownx.inlinehilite": "inlinehilite", "md_in_html": "md_in_html",
             "pymdownx.tabbed": "tabbed"}

_OPTIONS: dict[str, frozenset[str]] = {
    "toc": frozenset({"permalink", "permalink_title", "permalink_class", "permalink_leading", "toc_depth"}),
    "pymdownx.highlight": frozenset({"linenums", "linenums_style", "linenums_special", "anchor_linenums",
                                     "line_spans", "line_anchors", "css_class", "use_pygments"}),
    "pymdownx.superfences": frozenset({"custom_fences"}),
    "pymdownx.blocks.admonition": frozenset({"types"}),
    "pymdownx.blocks.tab": frozenset({"alternate_style"}),
    "pymdownx.tabbed": frozenset({"alternate_style"}),
    "pymdownx.tilde": frozenset({"subscript", "delete"}),
    "pymdownx.caret": frozenset({"superscript", "insert"}),
}
"""Options honoured per extension; any other option is a warning naming it."""


def entries(value: Any) -> list[tuple[str, dict[str, Any]]]:
    """``markdown_extensions`` as ``(name, options)``: a list of names or one-key mappings, or a mapping."""
    found: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        found = list(value.items())
    for item in value if isinstance(value, list) else []:
        if isinstance(item, str):
            found.append((item, None))
        elif isinstance(item, dict):
            found.extend(item.items())
    return [(str(k), v if isinstance(v, dict) else {}) for k, v in found]


def _levels(depth: Any) -> tuple[int, ...] | None:
    """``toc_depth: 3`` or ``"2-4"``; the page title (h1) is never in the page's TOC."""
    if isinstance(depth, int) and not isinstance(depth, bool):
        low, high = 2, depth
    elif isinstance(depth, str) and "-" in depth:
        a, _, b = depth.partition("-")
        if not (a.strip().isdigit() and b.strip().isdigit()):
            return None
        low, high = max(2, int(a)), int(b)
    else:
        return None
    return tuple(range(low, min(high, 6) + 1))


def read(value: Any) -> tuple[MarkdownOptions, list[tuple[str, str]]]:
    """The options of one ``markdown_extensions`` value, and ``(key, message)`` for what is ignored."""
    warnings: list[tuple[str, str]] = []
    opts: dict[str, Any] = {}
    hl: dict[str, Any] = {}

    def ignored(ext: str, option: str, why: str = "pressroom does not support this option") -> None:
        warnings.append((f"markdown_extensions.{ext}.{option}", f"option {option!r} of {ext!r} is ignored: {why}"))

    for name, conf in entries(value):
        known = _OPTIONS.get(name, frozenset())
        if name in _SWITCHES:
            opts[_SWITCHES[name]] = True
        elif name not in _ALWAYS and name not in _OPTIONS:
            warnings.append((f"markdown_extensions.{name}",
                             f"extension {name!r} is not supported by pressroom; its syntax stays as text"))
            continue
        for option in conf:
            if option not in known:
                ignored(name, str(option))
        if name == "toc":
            link = conf.get("permalink")  # as in Python-Markdown: a listed toc adds no link unless asked
            opts["permalink"] = "¶" if link is True else (str(link) if link else "")
            opts["permalink_title"] = "Permanent link"
            for key in ("permalink_title", "permalink_class"):
                if isinstance(conf.get(key), str):
                    opts[key] = conf[key]
            opts["permalink_leading"] = conf.get("permalink_leading") is True
            if "toc_depth" in conf:
                levels = _levels(conf["toc_depth"])
                if levels is None:
                    ignored(name, "toc_depth", f"{conf['toc_depth']!r} is not a depth (3) or a range ('2-4')")
                else:
                    opts["toc_levels"] = levels
        elif name == "pymdownx.highlight":
            hl = _highlight(conf, lambda o, why: ignored("pymdownx.highlight", o, why))
        elif name == "pymdownx.blocks.admonition" and isinstance(conf.get("types"), list):
            opts["admonition_types"] = tuple(str(t).lower() for t in conf["types"] if isinstance(t, str))
        elif name in ("pymdownx.tilde", "pymdownx.caret"):
            for option in ("subscript", "superscript", "delete", "insert"):
                if conf.get(option) is False:
                    ignored(name, option, "it cannot be turned off")
    return MarkdownOptions(**opts, highlight=HighlightOptions(**hl)), warnings


def _highlight(conf: dict[str, Any], ignored: Any) -> dict[str, Any]:
    hl: dict[str, Any] = {}
    if isinstance(conf.get("linenums"), bool):
        hl["linenums"] = conf["linenums"]
    style = conf.get("linenums_style")
    if style is not None:
        if style in ("table", "inline", "pymdownx-inline"):
            hl["linenums_style"] = style
        else:
            ignored("linenums_style", f"{style!r} is not table, inline or pymdownx-inline")
    if isinstance(conf.get("linenums_special"), int):
        hl["linenums_special"] = max(0, conf["linenums_special"])
    hl["anchor_linenums"] = conf.get("anchor_linenums") is True
    for key in ("line_spans", "line_anchors", "css_class"):
        if isinstance(conf.get(key), str) and conf[key]:
            hl[key] = conf[key]
    if conf.get("use_pygments") is False:
        ignored("use_pygments", "pressroom always highlights with Pygments")
    return hl
