"""What a one-language check leaves to the other languages' jobs (``[translate] fan_out``).

A fanned-out build renders only its source language and each translate job only its own, yet
their pages link across languages (the language switcher, ``hreflang`` alternates, the root page
that sends readers to the source language). Those folders are not in this job's output, so
checking them would call every such link broken; they are published by the job that builds them,
and the switcher links only to pages that exist.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from stages.base import StageContext, StageError
from stages.deploy.compose import site_languages
from stages.site.langcodes import ISO_639_1


def other_languages(ctx: StageContext[Any], base_url: str) -> tuple[str, ...]:
    """``--ignore-url`` regexes for the folders of the languages this job does not build."""
    if ctx.language is None:
        return ()
    try:
        _, langs = site_languages(ctx.source, ctx.site)
    except StageError:
        return ()
    others = [lang for lang in langs if lang != ctx.language]
    if not others:
        return ()
    names = "|".join(re.escape(lang) for lang in others)
    return (f"^{re.escape(base_url.rstrip('/'))}/(?:{names})(?:[/?#]|$)",)


def unbuilt_languages(out: Path, base_url: str) -> tuple[str, ...]:
    """An ``--ignore-url`` regex for links under the site's own URL into a language folder that
    this build does not hold at all (``https://fastapi.tiangolo.com/zh/tutorial/`` in a build of
    FastAPI's ``docs/en`` alone): another build publishes those pages, so they cannot be checked
    here, and calling them broken would bury the real findings. A language this build writes
    is checked as usual (a code with a region, ``pt-br``, keeps its base ``pt`` checked too)."""
    if not base_url.startswith(("http://", "https://")):
        return ()
    try:
        built = {p.name.lower().replace("_", "-").split("-", 1)[0] for p in out.iterdir() if p.is_dir()}
    except OSError:
        return ()
    codes = "|".join(sorted(ISO_639_1 - built))
    return (f"^{re.escape(base_url.rstrip('/'))}/(?:{codes})(?:[-_][A-Za-z0-9]{{1,8}})*(?:[/?#]|$)",)
