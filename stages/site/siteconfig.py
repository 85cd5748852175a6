"""A site's own config files (``mkdocs.yml``, Hugo's ``hugo.toml``), parsed once per run.

:func:`~stages.site.layout.site_languages` and :func:`~stages.site.layout.discover` both start
from these files, and a translate run used to call them three or four times (each parsing
FastAPI's mkdocs.yml anew). A :class:`ConfigReads` made by the caller for one run and handed to
each call lets them share one parse. It is never a module-level cache: the daemon runs for weeks
over trees that change between jobs, and entries are keyed by the file's stat as well as its
path, so a file rewritten during the run is parsed again rather than served stale.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from stages.base import StageError
from stages.site import hugo, mkdocs
from stages.site.frontmatter import SAFE_LOADER


class _LenientLoader(SAFE_LOADER):  # type: ignore[misc,valid-type]
    """mkdocs.yml files carry ``!!python/name:`` and ``!ENV`` tags; we only need plain data.

    On libyaml's loader when PyYAML has it: every build reads mkdocs.yml, and the pure-Python
    loader took 10 ms of FastAPI's (the C one 1 ms), the same data either way."""


def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)  # type: ignore[arg-type]


_LenientLoader.add_multi_constructor("!", _any_tag)
_LenientLoader.add_multi_constructor("tag:yaml.org,2002:python/", _any_tag)


MAX_INHERIT = 8
"""How many configs an ``INHERIT`` chain may hold: a submitted chain of thousands is refused, not recursed into."""


def load_mkdocs_yml(path: Path, root: Path | None = None, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """mkdocs.yml as data, with ``INHERIT: ../en/mkdocs.yml`` merged under it as MkDocs merges it
    (tables key by key, anything else replaced). The inherited file must lie inside ``root``
    (the folder includes may read from; the file's own folder when None): a submitted config
    never makes pressroom read outside the tree."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LenientLoader)  # noqa: S506
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise StageError(f"{path.name}: cannot read MkDocs config: {exc}", code="config_invalid") from exc
    if not isinstance(data, dict):
        raise StageError(f"{path.name}: MkDocs config must be a mapping", code="config_invalid")
    parent = data.pop("INHERIT", None)
    if parent is None:
        return data
    base = (path.parent / str(parent)).resolve()
    bound = (root or path.parent).resolve()
    if (not isinstance(parent, str) or not base.is_relative_to(bound) or base in _seen or not base.is_file()
            or len(_seen) >= MAX_INHERIT):
        why = ("leads outside the source folder" if isinstance(parent, str) and not base.is_relative_to(bound)
               else "inherits itself" if base in _seen
               else f"is more than {MAX_INHERIT} configs deep" if len(_seen) >= MAX_INHERIT else "is not a file it can read")
        raise StageError(f"{path.name}: INHERIT {str(parent)[:80]!r} {why}", code="config_invalid")
    return _merged(load_mkdocs_yml(base, bound, (*_seen, path.resolve())), data)


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


_Key = tuple[Path, int, int, int]


def _key(path: Path) -> _Key | None:
    """The file as it is now; None when it cannot be stat'ed (the loader then reports why)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return path, st.st_ino, st.st_size, st.st_mtime_ns


class ConfigReads:
    """Parsed config files for one run, keyed by path and stat; make one per run and pass it on.

    Only successful parses are kept: a file that fails is read again by the next caller, which
    then raises (or, for language detection, ignores) the same error it always did.
    """

    def __init__(self) -> None:
        self._mkdocs: dict[_Key, tuple[dict[str, Any], mkdocs.MkDocsSite]] = {}
        self._hugo: dict[_Key, dict[str, Any]] = {}

    def mkdocs(self, path: Path, root: Path | None = None) -> tuple[dict[str, Any], mkdocs.MkDocsSite]:
        """mkdocs.yml as parsed data and as :class:`~stages.site.mkdocs.MkDocsSite` (``root``:
        where an ``INHERIT`` may lead, see :func:`load_mkdocs_yml`)."""
        key = _key(path)
        found = self._mkdocs.get(key) if key is not None else None
        if found is None:
            conf = load_mkdocs_yml(path, root)
            found = conf, mkdocs.read(path, conf)
            if key is not None:
                self._mkdocs[key] = found
        return found

    def hugo(self, source: Path) -> hugo.HugoConfig | None:
        """:func:`stages.site.hugo.find`, each config file it opens parsed once."""
        return hugo.find(source, parse=self._load_hugo)

    def _load_hugo(self, path: Path) -> dict[str, Any]:
        key = _key(path)
        found = self._hugo.get(key) if key is not None else None
        if found is None:
            found = hugo.load(path)
            if key is not None:
                self._hugo[key] = found
        return found
