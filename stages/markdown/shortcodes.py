"""Hugo shortcodes (``{{< name args >}}`` and ``{{% name args %}}``), expanded before parsing.

Hugo expands shortcodes in the page text before Markdown sees it, so this does the same: the
common ones become the Markdown or HTML they stand for (``ref``/``relref`` a ``.md`` link the
link rules resolve and check, ``highlight`` a fence, ``figure`` a ``<figure>``, note/warning
callouts a ``/// type`` block, ``tab`` a tab, ``expand`` a collapsible block, ``mermaid`` a
diagram, ``param`` the page's or the site's value), and any other shortcode is removed (its
inner text kept) with a warning naming it, so a reader never sees raw template syntax.
``{{</* x */>}}`` is Hugo's way to show a shortcode as text and stays text. Line breaks are kept, so findings keep their line numbers.
"""

from __future__ import annotations

import html
import posixpath
import re
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from stages.site import urls

_ARGS = r"""(?P<args>(?:"[^"]*"|`[^`]*`|[^"`>%}])*?)"""
_TAG = re.compile(r"\{\{(?P<d>[<%])\s*(?P<close>/?)\s*(?P<name>[\w./-]+)" + _ARGS + r"\s*/?\s*[>%]\}\}")
_ESCAPED = re.compile(r"\{\{([<%])/\*(.*?)\*/([>%])\}\}", re.S)
_ARG = re.compile(r"""(?:(?P<key>[\w-]+)=)?(?:"(?P<dq>[^"]*)"|`(?P<bq>[^`]*)`|(?P<bare>[^\s"`]+))""")

CALLOUTS = {"note": "note", "tip": "tip", "info": "info", "warning": "warning", "caution": "caution",
            "danger": "danger", "important": "important", "alert": "warning", "callout": "note",
            "notice": "note", "hint": "note", "admonition": "note", "details": "details"}
"""Callout shortcodes of Hugo and its common themes -> the block type they render as."""
PAIRED = {"highlight", "mermaid", "tab", "expand", *CALLOUTS}
SINGLE = {"ref", "relref", "figure", "param"}
WRAPPERS = {"tabs", "tabpane"}
"""Shortcodes that only group others (a theme's tab set around its ``tab`` shortcodes): removed
without a warning, their content kept, since consecutive tabs already form one set."""
_PAIRED = re.compile(
    r"\{\{(?P<d>[<%])\s*(?P<name>" + "|".join(sorted(PAIRED)) + r")\b" + _ARGS + r"\s*[>%]\}\}"
    r"(?P<body>.*?)\{\{[<%]\s*/\s*(?P=name)\s*[>%]\}\}", re.S)


def _args(raw: str) -> tuple[list[str], dict[str, str]]:
    pos: list[str] = []
    named: dict[str, str] = {}
    for m in _ARG.finditer(raw):
        value = next(v for v in (m.group("dq"), m.group("bq"), m.group("bare"), "") if v is not None)
        if m.group("key"):
            named[m.group("key").lower()] = value
        else:
            pos.append(value)
    return pos, named


def _line(text: str, at: int) -> int:
    return text.count("\n", 0, at) + 1


def _ref(env: MutableMapping[str, Any], target: str) -> str:
    """The ``.md`` path a ``ref`` names, root-absolute so the link rules resolve it from the docs root;
    a target that matches no page is kept as written so the link check reports it."""
    path, _, frag = target.partition("#")
    docs = Path(env.get("docs_dir") or env.get("include_base") or ".")
    page_dir = posixpath.dirname(str(env.get("page_src", "")))
    path = path.strip()
    bases = [path.lstrip("/")] if path.startswith("/") else [posixpath.normpath(posixpath.join(page_dir, path)), path]
    for base in bases:
        stem = base.rstrip("/")
        names = [stem] if stem.endswith((".md", ".markdown")) else [f"{stem}.md", f"{stem}/_index.md", f"{stem}/index.md"]
        for name in names:
            if name and not name.startswith("..") and (docs / name).is_file():
                return "/" + name + (f"#{frag}" if frag else "")
    guess = bases[0].rstrip("/")
    if not guess.endswith((".md", ".markdown")):
        guess += ".md"
    return "/" + guess + (f"#{frag}" if frag else "")


