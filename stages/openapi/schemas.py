"""Schemas as people read them: a type in a few words, a table of properties, a generated example.

Every function takes the bundled document (internal ``$ref``s still in place), follows references
with a depth limit so recursive schemas terminate, and is deterministic: the same spec gives the
same bytes, which keeps the generated pages byte-identical between builds.
"""

from __future__ import annotations

import json
from typing import Any

from stages.openapi.load import resolve_pointer, unescape

SCHEMA_PREFIX = "#/components/schemas/"
MAX_DEPTH = 6


def deref(doc: dict[str, Any], node: Any, depth: int = 0) -> Any:
    """``node`` with a leading ``$ref`` followed (once per level, bounded)."""
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < MAX_DEPTH:
        try:
            node = resolve_pointer(doc, node["$ref"][1:]) if node["$ref"].startswith("#") else {}
        except KeyError:
            return {}
        seen += 1
    return node


def ref_name(node: Any, doc: dict[str, Any] | None = None) -> str | None:
    """``Pet`` for ``{"$ref": "#/components/schemas/Pet"}``; with ``doc``, also the component whose
    whole value is a reference to the same part of another file (``Pet: {$ref: pet.yaml#/Pet}``)."""
    ref = node.get("$ref") if isinstance(node, dict) else None
    if not isinstance(ref, str):
        return None
    if ref.startswith(SCHEMA_PREFIX):
        return unescape(ref[len(SCHEMA_PREFIX):])
    if doc is not None:
        components = (doc.get("components") or {}).get("schemas") or {}
        return next((str(name) for name, value in components.items()
                     if isinstance(value, dict) and value.get("$ref") == ref and len(value) == 1), None)
    return None


def type_of(doc: dict[str, Any], schema: Any, link: Any) -> str:
    """``array of [Pet](…)``, ``string (date-time)``, ``"a" | "b"``: Markdown, ``link(name)`` makes links."""
    name = ref_name(schema, doc)
    if name is not None:
        return str(link(name))
    if isinstance(schema, dict) and "$ref" in schema:
        schema = deref(doc, schema)
    if not isinstance(schema, dict):
        return "any"
    for key, word in (("oneOf", "one of"), ("anyOf", "any of"), ("allOf", "all of")):
        if isinstance(schema.get(key), list):
            return f"{word} " + ", ".join(type_of(doc, s, link) for s in schema[key])
    if "enum" in schema and isinstance(schema["enum"], list):
        return " | ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        text = " or ".join(str(k) for k in kind)
    else:
        text = str(kind) if kind else ("object" if "properties" in schema else "any")
    if kind == "array" or (isinstance(kind, list) and "array" in kind):
        text = "array of " + type_of(doc, schema.get("items", {}), link)
    if schema.get("format"):
        text += f" ({schema['format']})"
    if schema.get("nullable"):
        text += " or null"
    return text


def properties(doc: dict[str, Any], schema: Any) -> tuple[dict[str, Any], set[str]]:
    """An object schema's properties and required names, ``allOf`` parts merged."""
    schema = deref(doc, schema)
    if not isinstance(schema, dict):
        return {}, set()
    props: dict[str, Any] = dict(schema.get("properties") or {})
    required = set(schema.get("required") or [])
    for part in schema.get("allOf") or []:
        p, r = properties(doc, part)
        props.update(p)
        required |= r
    return props, required


def example(doc: dict[str, Any], schema: Any, depth: int = 0) -> Any:
    """A value that fits ``schema``: its own example or default, else one built from its type."""
    schema = deref(doc, schema)
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return None
    for key in ("example", "default", "const"):
        if key in schema:
            return schema[key]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("oneOf", "anyOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return example(doc, schema[key][0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    props, _ = properties(doc, schema)
    if kind == "object" or (kind is None and props):
        return {name: example(doc, sub, depth + 1) for name, sub in props.items()}
    if kind == "array":
        item = example(doc, schema.get("items", {}), depth + 1)
        return [] if item is None else [item]
    fmt = schema.get("format")
    if kind == "string":
        return {"date-time": "2024-01-01T00:00:00Z", "date": "2024-01-01", "uuid": "00000000-0000-0000-0000-000000000000",
                "email": "user@example.com", "uri": "https://example.com/"}.get(str(fmt), "string")
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return True
    return None


def cell(text: Any) -> str:
    """One line of Markdown that is safe inside a table cell."""
    return " ".join(str(text or "").split()).replace("|", "\\|")


def table(doc: dict[str, Any], schema: Any, link: Any) -> list[str]:
    """A Markdown table of an object schema's properties, or one line with its type."""
    props, required = properties(doc, schema)
    resolved = deref(doc, schema)
    if not props and isinstance(resolved, dict) and resolved.get("type") == "array" and ref_name(resolved.get("items")) is None:
        inner = table(doc, resolved.get("items", {}), link)
        if inner and inner[0].startswith("|"):
            return ["Type: array of objects, each:", "", *inner]
    if not props:
        return [f"Type: {type_of(doc, schema, link)}", ""]
    lines = ["| Property | Type | Required | Description |", "|---|---|---|---|"]
    for name, sub in props.items():
        info = deref(doc, sub) if ref_name(sub) is None else {}
        desc = info.get("description", "") if isinstance(info, dict) else ""
        lines.append(f"| `{cell(name)}` | {cell(type_of(doc, sub, link))} | {'yes' if name in required else 'no'} "
                     f"| {cell(desc)} |")
    lines.append("")
    return lines


def example_block(value: Any) -> list[str]:
    return ["```json", json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False), "```", ""]
