"""Generate ``docs/config.md`` from the typed config model, so the reference cannot drift.

Each table of :class:`~pipeline.config.schema.Config` becomes a section, each field a row: its
type, its default and its attribute docstring. Nested tables, arrays of tables and named tables
(``[languages.<name>]``) follow their parent, in model order.
``python -m pipeline.config.reference > docs/config.md``; a test fails when the committed file differs.
"""

from __future__ import annotations

import ast
import functools
import inspect
import json
import re
import textwrap
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from pipeline.config.schema import Config

HEADER = """# Configuration reference

pressroom reads one TOML file (`config.toml`, or `--config FILE`), validates every key against a
typed model and refuses to start on any problem, printing one line per problem with the file, the
table, the key, what was expected and what it got, for example:

```text
config.toml: [workers] count: expected an integer >= 1, got "two"
config.toml: [server] prot: unknown key (remove it or check its spelling against docs/config.md)
```

Relative paths are taken from the config file's folder. Secrets are never written in the file:
keys ending in `_env` name the environment variable that holds the secret.
`pressroom check-config` validates a file without starting anything; `pressroom init DIR` writes a
commented starter file.

This page is generated from the model (`python -m pipeline.config.reference`); a test keeps it current.
"""


_MODULE_PATH = re.compile(r"\b(?:[a-z_][a-z0-9_]*\.)+(?=[A-Za-z_])")
"""A dotted module path in front of a name (``pipeline.config.schema.``, ``typing.``)."""


def _type_name(annotation: Any) -> str:
    """The annotation as a reader writes it: ``list[TokenConfig]``, not ``list[pipeline.config.schema.TokenConfig]``."""
    if isinstance(annotation, type):
        return annotation.__name__
    return _MODULE_PATH.sub("", repr(annotation))


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        try:
            value = field.default_factory()  # type: ignore[call-arg]
        except TypeError:
            return "(computed)"
    elif field.default is PydanticUndefined:
        return "**required**"
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return "(table)"
    if isinstance(value, dict) and value and all(isinstance(v, BaseModel) for v in value.values()):
        return ", ".join(sorted(value))
    return "`" + json.dumps(value, default=str) + "`"


@functools.cache
def _own_docstrings(cls: type) -> dict[str, str]:
    """The attribute docstrings written in ``cls``'s own body (``name: type = ...`` then a string).

    Read here, from the source, rather than by pydantic's ``use_attribute_docstrings``: that
    reads every model's source when the model is defined, 30 ms of every command's start-up
    for text only this page shows.
    """
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for stmt, after in zip(body, body[1:], strict=False):
        if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str)):
            docs[stmt.target.id] = inspect.cleandoc(after.value.value)
    return docs


def _docstring(model: type[BaseModel], name: str, field: FieldInfo) -> str:
    """A field's explicit description, else its docstring in the nearest class that declares it."""
    if field.description:
        return field.description
    for cls in model.__mro__:
        if name in vars(cls).get("__annotations__", {}):
            return _own_docstrings(cls).get(name, "")
    return ""


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _section(lines: list[str], title: str, model: type[BaseModel]) -> list[tuple[str, type[BaseModel]]]:
    nested: list[tuple[str, type[BaseModel]]] = []
    rows = []
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        ann = field.annotation
        if _is_model(ann):
            nested.append((f"{title}.{name}" if title else name, typing.cast(type[BaseModel], ann)))
            continue
        args = typing.get_args(ann)
        item = args[0] if typing.get_origin(ann) is list and args else None
        if item is not None and _is_model(item):
            nested.append((f"[{title}.{name}]" if title else f"[{name}]", typing.cast(type[BaseModel], item)))
        if typing.get_origin(ann) is dict and len(args) == 2 and _is_model(args[1]):
            nested.append((f"{title}.{name}.<name>" if title else f"{name}.<name>", typing.cast(type[BaseModel], args[1])))
        desc = _docstring(model, name, field).replace("\n", " ").replace("|", "\\|").replace("``", "`")
        rows.append(f"| `{name}` | `{_type_name(ann)}`".replace("``", "`") + f" | {_default(field)} | {desc} |")
    if rows:
        lines.append(f"## [{title}]\n" if title else "## Top level\n")
        doc = (model.__doc__ or "").strip()
        if doc and not doc.startswith(("Base of", "A base")):
            lines.append(doc.splitlines()[0].replace("``", "`") + "\n")
        lines.append("| key | type | default | what it does |")
        lines.append("|---|---|---|---|")
        lines.extend(rows)
        lines.append("")
    return nested


def render() -> str:
    lines = [HEADER]
    queue: list[tuple[str, type[BaseModel]]] = [("", Config)]
    while queue:
        title, model = queue.pop(0)
        queue[0:0] = _section(lines, title, model)
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    print(render(), end="")
