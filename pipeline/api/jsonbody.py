"""Parsing JSON request bodies that anyone may send: bounded depth, one error code.

``json.loads`` recurses once per nesting level, so ``[[[[...]]]]`` 100k deep raises
``RecursionError``, which used to surface as ``500 internal_error``. A document that parses just
under the interpreter's limit is no better: the next recursive walk over it (``json.dumps`` when
it is stored, a ``scrub`` of a payload) fails far from the request. No body pressroom accepts
needs more than a few levels, so anything deeper than :data:`MAX_DEPTH` is refused up front as
``400 invalid_json``.
"""

from __future__ import annotations

import json
from typing import Any

from pipeline import errors

MAX_DEPTH = 64
"""Nesting levels a request body may have; GitHub and GitLab push payloads use fewer than 10."""


def loads(raw: bytes | str, what: str = "the body") -> Any:
    """The parsed document, or :class:`errors.InvalidJson` naming ``what`` and the reason."""
    try:
        doc = json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise errors.InvalidJson(f"{what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise errors.InvalidJson(f"{what} is nested deeper than {MAX_DEPTH} levels") from None
    if depth(doc) > MAX_DEPTH:
        raise errors.InvalidJson(f"{what} is nested deeper than {MAX_DEPTH} levels")
    return doc


def depth(doc: Any) -> int:
    """Nesting depth without recursion (a scalar is 0, ``[]`` is 1); stops counting past the limit."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(doc, 0)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level) for child in children if isinstance(child, dict | list))
    return deepest
