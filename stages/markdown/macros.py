"""Jinja macros in pages, the mkdocs-macros way: on when mkdocs.yml lists the ``macros`` plugin.

Pages see ``extra:`` variables at the top level (``{{ version }}``), the same under ``extra``,
``config`` (``site_name``, ``site_url``), the page's front matter as ``page.meta``, and the data
of ``include_yaml`` files (a plain entry merges its top-level keys, ``{name: file}`` puts it under
``name``). Pages are hostile, so templates run in a ``SandboxedEnvironment`` (no attribute games,
no file access) with a size and loop budget; an unknown variable stays as written, as
mkdocs-macros' default ``on_undefined: keep`` does. A template error leaves the page untouched
and becomes a finding. Without the plugin, nothing is rendered (``blocks.leftovers`` warns).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2.sandbox import SandboxedEnvironment

from stages.site.layout import SiteLayout

MAX_OUTPUT = 2_000_000
"""A page that expands past this many characters is refused (``{% for %}`` bombs)."""


class _Keep(jinja2.DebugUndefined):
    """``{{ unknown }}`` renders as written, so pages using other templating survive."""


def _load_yaml(path: Path, root: Path) -> tuple[Any, str | None]:
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        return None, f"include_yaml {path.name!r} is outside the include root; refused"
    try:
        return yaml.safe_load(resolved.read_text(encoding="utf-8")), None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return None, f"include_yaml {path.name!r} cannot be read: {exc}"


def variables(layout: SiteLayout) -> tuple[dict[str, Any], str]:
    """``(variables, hash)`` for the site; the hash joins the render cache key, so editing a
    data file re-renders the pages. Unreadable data files are listed under ``_errors``."""
    mk = layout.mkdocs
    assert mk is not None
    values: dict[str, Any] = dict(mk.extra)
    errors: list[str] = []
    base = mk.file.parent
    for name, entry in mk.include_yaml:
        data, err = _load_yaml(base / entry, layout.include_root)
        if err:
            errors.append(err)
        elif name is not None:
            values[name] = data
        elif isinstance(data, dict):
            values.update(data)
    values.update(extra=dict(mk.extra), config={"site_name": mk.site_name, "site_url": mk.site_url})
    values["_errors"] = errors
    blob = json.dumps(values, sort_keys=True, default=str).encode()
    return values, hashlib.sha256(blob).hexdigest()


_ENV = SandboxedEnvironment(undefined=_Keep, autoescape=False, keep_trailing_newline=True)


def render(text: str, values: dict[str, Any], meta: dict[str, Any]) -> tuple[str, str | None]:
    """``(text, error)``: the page with its macros expanded, or unchanged with the reason."""
    if "{{" not in text and "{%" not in text:
        return text, None
    try:
        out = _ENV.from_string(text).render({**values, "page": {"meta": meta, "title": meta.get("title")}})
    except jinja2.TemplateSyntaxError as exc:
        return text, f"Jinja macro syntax error on line {exc.lineno}: {exc.message}; page left as written"
    except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError, RecursionError) as exc:
        return text, f"Jinja macro failed: {type(exc).__name__}: {exc}; page left as written"
    if len(out) > MAX_OUTPUT:
        return text, f"Jinja macros expand the page past {MAX_OUTPUT} characters; page left as written"
    return out, None
