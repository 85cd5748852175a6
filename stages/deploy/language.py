"""One language's folder of a release: its diff against the live site, and putting it live.

A translation held for approval sits in the ``translation-<lang>`` target. Approving it must not
copy that whole release over the live site: the source language (and every other language) may
have been deployed since it was built. So the approved language is composed onto what is live
*now*: every top-level entry of the live release except ``<lang>/``, plus ``<lang>/`` of the held
release, all hard links (no page is written twice). The deploy stage then publishes that tree like
any promotion (checks, lease, atomic ``current`` swap).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from stages.base import StageError
from stages.deploy import diff
from stages.deploy.compose import carry_over
from stages.deploy.release import copy_tree, link_or_copy


def language_pages(release: Path | None, lang: str) -> dict[str, Path]:
    """URL path -> file of every page under ``<lang>/`` of a release (its home page included)."""
    if release is None:
        return {}
    folder = release / lang
    if not folder.is_dir():
        return {}
    pages: dict[str, Path] = {}
    for path in folder.rglob("*.html"):
        rel = path.relative_to(release).as_posix()
        pages[rel[: -len("index.html")] if rel.endswith("/index.html") else rel] = path
    return pages


def diff_language(held: Path, live: Path | None, lang: str, *, max_tables: int = 50) -> diff.DiffPreview:
    """What approving ``held``'s ``<lang>/`` would change on the live site, page by page."""
    return diff.diff_pages(language_pages(held, lang), language_pages(live, lang), max_tables=max_tables)


def compose(live: Path | None, held: Path, lang: str, dest: Path) -> int:
    """Write ``dest`` = ``live`` without ``<lang>/`` + ``held``'s ``<lang>/``; return the file count.

    ``dest`` must not exist. Raises :class:`StageError` ``deploy_check_failed`` when the held release
    has no ``<lang>/`` folder (nothing to publish: approving it would delete the language).
    """
    if not (held / lang).is_dir():
        raise StageError(f"the held release {held.name} has no {lang}/ folder to publish", code="deploy_check_failed")
    dest.mkdir(parents=True)
    count = 0
    try:
        if live is not None and live.is_dir():
            count += carry_over(dest, live, [entry.name for entry in live.iterdir() if entry.name != lang])
        count += copy_tree(held / lang, dest / lang, link_or_copy)
    except OSError as exc:
        shutil.rmtree(dest, ignore_errors=True)
        raise StageError(f"composing the {lang}/ release failed: {exc.strerror or exc}", code="deploy_not_writable") from exc
    return count

