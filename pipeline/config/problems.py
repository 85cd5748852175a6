"""Config problems as lines a person can act on: ``<file>: [table] key: what was expected, got what``.

pydantic reports a location tuple and an error type; a team editing TOML thinks in tables and
keys, so each error is translated into the table header they would search for and the expectation
in TOML words ("an integer >= 1", "true or false"), never pydantic's. Every problem is collected
before anything is raised, so one run lists them all instead of one per restart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from pipeline.config.schema import Config


def from_validation_error(path: str, exc: ValidationError) -> list[str]:
    """One line per key that failed validation on its own."""
    lines = []
    for err in exc.errors(include_url=False):
        where = _toml_loc(err["loc"])
        got = ""
        if err["type"] not in ("missing", "extra_forbidden") and "input" in err and not isinstance(err["input"], dict):
            got = f", got {_show(err['input'])}"
        lines.append(f"{path}: {where}: {_describe(dict(err))}{got}")
    return lines


def cross_checks(cfg: Config) -> list[str]:
    """Checks that span keys, run once every key is valid on its own."""
    p = cfg.path
    problems = []
    if cfg.site.default_language not in cfg.site.languages:
        problems.append(
            f"{p}: [site] default_language: {cfg.site.default_language!r} is not in [site] languages {cfg.site.languages}"
        )
    for name, n in cfg.workers.concurrency.items():
        if n < 0:
            problems.append(f"{p}: [workers.concurrency] {name}: expected an integer >= 0, got {n}")
    if cfg.server.sites_port is None and cfg.server.port == 65535:
        problems.append(f"{p}: [server] sites_port: the default (port + 1) is past 65535; set sites_port explicitly")
    if cfg.server.port and cfg.server.effective_sites_port == cfg.server.port:
        problems.append(f"{p}: [server] sites_port: must differ from port {cfg.server.port} (sites need their own origin)")
    deploy = cfg.stages.deploy
    if deploy.target not in deploy.targets:
        problems.append(f"{p}: [stages.deploy] target: {deploy.target!r} is not a configured target ({sorted(deploy.targets)})")
    return problems


def _toml_loc(loc: Iterable[Any]) -> str:
    """``('workers','count')`` -> ``[workers] count``; ``('notify','webhooks',1,'url')`` -> ``[[notify.webhooks]] #2 url``."""
    parts = list(loc)
    if not parts:
        return "(top level)"
    *head, last = parts
    tables = [str(part) for part in head if not isinstance(part, int)]
    indexes = [part for part in head if isinstance(part, int)]
    key = f"#{last + 1}" if isinstance(last, int) else str(last)
    if not tables:
        return key
    table = ".".join(tables)
    if indexes:
        return f"[[{table}]] #{indexes[-1] + 1} {key}"
    return f"[{table}] {key}"


def _describe(err: dict[str, Any]) -> str:
    """What the key expected, in TOML terms, with the bound of a range check."""
    kind = err.get("type", "")
    msg = str(err.get("msg", "invalid value"))
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown key (remove it or check its spelling against docs/config.md)"
    if kind == "missing":
        return "required key is missing"
    if kind in ("int_parsing", "int_type"):
        base = "expected an integer"
    elif kind in ("float_parsing", "float_type"):
        base = "expected a number"
    elif kind in ("bool_parsing", "bool_type"):
        base = "expected true or false"
    elif kind == "string_type":
        base = "expected a string"
    elif kind == "list_type":
        base = "expected a list"
    elif kind in ("dict_type", "model_type"):
        base = "expected a table"
    elif kind == "literal_error":
        base = f"expected one of {ctx.get('expected', '')}"
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = next((ctx[k] for k in ("ge", "gt", "le", "lt") if k in ctx), 0)
        base = "expected a number" if isinstance(bound, float) else "expected an integer"
    else:
        base = msg[0].lower() + msg[1:] if msg else "invalid value"
    if "ge" in ctx:
        base += f" >= {ctx['ge']:g}"
    elif "gt" in ctx:
        base += f" > {ctx['gt']:g}"
    if "le" in ctx:
        base += f" <= {ctx['le']:g}"
    return base


def _show(value: Any) -> str:
    """A value as it would be written in TOML."""
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)
