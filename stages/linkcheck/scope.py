"""What a one-language check leaves to the other languages' jobs (``[translate] fan_out``).

A fanned-out build renders only its source language and each translate job only its own, yet
their pages link across languages (the language switcher, ``hreflang`` alternates, the root page
that sends readers to the source language). Those folders are not in this job's output, so
checking them would call every such link broken; they are published by the job that builds them,
and the switcher links only to pages that exist.
"""

from __future__ import annotations

import re
from typing import Any

from stages.base import StageContext, StageError
from stages.deploy.compose import site_languages


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
