"""Breaking-change check between the published spec and the new one.

No maintained Python package does this (the candidates are abandoned or miss changes behind
cross-file references), so the rules are here, over the bundled documents with references followed:
a client written against the old spec must keep working. Requests must not get stricter (removed,
renamed or newly required parameters and properties, narrowed types and enums); responses must not
lose properties or status codes; removed operations and changed security break everyone.
Everything added is non-breaking.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from stages.openapi.load import escape
from stages.openapi.pages import Operation, operations
from stages.openapi.schemas import MAX_DEPTH, deref, properties

WIDER = {"integer": {"number"}}
"""A value of the key type is also a value of these (so integer -> number widens)."""


@dataclass(frozen=True)
class Change:
    kind: str
    pointer: str
    message: str


@dataclass
class Diff:
    breaking: list[Change] = field(default_factory=list)
    non_breaking: list[Change] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"breaking": [asdict(c) for c in self.breaking], "non_breaking": [asdict(c) for c in self.non_breaking]}

    def summary(self) -> str:
        """``2 breaking changes: DELETE /pets/{id} removed; `limit` now required``."""
        if not self.breaking:
            return f"no breaking changes ({len(self.non_breaking)} non-breaking)"
        n = len(self.breaking)
        shown = "; ".join(c.message for c in self.breaking[:5]) + ("; …" if n > 5 else "")
        return f"{n} breaking change{'s' if n != 1 else ''}: {shown}"


def _types(doc: dict[str, Any], schema: Any) -> set[str]:
    s = deref(doc, schema)
    if not isinstance(s, dict):
        return set()
    t = s.get("type")
    kinds = set(t) if isinstance(t, list) else ({t} if isinstance(t, str) else set())
    if s.get("nullable"):
        kinds.add("null")
    return kinds


class _Differ:
    def __init__(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.old, self.new = old, new
        self.diff = Diff()

    def br(self, kind: str, pointer: str, message: str) -> None:
        self.diff.breaking.append(Change(kind, pointer, message))

    def ok(self, kind: str, pointer: str, message: str) -> None:
        self.diff.non_breaking.append(Change(kind, pointer, message))

    def schema(self, a: Any, b: Any, at: str, what: str, request: bool, depth: int = 0) -> None:
        """Compare two schemas; ``request`` True when clients send the value, False when they receive it."""
        if depth > MAX_DEPTH:
            return
        sa, sb = deref(self.old, a), deref(self.new, b)
        if not isinstance(sa, dict) or not isinstance(sb, dict):
            return
        ta, tb = _types(self.old, sa), _types(self.new, sb)
        if ta and tb and ta != tb:
            lost = {t for t in ta if t not in tb and not (WIDER.get(t, set()) & tb)}
            if request and lost:
                self.br("type-narrowed", at, f"{what}: type narrowed from {'/'.join(sorted(ta))} to {'/'.join(sorted(tb))}")
            elif not request and (tb - ta):
                self.br("type-changed", at, f"{what}: response type changed from {'/'.join(sorted(ta))} to {'/'.join(sorted(tb))}")
            else:
                self.ok("type-widened", at, f"{what}: type widened to {'/'.join(sorted(tb))}")
        ea, eb = sa.get("enum"), sb.get("enum")
        if isinstance(eb, list):
            old_values = ea if isinstance(ea, list) else None
            if request and (old_values is None or any(v not in eb for v in old_values)):
                gone = [v for v in old_values or [] if v not in eb]
                detail = ", ".join(json.dumps(v) for v in gone) if gone else "any value"
                self.br("enum-narrowed", at, f"{what}: no longer accepts {detail}")
            elif old_values is not None and any(v not in old_values for v in eb):
                (self.ok if request else self.br)("enum-widened", at, f"{what}: new values " + ", ".join(
                    json.dumps(v) for v in eb if v not in old_values))
        pa, ra = properties(self.old, sa)
        pb, rb = properties(self.new, sb)
        for name in pa:
            p = f"{at}/properties/{escape(name)}"
            if name not in pb:
                self.br("property-removed", p, f"{what}: property `{name}` removed")
            else:
                if request and name in rb and name not in ra:
                    self.br("property-became-required", p, f"`{name}` now required")
                elif not request and name in ra and name not in rb:
                    self.br("property-no-longer-required", p, f"{what}: `{name}` may now be missing")
                self.schema(pa[name], pb[name], p, f"{what}.{name}", request, depth + 1)
        for name in pb:
            if name not in pa:
                p = f"{at}/properties/{escape(name)}"
                if request and name in rb:
                    self.br("property-required-added", p, f"{what}: new required property `{name}`")
                else:
                    self.ok("property-added", p, f"{what}: property `{name}` added")
        if "items" in sa and "items" in sb:
            self.schema(sa["items"], sb["items"], at + "/items", what + "[]", request, depth + 1)

    def params(self, oa: Operation, ob: Operation, at: str) -> None:
        def by_key(doc: dict[str, Any], params: list[Any]) -> dict[tuple[str, str], dict[str, Any]]:
            out: dict[tuple[str, str], dict[str, Any]] = {}
            for raw in params:
                p = deref(doc, raw)
                if isinstance(p, dict):
                    out[(str(p.get("name")), str(p.get("in")))] = p
            return out

        pa, pb = by_key(self.old, oa.params), by_key(self.new, ob.params)
        for key, p in pa.items():
            ptr = f"{at}/parameters/{escape(key[0])}"
            if key not in pb:
                self.br("parameter-removed", ptr, f"{oa.key}: parameter `{key[0]}` ({key[1]}) removed")
                continue
            q = pb[key]
            if q.get("required") and not p.get("required"):
                self.br("parameter-became-required", ptr, f"`{key[0]}` now required")
            self.schema(p.get("schema", {}), q.get("schema", {}), ptr + "/schema", f"{oa.key} `{key[0]}`", True)
        for key, q in pb.items():
            if key not in pa:
                ptr = f"{at}/parameters/{escape(key[0])}"
                if q.get("required"):
                    self.br("parameter-required-added", ptr, f"{ob.key}: new required parameter `{key[0]}`")
                else:
                    self.ok("parameter-added", ptr, f"{ob.key}: parameter `{key[0]}` added")

    def operation(self, oa: Operation, ob: Operation) -> None:
        at = f"/paths/{escape(oa.path)}/{oa.method}"
        self.params(oa, ob, at)
        ba, bb = deref(self.old, oa.op.get("requestBody")) or {}, deref(self.new, ob.op.get("requestBody")) or {}
        if isinstance(bb, dict) and bb.get("required") and not (isinstance(ba, dict) and ba.get("required")):
            self.br("body-became-required", at + "/requestBody", f"{oa.key}: request body now required")
        for media, entry in ((ba.get("content") or {}) if isinstance(ba, dict) else {}).items():
            other = ((bb.get("content") or {}) if isinstance(bb, dict) else {}).get(media)
            if other is None:
                self.br("media-type-removed", at + "/requestBody", f"{oa.key}: request type `{media}` no longer accepted")
            else:
                self.schema((entry or {}).get("schema", {}), other.get("schema", {}),
                            f"{at}/requestBody/content/{escape(media)}/schema", f"{oa.key} body", True)
        ra, rb = oa.op.get("responses") or {}, ob.op.get("responses") or {}
        for code in ra:
            ptr = f"{at}/responses/{escape(str(code))}"
            if code not in rb:
                self.br("response-removed", ptr, f"{oa.key}: response {code} removed")
                continue
            ca = (deref(self.old, ra[code]) or {}).get("content") or {}
            cb = (deref(self.new, rb[code]) or {}).get("content") or {}
            for media, entry in ca.items():
                if media in cb:
                    self.schema((entry or {}).get("schema", {}), (cb[media] or {}).get("schema", {}),
                                f"{ptr}/content/{escape(media)}/schema", f"{oa.key} {code}", False)
        for code in rb:
            if code not in ra:
                self.ok("response-added", f"{at}/responses/{escape(str(code))}", f"{ob.key}: response {code} added")
        sa = oa.op.get("security", self.old.get("security"))
        sb = ob.op.get("security", self.new.get("security"))
        if json.dumps(sa, sort_keys=True) != json.dumps(sb, sort_keys=True):
            self.br("security-changed", at + "/security", f"{oa.key}: security requirements changed")


def compare(old: dict[str, Any] | None, new: dict[str, Any]) -> Diff:
    """Breaking and non-breaking changes from ``old`` (None: nothing published yet) to ``new``."""
    d = _Differ(old or {}, new)
    before = {(o.method, o.path): o for o in operations(old)} if old else {}
    after = {(o.method, o.path): o for o in operations(new)}
    for key, o in before.items():  # removals first: they lead the summary
        if key not in after:
            d.br("operation-removed", f"/paths/{escape(o.path)}/{o.method}", f"{o.key} removed")
    for key, o in before.items():
        if key in after:
            d.operation(o, after[key])
    for key, o in after.items():
        if key not in before:
            d.ok("operation-added", f"/paths/{escape(o.path)}/{o.method}", f"{o.key} added")
    return d.diff
