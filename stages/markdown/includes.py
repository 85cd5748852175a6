"""File includes (``{* file hl[..] *}``, ``{!file!}``, ``--8<-- "file"``), kept inside the include root.

An include is looked up where MkDocs looks: next to the page, then from the language's include
base (the mkdocs.yml folder: FastAPI's ``{* ../../docs_src/x.py *}`` and pymdownx.snippets'
default ``base_path: ["."]`` both start there, since ``mkdocs build`` runs beside its config),
then from the docs dir, then from the include root. The root is the source for the daemon (the
submission) and, for ``pressroom build``, the git work tree holding the source: a path that
resolves (symlinks included) outside it is refused, so a build never reads files it was not given.
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
KNOWN_OPTIONS = frozenset({"hl", "ln", "title"})
"""FastAPI's include options: highlighted lines, shown lines (ranges), the code block's title."""


def add_finding(env: MutableMapping[str, Any], line: int | None, rule: str, severity: str, message: str) -> None:
    env.setdefault("findings", []).append((line, None, rule, severity, message))


def resolve(env: MutableMapping[str, Any], raw: str, line: int) -> Path | None:
    """The include's path, or None after recording why it cannot be used."""
    root = Path(env["source_root"])
    bases = [Path(env["page_path"]).parent, Path(env["include_base"])]
    if env.get("docs_dir"):
        bases.append(Path(env["docs_dir"]))
    bases.append(root)
    candidates: list[Path] = []
    for base in bases:  # resolved one at a time: most includes are found at the first or second
        cand = (base / raw).resolve()
        if cand.is_relative_to(root) and cand.is_file():
            return cand
        candidates.append(cand)
    inside = [c for c in candidates if c.is_relative_to(root)]
    for cand in inside[:1]:  # so the page rebuilds once the file appears
        env.setdefault("deps", set()).add("missing:" + cand.relative_to(root).as_posix())
    # a file that exists only outside the root (a ../ path, a symlink) is refused, never read
    if not inside or any(not c.is_relative_to(root) and c.exists() for c in candidates):
        add_finding(env, line, "include-outside", "error",
                    f"include {raw!r} points outside the include root (the source, or --root); refused")
    else:
        add_finding(env, line, "include-missing", "error", f"included file {raw!r} does not exist")
    return None


def read(env: MutableMapping[str, Any], path: Path) -> str:
    root = Path(env["source_root"])
    env.setdefault("deps", set()).add(path.relative_to(root).as_posix())
    return path.read_bytes().decode("utf-8", errors="replace")


def _ranges(spec: str) -> list[tuple[int, int]]:
    """``"6,19:20"`` or ``"5:10 16"`` to ``[(6, 6), (19, 20)]``; open ends (``":4"``, ``"3:"``) allowed."""
    out: list[tuple[int, int]] = []
    for part in re.split(r"[\s,]+", spec.strip()):
        m = re.fullmatch(r"(\d*)(?:([:-])(\d*))?", part)
        if not part or not m or not (m.group(1) or m.group(3)):
            continue
        a = int(m.group(1) or 1)
        b = int(m.group(3)) if m.group(3) else (10**9 if m.group(2) else a)
        out.append((a, b))
    return out


def star_fence(env: MutableMapping[str, Any], raw: str, opts: str, line: int) -> tuple[str, str] | None:
    """``(info, code)`` for a ``{* file ln[6,19:20] hl[..] title["x.py"] *}`` directive.

    ``ln`` keeps only those lines of the file (several ranges allowed); ``hl`` numbers are the
    file's own line numbers, mapped onto the lines shown; ``title`` replaces the file name.
    """
    path = resolve(env, raw, line)
    if path is None:
        return None
    code = read(env, path)
    options: dict[str, str] = {}
    for name, value in OPTS.findall(opts):
        if name in KNOWN_OPTIONS:
            options[name] = value
        else:
            add_finding(env, line, "include-option", "warning",
                        f"include option '{name}[...]' is not supported (known: hl, ln, title); ignored")
    lines = code.rstrip("\n").split("\n")
    numbers = list(range(1, len(lines) + 1))
    if "ln" in options:
        keep = sorted({n for a, b in _ranges(options["ln"]) for n in range(a, min(b, len(lines)) + 1)})
        if keep:
            numbers = keep
        else:
            add_finding(env, line, "include-option", "warning",
                        f"include option ln[{options['ln']}] selects no line of {raw!r}; the whole file is shown")
    code = "\n".join(lines[n - 1] for n in numbers) + "\n"
    info_parts = [_lang_for(path)]
    if "hl" in options:
        shown = {n: i + 1 for i, n in enumerate(numbers)}
        hl = [str(shown[n]) for a, b in _ranges(options["hl"]) for n in range(a, min(b, len(lines)) + 1) if n in shown]
        info_parts.append(f'hl_lines="{" ".join(hl)}"')
    title = options.get("title", "").strip().strip("\"'").replace('"', "'") or path.name
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
