"""Whether a finished translate job goes live at ``/<lang>/`` or waits.

One pure function so the translate job, the review queue and the approve route agree on the rule.
A language owner's ``[languages.<code>]`` settings come first (a half-translated language must never
reach readers, whatever else is configured); ``[translate] auto_publish`` only decides about machine
pages, which nobody has read yet. Jobs that are not published still deploy to the
``translation-<lang>`` preview target, so the reason string is what tells people why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.config.schema import Config, LanguageConfig

BELOW_MIN_COMPLETION = "below_min_completion"
REVIEW_REQUIRED = "review_required"
INCOMPLETE = "incomplete"
MACHINE_PAGES = "machine_pages"
AUTO_PUBLISH = "auto_publish"
COMPLETE = "complete"
APPROVED = "approved"

REASONS = {
    BELOW_MIN_COMPLETION: "completion is below [languages.{lang}] min_completion ({min}%): previewable only",
    REVIEW_REQUIRED: "[languages.{lang}] auto_publish = false: every run waits for approval",
    INCOMPLETE: '[languages.{lang}] auto_publish = "when-complete" and the language is not complete: waits for approval',
    MACHINE_PAGES: "machine-translated pages and [translate] auto_publish = false: waits for approval",
    AUTO_PUBLISH: "published",
    COMPLETE: "complete: published",
    APPROVED: "approved by an admin",
}


@dataclass(frozen=True)
class Decision:
    publish: bool
    needs_review: bool
    reason: str


def decide(cfg: Config, lang: str, outputs: Mapping[str, Any]) -> Decision:
    """The publishing decision for one language from the translate stage's counts.

    A language without a ``[languages.<code>]`` table gets the defaults (publish, no minimum).
    """
    language = cfg.languages.get(lang) or LanguageConfig()
    completion = float(outputs.get("completion") or 0.0)
    machine = int(outputs.get("machine") or 0)
    if completion < language.min_completion:
        return Decision(False, False, BELOW_MIN_COMPLETION)
    if language.auto_publish is False:
        return Decision(False, True, REVIEW_REQUIRED)
    if language.auto_publish == "when-complete":
        # Machine pages count against completion already; checked too so 100% can never hide one.
        if completion >= 100.0 and machine == 0 and _nothing_left(outputs):
            return Decision(True, False, COMPLETE)
        return Decision(False, True, INCOMPLETE)
    if machine and not cfg.translate.auto_publish:
        return Decision(False, True, MACHINE_PAGES)
    return Decision(True, False, AUTO_PUBLISH)


def explain(reason: str, cfg: Config, lang: str) -> str:
    """The sentence notifications and the review queue show for a reason code."""
    language = cfg.languages.get(lang) or LanguageConfig()
    template = REASONS.get(reason, reason)
    return template.format(lang=lang, min=f"{language.min_completion:g}")


def _nothing_left(outputs: Mapping[str, Any]) -> bool:
    """No stale or missing page (completion is rounded to one decimal, so 99.95% could read 100.0)."""
    return not int(outputs.get("stale") or 0) and not int(outputs.get("missing") or 0)
