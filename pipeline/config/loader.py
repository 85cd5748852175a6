"""Reading ``config.toml`` into a :class:`~pipeline.config.schema.Config`, once, at start.

A file that does not parse, a key that fails validation and a cross-key check that fails all end
in one :class:`~pipeline.errors.ConfigError` listing every problem, so the command line can print
them and exit before anything starts. Secrets are not part of the model: the file names
environment variables, and :func:`secret` reads them when a channel or check needs one.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pipeline.config import problems
from pipeline.config.schema import Config
from pipeline.errors import ConfigError


def load(path: str | Path | None = None) -> Config:
    """Load ``path`` (or the defaults when it is None)."""
    if path is None:
        return parse({}, path="<defaults>", root=Path.cwd())
    file = Path(path)
    try:
        with file.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError([f"{file}: file not found (create one with `pressroom init`)"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{file}: TOML syntax error: {exc}"]) from None
    return parse(data, path=str(file), root=file.resolve().parent)


def parse(data: dict[str, Any], *, path: str = "config.toml", root: str | Path = ".") -> Config:
    """Validate a parsed TOML mapping; every problem is reported at once.

    Cross-key checks run only when every key is valid on its own: they read the validated model.
    """
    try:
        cfg = Config.model_validate({**data, "path": path, "root": str(root)})
    except ValidationError as exc:
        raise ConfigError(problems.from_validation_error(path, exc)) from None
    found = problems.cross_checks(cfg)
    if found:
        raise ConfigError(found)
    return with_site_base(cfg)


def with_site_base(cfg: Config, previous_sites_url: str | None = None) -> Config:
    """``[site] base_url`` defaults to the sites origin, so live URLs and links point there.

    Only a default (or one equal to what the old sites URL gave, after the listener picked its
    port) is replaced; a ``base_url`` someone wrote is kept as written."""
    derived = f"{cfg.sites_url}/sites/{cfg.stages.deploy.target}/"
    old = f"{previous_sites_url}/sites/{cfg.stages.deploy.target}/" if previous_sites_url else None
    if "base_url" in cfg.site.model_fields_set and cfg.site.base_url != old:
        return cfg
    if cfg.site.base_url == derived:
        return cfg
    return cfg.model_copy(update={"site": cfg.site.model_copy(update={"base_url": derived})})


def secret(env_name: str | None) -> str | None:
    """Read a secret from the environment variable the config names (never from the file)."""
    if not env_name:
        return None
    value = os.environ.get(env_name)
    return value or None