def _figure(env: MutableMapping[str, Any], named: dict[str, str]) -> str:
    src = named.get("src", "")
    if src and not urls.is_external(src) and not src.startswith("/") and env.get("page_src") is not None:
        here = urls.page_file(str(env["page_src"]), bool(env.get("pretty", True)))
        src = urls.relative(here, urls.resolve_src(str(env["page_src"]), src))
    attrs = "".join(f' {k}="{html.escape(named[k])}"' for k in ("width", "height") if named.get(k))
    alt = html.escape(named.get("alt") or named.get("caption") or "")
    img = f'<img src="{html.escape(src)}" alt="{alt}"{attrs}>'
    if named.get("link"):
        img = f'<a href="{html.escape(named["link"])}">{img}</a>'
    cap = named.get("caption") or named.get("title") or ""
    caption = f"<figcaption>{html.escape(cap)}</figcaption>" if cap else ""
    cls = f' class="{html.escape(named["class"])}"' if named.get("class") else ""
    return f"<figure{cls}>{img}{caption}</figure>"


def _param(env: MutableMapping[str, Any], key: str) -> str | None:
    """Hugo's ``param``: the page's front matter value, else the site's ``params`` (dotted keys
    reach into tables; any case matches, as in Hugo), as text; None when neither has it."""
    for source in (env.get("page_meta") or {}, env.get("site_params") or {}):
        value: Any = source
        for part in key.lower().split("."):
            value = next((v for k, v in value.items() if str(k).lower() == part), None) if isinstance(value, dict) else None
        if value is not None:
            text = ("true" if value else "false") if isinstance(value, bool) else str(value)
            return html.escape(text)
    return None


def _paired(m: re.Match[str]) -> str:
    name, body = m.group("name"), m.group("body")
    pos, named = _args(m.group("args"))
    wrap = body.startswith("\n") and body.endswith("\n")
    inner = body if wrap else f"\n{body.strip()}\n"
    if name == "highlight":
        lang = pos[0] if pos else named.get("lang", "")
        return f"```{lang}{inner}```"
    if name == "mermaid":  # hugo-book, Relearn: the diagram in the page's vendored mermaid
        return f"```mermaid{inner}```"
    if name == "tab":  # hugo-book `tab "macOS"`, Docsy `tab header=...`, Relearn `tab title=...`
        title = named.get("header") or named.get("title") or named.get("name") or (pos[0] if pos else "")
        return f"/// tab | {title}{inner}///" if title else f"/// tab{inner}///"
    if name == "expand":  # hugo-book's collapsible section
        return f"/// details | {pos[0] if pos else 'Expand'}{inner}///"
    kind = CALLOUTS[name]
    if name in ("notice", "hint", "admonition", "alert", "callout") and pos and pos[0].isalpha():
        kind = pos[0].lower()
    title = named.get("title") or named.get("summary") or (pos[1] if name == "admonition" and len(pos) > 1 else "")
    head = f"/// {kind}" + (f" | {title}" if title else "")
    return f"{head}{inner}///"


def expand(text: str, env: MutableMapping[str, Any]) -> str:
    """``text`` with every shortcode expanded or removed; findings go to ``env["findings"]``."""
    if "{{<" not in text and "{{%" not in text:
        return text
    kept: list[str] = []

    def hide(m: re.Match[str]) -> str:
        kept.append("{{" + m.group(1) + m.group(2) + m.group(3) + "}}")
        return f"\x00sc{len(kept) - 1}\x00"

    text = _ESCAPED.sub(hide, text)
    for _ in range(8):  # nested callouts: innermost pairs first
        new = _PAIRED.sub(_paired, text)
        if new == text:
            break
        text = new
    findings = env.setdefault("findings", [])
    unknown: dict[str, int] = {}
    out: list[str] = []
    pos = 0
    for m in _TAG.finditer(text):
        out.append(text[pos : m.start()])
        pos = m.end()
        name = m.group("name")
        args, named = _args(m.group("args"))
        if not m.group("close") and name in ("ref", "relref"):
            out.append(_ref(env, named.get("path") or (args[0] if args else "")))
        elif not m.group("close") and name == "figure":
            out.append(_figure(env, named))
        elif not m.group("close") and name == "param":
            key = named.get("name") or (args[0] if args else "")
            value = _param(env, key)
            out.append(value or "")
            if value is None:
                findings.append((_line(text, m.start()), None, "unknown-param", "warning",
                                 f"param {key!r} is in neither the page's front matter nor the site's params: left empty"))
        elif name not in unknown and name not in WRAPPERS:
            unknown[name] = _line(text, m.start())
    out.append(text[pos:])
    text = "".join(out)
    for name, line in unknown.items():
        findings.append((line, None, "unknown-shortcode", "warning",
                         f"shortcode '{name}' is not supported: removed from the page (its inner text kept)"))
    return re.sub("\x00sc(\\d+)\x00", lambda m: kept[int(m.group(1))], text)
