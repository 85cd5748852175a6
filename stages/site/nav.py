"""The nav tree: from ``[site] nav``, from mkdocs.yml, or from the folder tree.

A node is a plain dict (``title``, ``src``, ``href``, ``children``) so it pickles to the process
pool and hashes into the incremental cache. ``title`` None means "use the page's title".
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stages.site.urls import INDEX_NAMES, is_external

Node = dict[str, Any]


@dataclass
class Nav:
    tree: list[Node]
    order: list[str]
    """Page srcs in nav order, each once: drives previous/next and the outputs' page list."""
    level: dict[str, int] = field(default_factory=dict)
    sections: dict[str, list[str]] = field(default_factory=dict)
    missing: list[tuple[str, str]] = field(default_factory=list)
    """``(target, nav title)`` for nav entries whose page does not exist."""


def _node(title: str | None, src: str | None = None, href: str | None = None, children: list[Node] | None = None) -> Node:
    return {"title": title, "src": src, "href": href, "children": children or []}


def _from_config(entries: list[Any], pages: set[str], missing: list[tuple[str, str]]) -> list[Node]:
    out: list[Node] = []
    for entry in entries:
        if isinstance(entry, str):
            title, value = None, entry
        elif isinstance(entry, dict) and len(entry) == 1:
            title, value = next(iter(entry.items()))
            title = str(title) if title is not None else None
        else:
            continue
        if isinstance(value, list):
            out.append(_node(title or None, children=_from_config(value, pages, missing)))
        elif isinstance(value, str):
            if is_external(value):
                out.append(_node(title or value, href=value))
                continue
            src = posixpath.normpath(value.lstrip("/"))
            if src not in pages:
                src = _folder_index(src, pages) or ""
            if not src:
                missing.append((value, title or value))
                continue
            out.append(_node(title or None, src=src))
    return out


def _folder_index(folder: str, pages: set[str]) -> str | None:
    """The index page of a folder a nav entry names (``User Guide: user-guide/``, as MkDocs' own
    mkdocs.yml has it): MkDocs links such an entry as a URL, which serves the folder's
    ``README.md``/``index.md``; here it is that page, in the nav as any page is."""
    prefix = "" if folder in (".", "") else folder + "/"
    return next((c for n in INDEX_NAMES for ext in (".md", ".markdown") if (c := f"{prefix}{n}{ext}") in pages), None)


def _from_folders(pages: dict[str, tuple[str | None, float]]) -> list[Node]:
    """Folder tree: ``index.md`` first, then pages and sections by (weight, title)."""
    root: dict[str, Any] = {"pages": {}, "dirs": {}}
    for src in pages:
        parts = src.split("/")
        cur = root
        for part in parts[:-1]:
            cur = cur["dirs"].setdefault(part, {"pages": {}, "dirs": {}})
        cur["pages"][src] = parts[-1]

    def build(folder: dict[str, Any], name: str) -> tuple[list[Node], tuple[float, str]]:
        items: list[tuple[tuple[int, float, str], Node]] = []
        index_key: tuple[float, str] | None = None
        for src, fname in folder["pages"].items():
            title, weight = pages[src]
            is_index = fname.rsplit(".", 1)[0] in INDEX_NAMES
            label = (title or fname.rsplit(".", 1)[0]).lower()
            if is_index:
                index_key = (weight, label)
            items.append(((0 if is_index else 1, weight, label), _node(None, src=src)))
        for dname, sub in folder["dirs"].items():
            children, key = build(sub, dname)
            if children:
                items.append(((1, key[0], key[1]), _node(None, children=children) | {"dir": dname}))
        items.sort(key=lambda t: t[0])
        return [n for _, n in items], index_key or (0.0, name.lower())

    tree, _ = build(root, "")
    return tree


def build_nav(
    nav_config: list[Any] | None,
    pages: dict[str, tuple[str | None, float]],
) -> Nav:
    """``pages`` maps each src to its cheap ``(title, weight)`` (see ``frontmatter.peek_title``)."""
    missing: list[tuple[str, str]] = []
    if nav_config is not None:
        tree = _from_config(nav_config, set(pages), missing)
    else:
        tree = _from_folders(pages)
    nav = Nav(tree=tree, order=[], missing=missing)
    seen: set[str] = set()

    def walk(nodes: list[Node], depth: int, trail: list[str]) -> None:
        for node in nodes:
            src = node["src"]
            if src and src not in seen:
                seen.add(src)
                nav.order.append(src)
                nav.level[src] = depth
                nav.sections[src] = list(trail)
            if node["children"]:
                walk(node["children"], depth + 1, [*trail, node["title"] or node.get("dir") or ""])

    walk(tree, 0, [])
    return nav


def resolve_titles(nav: Nav, title_of: Callable[[str], str]) -> tuple[list[Node], dict[str, list[str]]]:
    """The tree with every title filled in: pages by their title, untitled sections by their
    first page (MkDocs' section index pages), else the folder name."""

    def fill(nodes: list[Node]) -> list[Node]:
        out = []
        for node in nodes:
            children = fill(node["children"])
            title = node["title"]
            if not title and node["src"]:
                title = title_of(node["src"])
            if not title and children:
                first = children[0]
                title = first["title"] if first["src"] else None
                title = title or (node.get("dir") or "").replace("-", " ").title() or "Section"
            out.append({**node, "title": title, "children": children})
        return out

    tree = fill(nav.tree)
    sections: dict[str, list[str]] = {}

    def walk(nodes: list[Node], trail: list[str]) -> None:
        for node in nodes:
            if node["src"] and node["src"] not in sections:
                sections[node["src"]] = trail
            if node["children"]:
                walk(node["children"], [*trail, node["title"]])

    walk(tree, [])
    return tree, sections
