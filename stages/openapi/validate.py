"""Check a bundled spec with openapi-spec-validator; each problem a finding with file and JSON pointer.

The validator stops at the first broken internal ``$ref`` (``PointerToNowhere`` escapes from
``iter_errors()``), so references are checked here first: each broken one is a finding and is
replaced by an empty schema in the copy that goes to the validator, which then reports the rest.
"""

from __future__ import annotations

from typing import Any

from jsonschema.exceptions import best_match
from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator
from referencing.exceptions import Unresolvable

from stages.base import Finding
from stages.openapi.load import Bundle, escape, resolve_pointer

MAX_FINDINGS = 200
"""Validation findings kept per spec: a thousand copies of one mistake help nobody."""


def _finding(bundle: Bundle, pointer: str, message: str, rule: str = "openapi-invalid") -> Finding:
    file, inner = bundle.locate(pointer)
    return Finding(file=file, rule=rule, severity="error", message=f"{inner or '/'}: {message}")


def _check_refs(bundle: Bundle) -> tuple[Any, list[Finding]]:
    findings: list[Finding] = []

    def walk(node: Any, at: str) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#"):
                try:
                    resolve_pointer(bundle.doc, ref[1:])
                except KeyError:
                    findings.append(_finding(bundle, at + "/$ref", f"{ref!r} points to nothing", "openapi-ref-missing"))
                    return {}
            return {k: walk(v, f"{at}/{escape(str(k))}") for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, f"{at}/{i}") for i, v in enumerate(node)]
        return node

    return walk(bundle.doc, ""), findings


def _follow(node: Any, tokens: list[Any]) -> Any:
    for token in tokens:
        if isinstance(node, dict) and token in node or isinstance(node, list) and isinstance(token, int) and token < len(node):
            node = node[token]
        else:
            raise KeyError(token)
    return node


def _absolute(doc: Any, tokens: list[Any], instance: Any, index: list[tuple[str, Any]]) -> str:
    """The document pointer of an error. A schema's own check (against the JSON Schema dialect)
    reports paths relative to that schema, so find the schema it starts from: the node from which
    the relative path reaches the very object the error is about."""
    rel = "".join(f"/{escape(str(t))}" for t in tokens)
    if instance is None:
        return rel
    try:
        if _follow(doc, tokens) is instance:
            return rel
    except KeyError:
        pass
    if not index:
        def walk(node: Any, at: str) -> None:
            if isinstance(node, dict):
                index.append((at, node))
                for k, v in node.items():
                    walk(v, f"{at}/{escape(str(k))}")
            elif isinstance(node, list):
                for i, v in enumerate(node):
                    walk(v, f"{at}/{i}")
        walk(doc, "")
    for at, node in index:
        try:
            if _follow(node, tokens) is instance:
                return at + rel
        except KeyError:
            continue
    return rel


def version_of(doc: dict[str, Any]) -> str | None:
    """``3.0`` or ``3.1`` (what this stage supports), else None."""
    value = str(doc.get("openapi", ""))
    for known in ("3.0", "3.1"):
        if value == known or value.startswith(known + "."):
            return known
    return None


def validate(bundle: Bundle) -> list[Finding]:
    """Every problem in the spec, at most :data:`MAX_FINDINGS`."""
    version = version_of(bundle.doc)
    if version is None:
        shown = bundle.doc.get("openapi", bundle.doc.get("swagger"))
        return [_finding(bundle, "/openapi", f"OpenAPI 3.0 or 3.1 expected, got {shown!r}", "openapi-version")]
    checked, findings = _check_refs(bundle)
    index: list[tuple[str, Any]] = []
    cls = OpenAPIV31SpecValidator if version == "3.1" else OpenAPIV30SpecValidator
    try:
        for error in cls(checked).iter_errors():
            if len(findings) >= MAX_FINDINGS:
                break
            precise = best_match(error.context) if getattr(error, "context", None) else None
            chosen = precise or error
            path = _absolute(checked, list(getattr(chosen, "absolute_path", ())), getattr(chosen, "instance", None), index)
            findings.append(_finding(bundle, path, str(getattr(chosen, "message", chosen)).splitlines()[0]))
    except Unresolvable as exc:
        findings.append(_finding(bundle, "", f"unresolvable reference: {exc}", "openapi-ref-missing"))
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        # the semantic checks that follow the schema check assume a well-formed spec and can
        # crash on one the schema check already reported; with no report, say what crashed
        if not findings:
            findings.append(_finding(bundle, "", f"the validator could not read the spec: {exc!r}"))
    return findings
