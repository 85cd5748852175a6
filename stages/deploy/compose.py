"""Releases made of languages built by different jobs (``[translate] fan_out``).

A fanned-out build renders only the source language and each translate job only its own, yet a
target serves one release with every language under ``/<lang>/``. So a release is composed from
the live one: the source build's release carries the other languages' folders over from the
current release, and a translate job's release is the current release with its own ``/<lang>/``
replaced. Carried files are hard links (releases are never changed once finished), so composing
costs a link per file, not a copy. Composition happens under the target's compose lock, held from
reading ``current`` to swapping it, or two languages finishing at once would each publish a
release without the other's folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from stages.deploy import release
from stages.deploy.options import is_translation_preview
from stages.site import layout
from stages.site.options import SiteOptions

LOCK_POLL = 0.05
"""Seconds between tries of the compose lock (polled, so a cancelled deploy stops waiting)."""


@dataclass(frozen=True)
class Plan:
    """How one deploy composes its release with the live one."""

    language: str
    """The language this job built."""
    source_language: str
    languages: tuple[str, ...]
    """Every language of the site, source first."""

    @property
    def translation(self) -> bool:
        return self.language != self.source_language

    @property
    def others(self) -> tuple[str, ...]:
        return tuple(lang for lang in self.languages if lang != self.language)


site_languages = layout.site_languages
"""The source language and every language of the site (source first); kept for importers."""


def plan(source: Path, site: SiteOptions, language: str | None, target: str,
         release_from: Path | None) -> Plan | None:
    """The composition a deploy needs, or None when its output is the whole release: every
    language was built together, a promotion publishes a finished release, or a translation's
    own preview target shows just that language."""
    if language is None or release_from is not None or is_translation_preview(target):
        return None
    src, langs = site_languages(source, site)
    if len(langs) < 2 and language == src:
        return None
    return Plan(language=language, source_language=src, languages=tuple(langs))


def skip_top(p: Plan, site_dir: Path, current: Path | None) -> frozenset[str]:
    """Top-level entries of the job's output left out of the release: a translate job with a
    live release to build on publishes only its ``/<lang>/`` (the rest comes from the release)."""
    if not p.translation or current is None or not site_dir.is_dir():
        return frozenset()
    return frozenset(entry.name for entry in site_dir.iterdir() if entry.name != p.language)


def carried(p: Plan, site_dir: Path, current: Path | None) -> list[str]:
    """Top-level entries of the live release the new one takes over unchanged."""
    if current is None or not current.is_dir():
        return []
    if p.translation:
        return sorted(e.name for e in current.iterdir() if e.name != p.language and not e.name.startswith("."))
    return [lang for lang in p.others if (current / lang).is_dir() and not (site_dir / lang).exists()]


def carry_over(incoming: Path, current: Path, names: list[str]) -> int:
    """Hard-link ``names`` (top-level files and folders) of ``current`` into ``incoming``; the
    number of files linked. An entry the job wrote itself is never overwritten."""
    count = 0
    for name in names:
        src, dst = current / name, incoming / name
        if dst.exists() or src.is_symlink():
            continue
        if src.is_dir():
            count += release.copy_tree(src, dst, release.link_or_copy)
        elif src.is_file():
            release.link_or_copy(src, dst)
            count += 1
    return count


@contextlib.asynccontextmanager
async def locked(root: Path) -> AsyncIterator[None]:
    """The target's compose lock (``<root>/.compose.lock``), across daemons sharing the folder.

    Not ``.lock``: the release functions take that one for their own short steps while this one
    is held. Polled without blocking, so a deploy cancelled while waiting leaves at once.
    """
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / ".compose.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(LOCK_POLL)
        yield
    finally:
        os.close(fd)
