"""Read a spec and every file its ``$ref``s name, never leaving the submission.

openapi-spec-validator's own resolver follows ``http``, ``https`` and ``file`` references (an unknown
scheme falls back to ``urlopen``), so a submitted spec could make the daemon read ``/etc/passwd`` or
call an internal service. Instead, this module inlines every reference to another file itself
(relative paths inside the submission only; anything else is a finding) and hands the validator one
self-contained document whose only ``$ref``s point inside it. ``origins`` remembers which file and
pointer each inlined part came from, so a problem found later still names the file the user edits.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from stages.base import Finding

BUNDLED = "x-pressroom-bundled"
"""Where parts of other files go in the bundled document: once each, by ``file#pointer``, referred
to with internal ``$ref``s (an extension key, so the document stays valid OpenAPI)."""
MAX_FILES = 500
"""A spec split over more files than this is refused (a reference loop through generated names)."""


class SpecError(Exception):
    """A spec that cannot be read at all: the message names the file and pointer."""

    def __init__(self, file: str, pointer: str, message: str, rule: str = "openapi-invalid") -> None:
        super().__init__(message)
        self.finding = Finding(file=file, rule=rule, severity="error", message=f"{pointer or '/'}: {message}")


@dataclass
class Bundle:
    """One spec with its cross-file references inlined."""

    root_file: str
    doc: dict[str, Any]
    origins: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Pointer in ``doc`` -> (file, pointer in that file) for every inlined part."""
    files: list[str] = field(default_factory=list)

    def locate(self, pointer: str) -> tuple[str, str]:
        """The file and in-file pointer a pointer of the bundled document comes from."""
        best = ""
        for prefix in self.origins:
            if (pointer == prefix or pointer.startswith(prefix + "/")) and len(prefix) > len(best):
                best = prefix
        if not best:
            return self.root_file, pointer
        file, inner = self.origins[best]
        return file, inner + pointer[len(best):]


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def resolve_pointer(doc: Any, pointer: str) -> Any:
    """The value at a JSON pointer (``""`` is the whole document); KeyError when it is not there."""
    node = doc
    for raw in [p for p in pointer.split("/")[1:]] if pointer else []:
        token = unescape(unquote(raw))
        if isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            raise KeyError(pointer)
    return node


def read_document(path: Path, rel: str) -> Any:
    """Parse one YAML or JSON file (JSON is YAML, but json is faster and exact for large specs)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SpecError(rel, "", "file not found in the submission", "openapi-ref-missing") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(rel, "", f"cannot read: {exc}", "openapi-unreadable") from exc
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise SpecError(rel, "", f"not valid YAML/JSON: {exc}", "openapi-unreadable") from exc


class _Loader:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.cache: dict[str, Any] = {}
        self.findings: list[Finding] = []

    def load(self, rel: str) -> Any:
        if rel not in self.cache:
            if len(self.cache) >= MAX_FILES:
                raise SpecError(rel, "", f"more than {MAX_FILES} files referenced", "openapi-ref-outside")
            self.cache[rel] = read_document(self.root / rel, rel)
        return self.cache[rel]

    def target(self, ref: str, current: str, pointer: str) -> tuple[str, str] | None:
        """``(file, fragment)`` a ``$ref`` names, or None (with a finding) when it leaves the submission."""
        parts = urlsplit(ref)
        if parts.scheme or parts.netloc or ref.startswith("/") or "\\" in ref:
            self._refuse(current, pointer, ref)
            return None
        if not parts.path:
            return current, parts.fragment
        rel = posixpath.normpath(posixpath.join(posixpath.dirname(current), unquote(parts.path)))
        resolved = (self.root / rel).resolve()
        if rel.startswith("../") or rel == ".." or not resolved.is_relative_to(self.root):
            self._refuse(current, pointer, ref)
            return None
        return rel, parts.fragment

    def _refuse(self, file: str, pointer: str, ref: str) -> None:
        self.findings.append(Finding(file=file, rule="openapi-ref-outside", severity="error",
                                     message=f"{pointer}/$ref: {ref!r} points outside the submission; "
                                             "only relative paths to files inside it are followed"))


def bundle(root: Path, spec: str) -> tuple[Bundle | None, list[Finding]]:
    """Load ``spec`` (relative to the submission ``root``) with other files' parts inlined."""
    loader = _Loader(root)
    rel = posixpath.normpath(spec)
    try:
        doc = loader.load(rel)
    except SpecError as exc:
        return None, [exc.finding]
    if not isinstance(doc, dict):
        return None, [Finding(file=rel, rule="openapi-invalid", severity="error", message="/: a spec must be a mapping")]
    out = Bundle(root_file=rel, doc={})
    hoisted: dict[str, Any] = {}

    def walk(node: Any, file: str, inner: str, at: str) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                where = loader.target(ref, file, inner)
                if where is None:
                    return {"description": "(reference refused)"}
                tfile, frag = where
                if tfile == rel:  # a reference into the root file stays a reference
                    return node if file == rel else {"$ref": "#" + frag}
                key = f"{tfile}#{frag}"
                target = f"/{BUNDLED}/{escape(key)}"
                if key not in hoisted:
                    try:
                        value = resolve_pointer(loader.load(tfile), frag)
                    except SpecError as exc:
                        loader.findings.append(Finding(file=file, rule=exc.finding.rule, severity="error",
                                                       message=f"{inner}/$ref: {ref!r}: {exc}"))
                        return {}
                    except KeyError:
                        loader.findings.append(Finding(file=file, rule="openapi-ref-missing", severity="error",
                                                       message=f"{inner}/$ref: {ref!r}: no such pointer in {tfile}"))
                        return {}
                    hoisted[key] = None  # placeholder first: a part that refers back to itself terminates
                    out.origins[target] = (tfile, frag)
                    hoisted[key] = walk(value, tfile, frag, target)
                return {"$ref": "#" + target}
            return {k: walk(v, file, f"{inner}/{escape(str(k))}", f"{at}/{escape(str(k))}") for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, file, f"{inner}/{i}", f"{at}/{i}") for i, v in enumerate(node)]
        return node

    out.doc = walk(doc, rel, "", "")
    if hoisted:
        out.doc[BUNDLED] = hoisted
    out.files = sorted(loader.cache)
    return out, loader.findings
