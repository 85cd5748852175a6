"""Core rules over parsed inline content: heading ids and TOC, link rewriting, abbreviations."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import MutableMapping
from typing import Any

from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from stages.site import langcodes, urls
from stages.site.mdext import PLAIN

_HID = re.compile(r"\s*\{:?\s*((?:[#.]|[\w-]+=)[^{}]*?)\s*\}\s*$")
_ATTR = re.compile(r"""([#.])([\w:.\-]+)|([\w-]+)=(?:"([^"]*)"|'([^']*)'|([^\s}]+))""")
_ABBR = re.compile(r"^\*\[([^\]]+)\]:\s*(.*)$")


def slugify(text: str) -> str:
    """Python-Markdown's toc slug, but letters outside ASCII are kept (so CJK headings get ids)."""
    t = unicodedata.normalize("NFKD", text)
    t = "".join(c for c in t if not unicodedata.combining(c))
    t = re.sub(r"[^\w\s-]", "", t).strip().lower()
    return re.sub(r"[-\s]+", "-", t)


def slugify_github(text: str, ascii_only: bool = False) -> str:
    """Goldmark's ``github`` heading ids, Hugo's default: punctuation dropped, each space a
    hyphen, nothing collapsed (``People & Body`` is ``people--body``); ``github-ascii`` also
    drops accents and other letters outside ASCII."""
    t = text.strip().lower()
    if ascii_only:
        t = unicodedata.normalize("NFKD", t).encode("ascii", "ignore").decode()
    t = "".join(c for c in t if c.isalnum() or c in " -_")
    return t.replace(" ", "-")



def _line(env: MutableMapping[str, Any], tok: Token) -> int | None:
    return env.get("include_line") or ((tok.map[0] + 1) if tok.map else None)


def heading_ids(state: StateCore) -> None:
    env = state.env
    opts = env.get("md_options") or PLAIN
    seen: dict[str, int | None] = env.setdefault("ids", {})
    headings: list[tuple[int, str, str, int | None]] = env.setdefault("headings", [])
    tokens = state.tokens
    for i, tok in enumerate(tokens):
        if tok.type != "heading_open":
            continue
        inline = tokens[i + 1]
        children = inline.children or []
        explicit: str | None = None
        last = next((c for c in reversed(children) if not (c.type == "text" and not c.content.strip())), None)
        if last is not None and last.type == "text" and (m := _HID.search(last.content)):
            explicit = _heading_attrs(tok, m.group(1))
            last.content = last.content[: m.start()]
        elif last is not None and last.type != "text" and last.attrGet("id"):
            explicit = str(last.attrGet("id"))  # attrs plugin took `{ #id }` after a code span
            last.attrs.pop("id", None)
        text = "".join(c.content for c in children if c.type in ("text", "code_inline")).strip()
        line = _line(env, tok)
        if explicit:
            if explicit in seen:
                env.setdefault("findings", []).append(
                    (line, None, "duplicate-id", "warning", f"heading id '#{explicit}' is already used on line {seen[explicit]}"))
            hid = explicit
        else:
            style = env.get("slug_style") or ""
            base = (slugify_github(text, style == "github-ascii") if style.startswith("github") else slugify(text)) or "section"
            sep = "-" if style.startswith("github") else "_"  # goldmark numbers repeats heading-1, Python-Markdown heading_1
            hid, n = base, 1
            while hid in seen:
                hid, n = f"{base}{sep}{n}", n + 1
        seen.setdefault(hid, line)
        tok.attrSet("id", hid)
        level = int(tok.tag[1])
        headings.append((level, hid, text, line))
        if opts.permalink:
            link = Token("html_inline", "", 0)
            title = f' title="{html.escape(opts.permalink_title)}"' if opts.permalink_title else ""
            label = html.escape(opts.permalink_title or "Link to this section")
            cls = " ".join(dict.fromkeys(["headerlink", *opts.permalink_class.split()]))  # theme and PDF CSS use headerlink
            link.content = (f'<a class="{html.escape(cls)}" href="#{hid}"{title} '
                            f'aria-label="{label}">{opts.permalink}</a>')
            if opts.permalink_leading:
                link.content += " "
                children.insert(0, link)
            else:
                link.content = " " + link.content
                children.append(link)


_TAIL_ATTRS = re.compile(r"^\{:?\s*((?:[#.]|[\w-]+=)[^{}]*?)\s*\}")


def inline_attrs(state: StateCore) -> None:
    """``**word**{ #id .class }``: an attribute list written right after an inline element goes
    on that element, as Python-Markdown's attr_list puts it (MkDocs' own docs give definition
    terms ids this way, and link to them). A heading's trailing ``{ #id }`` is the heading's
    (:func:`heading_ids`, which runs next and keeps clear of the ids taken here); links, images
    and code spans get theirs from the attrs plugin."""
    env = state.env
    seen: dict[str, int | None] = env.setdefault("ids", {})
    tokens = state.tokens
    for i, tok in enumerate(tokens):
        kids = tok.children
        if tok.type != "inline" or not kids or "{" not in tok.content:
            continue
        heading = i > 0 and tokens[i - 1].type == "heading_open"
        last = kids[-1]
        if (i > 0 and tokens[i - 1].type == "paragraph_open" and len(kids) > 1 and kids[-2].type == "softbreak"
                and last.type == "text" and (m := _TAIL_ATTRS.match(last.content)) and m.end() == len(last.content.rstrip())):
            # a last line of only `{: .class }` is the paragraph's (attr_list; Hugo's block attributes)
            hid = _heading_attrs(tokens[i - 1], m.group(1))
            if hid:
                tokens[i - 1].attrSet("id", hid)
                seen.setdefault(hid, _line(env, tok))
            del kids[-2:]
        if not heading:  # ids the attrs plugin gave links, images and code spans are anchors too
            for kid in kids:
                if kid.attrGet("id"):
                    seen.setdefault(str(kid.attrGet("id")), _line(env, tok))
        for j in range(1, len(kids)):
            text = kids[j]
            m = _TAIL_ATTRS.match(text.content) if text.type == "text" else None
            if m is None:
                continue
            if heading and not "".join(k.content for k in kids[j:])[m.end():].strip():
                continue
            target = _opening(kids, j - 1)
            if target is None:
                continue
            hid = _heading_attrs(target, m.group(1))
            if hid:
                target.attrSet("id", hid)
                seen.setdefault(hid, _line(env, tok))
            text.content = text.content[m.end():]


def _opening(kids: list[Token], k: int) -> Token | None:
    """The token that opens the inline element ending at ``kids[k]`` (``strong_close`` ->
    its ``strong_open``), or None when ``kids[k]`` ends no element (plain text)."""
    end = kids[k]
    if not end.type.endswith("_close"):
        return None
    opener, depth = end.type[: -len("_close")] + "_open", 0
    for tok in reversed(kids[:k]):
        if tok.type == end.type:
            depth += 1
        elif tok.type == opener:
            if depth == 0:
                return tok
            depth -= 1
    return None


def _heading_attrs(tok: Token, spec: str) -> str | None:
    """``{ #id .class key=value }`` (attr_list): classes and attributes go on the heading; the id is returned."""
    hid: str | None = None
    for m in _ATTR.finditer(spec):
        if m.group(1) == "#":
            hid = m.group(2)
        elif m.group(1) == ".":
            tok.attrJoin("class", m.group(2))
        elif m.group(3) and m.group(3) not in ("id", "class") and not m.group(3).lower().startswith("on"):
            tok.attrSet(m.group(3), m.group(4) or m.group(5) or m.group(6) or "")
    return hid


def _rewrite(env: MutableMapping[str, Any], href: str, tok: Token, line: int | None, image: bool) -> str | None:
    if href and urls.is_external(href):
        href = _own_page(env, href)
    if not href or urls.is_external(href) or href.startswith(("mailto:", "tel:", "data:")):
        return None
    path, frag = urls.split_link(href)
    src = env.get("page_src")
    if src is None:
        return None
    if not path:
        if frag and not image:
            env.setdefault("links", []).append(("anchor", src, frag, line))
        return None
    here = urls.page_file(src, env["pretty"])
    if path.startswith("/"):
        url = _root_absolute(env, here, path)
        if url is not None:
            return url + (f"#{frag}" if frag else "")
        path = "/" + _site_path(env, path)[0]
    if path.endswith("/"):
        return None
    target = urls.resolve_src(src, path)
    if env.get("lower_urls") and path.endswith((".md", ".markdown")) and not image:
        target = target.lower()  # pages are keyed by their lower-cased path (Hugo's URLs)
    if target.startswith("../"):
        env.setdefault("links", []).append(("outside", target, frag, line))
        return None
    if path.endswith((".md", ".markdown")) and not image:
        env.setdefault("links", []).append(("page", target, frag, line))
        new = urls.relative(here, urls.page_url(target, env["pretty"]))
    else:
        env.setdefault("images" if image else "links", []).append(("asset", target, frag, line))
        new = urls.relative(here, target)
    return new + (f"#{frag}" if frag else "")


def _own_page(env: MutableMapping[str, Any], href: str) -> str:
    """A full URL of this site's own pages as a root-absolute link (:func:`urls.own_path`), or ""
    to leave the link as written: another site, or another language of the published site that
    this build does not hold (``https://example.org/zh/x/`` from a build of ``en`` alone)."""
    path = urls.own_path(env.get("site_url") or "", href)
    if path is None:
        return ""
    first = _below_base(env, path).split("/", 1)[0]
    if first not in (env.get("languages") or ()) and langcodes.is_language_code(first):
        return ""
    return path


def _below_base(env: MutableMapping[str, Any], path: str) -> str:
    """A root-absolute path without the site's base path (``/docs/de/x/`` -> ``de/x/``)."""
    base = str(env.get("base_path") or "/")
    return path[len(base):] if base != "/" and (path + "/").startswith(base) else path.lstrip("/")


def _site_path(env: MutableMapping[str, Any], path: str) -> tuple[str, str | None]:
    """A root-absolute path (``/docs/de/x/``) relative to its language's root (``x/``), and the
    other language it points into (``de``), or None for the page's own language. The site's base
    path (``/docs/``) comes off first, as a site served there resolves it."""
    rest = _below_base(env, path)
    first, sep, tail = rest.partition("/")
    languages = env.get("languages") or ()
    if first and first in languages:
        env["lang_bound"] = True  # the body depends on the page's language (stages/render_html/bodies.py)
        return tail, (None if first == env.get("lang") else first)
    return rest, None


def _root_absolute(env: MutableMapping[str, Any], here: str, path: str) -> str | None:
    """``/x/`` and ``/<lang>/x/`` as links relative to this page, so they work under any base URL
    and the link checks see them as internal; None for a file path (``/img/a.png``, ``/a.md``),
    which the docs-root rules handle."""
    site_path, other = _site_path(env, path)
    name = site_path.rsplit("/", 1)[-1]
    is_page_url = site_path == "" or site_path.endswith("/") or "." not in name
    if other is not None:
        if site_path.endswith((".md", ".markdown")):
            site_path = urls.page_url(site_path, bool(env["pretty"]))
        elif is_page_url and site_path:
            site_path = site_path.rstrip("/") + "/"
        return urls.relative(here, f"../{other}/{site_path}" if site_path else f"../{other}/")
    if not is_page_url:
        return None
    return urls.relative(here, site_path.rstrip("/") + "/" if site_path else "")


def links(state: StateCore) -> None:
    """Record every internal link and image (lint checks them) and point them at built pages."""
    env = state.env
    for tok in state.tokens:
        if tok.type != "inline" or not tok.children:
            continue
        line = _line(env, tok)
        for child in tok.children:
            if child.type == "link_open":
                new = _rewrite(env, str(child.attrGet("href") or ""), child, line, image=False)
                if new is not None:
                    child.attrSet("href", new)
            elif child.type == "image":
                new = _rewrite(env, str(child.attrGet("src") or ""), child, line, image=True)
                if new is not None:
                    child.attrSet("src", new)


_HTML_URL = re.compile(r"""(\b(?:src|href)\s*=\s*)(["'])(/(?!/)[^"'#?]*|https?://[^"'#?]*)([#?][^"']*)?\2""")


def html_paths(state: StateCore) -> None:
    """Site-absolute ``src="/img/x.png"`` in raw HTML means the docs root (MkDocs sites are
    usually served at ``/``); make it relative so the site works under any base URL. So is a
    full URL of the site's own pages (:func:`urls.own_path`)."""
    env = state.env
    src = env.get("page_src")
    if src is None:
        return
    here = urls.page_file(src, env["pretty"])

    def fix(m: re.Match[str]) -> str:
        path = m.group(3)
        if not path.startswith("/"):
            own = "" if (m.group(4) or "").startswith("?") else _own_page(env, path)
            if not own:
                return m.group(0)
            path = own
        url = _root_absolute(env, here, path)
        if url is not None:
            return f"{m.group(1)}{m.group(2)}{url}{m.group(4) or ''}{m.group(2)}"
        target = _site_path(env, path)[0]
        if target.endswith((".md", ".markdown")):
            target = urls.page_url(target.lower() if env.get("lower_urls") else target, env["pretty"])
        return f"{m.group(1)}{m.group(2)}{urls.relative(here, target)}{m.group(4) or ''}{m.group(2)}"

    for tok in state.tokens:
        if tok.type == "html_block" and "/" in tok.content:
            tok.content = _HTML_URL.sub(fix, tok.content)
        elif tok.type == "inline" and tok.children:
            for child in tok.children:
                if child.type == "html_inline" and "=" in child.content:
                    child.content = _HTML_URL.sub(fix, child.content)


def abbr_def(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """``*[HTML]: Hyper Text Markup Language`` lines define abbreviations for the page."""
    pos = state.bMarks[start] + state.tShift[start]
    if state.src[pos : pos + 2] != "*[":
        return False
    m = _ABBR.match(state.src[pos : state.eMarks[start]])
    if not m:
        return False
    if silent:
        return True
    state.env.setdefault("abbr", {})[m.group(1)] = m.group(2).strip()
    state.line = start + 1
    return True


def abbr_apply(state: StateCore) -> None:
    abbrs: dict[str, str] = state.env.get("abbr") or {}
    if not abbrs:
        return
    pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(k) for k in sorted(abbrs, key=len, reverse=True)) + r")(?!\w)")
    for tok in state.tokens:
        if tok.type != "inline" or not tok.children:
            continue
        out: list[Token] = []
        for child in tok.children:
            if child.type != "text" or not pattern.search(child.content):
                out.append(child)
                continue
            pos = 0
            for m in pattern.finditer(child.content):
                if m.start() > pos:
                    t = Token("text", "", 0)
                    t.content = child.content[pos : m.start()]
                    out.append(t)
                a = Token("html_inline", "", 0)
                key = m.group(1)
                a.content = f'<abbr title="{html.escape(abbrs[key])}">{html.escape(key)}</abbr>'
                out.append(a)
                pos = m.end()
            if pos < len(child.content):
                t = Token("text", "", 0)
                t.content = child.content[pos:]
                out.append(t)
        tok.children = out
