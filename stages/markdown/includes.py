"""File includes (``{* file hl[..] *}``, ``{!file!}``, ``--8<-- "file"``), kept inside the source.

An include is looked up next to the page, then from the language's include base (the mkdocs.yml
folder, which is how MkDocs resolves ``../../docs_src``), then from the source root. A path that
leaves the source tree is refused: a build must never read files the site does not own.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

STAR = re.compile(r"^\{\*\s*(\S+)((?:\s+[a-z]+\[[^\]]*\])*)\s*\*\}\s*$")
BANG = re.compile(r"^\{!>?\s*([^!]+?)\s*!\}\s*$")
SNIPPET = re.compile(r"""^-{2}8<-{2}\s+["']?([^"'\s]+)["']?\s*$""")
OPTS = re.compile(r"([a-z]+)\[([^\]]*)\]")


def add_finding(env: MutableMapping[str, Any], line: int | None, rule: str, severity: str, message: str) -> None:
    env.setdefault("findings", []).append((line, None, rule, severity, message))


def resolve(env: MutableMapping[str, Any], raw: str, line: int) -> Path | None:
    """The include's path, or None after recording why it cannot be used."""
    root = Path(env["source_root"])
    bases = (Path(env["page_path"]).parent, Path(env["include_base"]), root)
    inside = [c for c in ((b / raw).resolve() for b in bases) if c.is_relative_to(root)]
    for cand in inside:
        if cand.is_file():
            return cand
    for cand in inside[:1]:  # so the page rebuilds once the file appears
        env.setdefault("deps", set()).add("missing:" + cand.relative_to(root).as_posix())
    if not inside:
        add_finding(env, line, "include-outside", "error", f"include {raw!r} points outside the source tree; refused")
    else:
        add_finding(env, line, "include-missing", "error", f"included file {raw!r} does not exist")
    return None


def read(env: MutableMapping[str, Any], path: Path) -> str:
    root = Path(env["source_root"])
    env.setdefault("deps", set()).add(path.relative_to(root).as_posix())
    return path.read_bytes().decode("utf-8", errors="replace")


def star_fence(env: MutableMapping[str, Any], raw: str, opts: str, line: int) -> tuple[str, str] | None:
    """``(info, code)`` for a ``{* file ln[a:b] hl[..] title[..] *}`` directive."""
    path = resolve(env, raw, line)
    if path is None:
        return None
    code = read(env, path)
    options = dict(OPTS.findall(opts))
    lines = code.split("\n")
    offset = 0
    if "ln" in options:
        m = re.fullmatch(r"\s*(\d+)?\s*:\s*(\d+)?\s*", options["ln"])
        if m:
            a = int(m.group(1) or 1)
            b = int(m.group(2) or len(lines))
            lines = lines[a - 1 : b]
            offset = a - 1
    code = "\n".join(lines).rstrip("\n") + "\n"
    info_parts = [_lang_for(path)]
    if "hl" in options:
        hl = []
        for part in re.split(r"[\s,]+", options["hl"].strip()):
            m = re.fullmatch(r"(\d+)(?::(\d+))?", part)
            if m:
                a = int(m.group(1)) - offset
                b = int(m.group(2) or m.group(1)) - offset
                hl.append(f"{a}-{b}" if b != a else str(a))
        info_parts.append(f'hl_lines="{" ".join(hl)}"')
    title = options.get("title") or path.name
    info_parts.append(f'title="{title}"')
    return " ".join(info_parts), code


_LANGS = {".py": "python", ".js": "javascript", ".ts": "typescript", ".html": "html", ".css": "css",
          ".toml": "toml", ".yml": "yaml", ".yaml": "yaml", ".json": "json", ".sh": "bash", ".md": "markdown"}


def _lang_for(path: Path) -> str:
    return _LANGS.get(path.suffix.lower(), "text")


def expand_in_fence(env: MutableMapping[str, Any], content: str, line: int) -> str:
    """``{!> file !}`` lines inside a code fence become the file's text (mdx_include style)."""
    out = []
    for i, text in enumerate(content.split("\n")):
        m = BANG.match(text.strip())
        if not m:
            out.append(text)
            continue
        path = resolve(env, m.group(1), line + i + 1)
        out.append(read(env, path).rstrip("\n") if path else text)
    return "\n".join(out)
