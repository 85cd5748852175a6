"""Promotion decisions: does a build that reached staging go on to production, and how.

The job store owns the review records (pending / approved / rejected / superseded); these are the
pure rules it applies. A ``promote`` job runs the deploy stage itself with ``StageContext.target``
(where to) and ``StageContext.release_from`` (the reviewed release, copied as it is).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from stages.base import StageResult
from stages.deploy.options import Options

Decision = Literal["none", "review", "auto"]


@dataclass(frozen=True)
class BuildHealth:
    """What ``auto_promote = "when-clean"`` looks at."""

    lint_errors: int = 0
    broken_links: int = 0
    removed_pages: int = 0

    @property
    def clean(self) -> bool:
        return self.lint_errors == 0 and self.broken_links == 0 and self.removed_pages == 0


def _errors(result: StageResult | None, *count_keys: str) -> int:
    if result is None:
        return 0
    for key in count_keys:
        if key in result.counts:
            return int(result.counts[key])
    return sum(1 for f in result.findings if f.severity == "error")


def health_of(previous: Mapping[str, StageResult], removed_pages: int) -> BuildHealth:
    """Build health from earlier stage results (lint ``errors``, linkcheck ``broken``)."""
    return BuildHealth(
        lint_errors=_errors(previous.get("lint"), "errors"),
        broken_links=_errors(previous.get("linkcheck"), "broken", "broken_internal", "errors"),
        removed_pages=removed_pages,
    )


def decide(opts: Options, deployed_to: str, health: BuildHealth) -> tuple[Decision, str | None]:
    """After a deploy to ``deployed_to``: nothing more, a review, or an automatic promotion.

    Returns the decision and the target to promote to. Only the build target promotes; a
    target without ``requires_approval`` is promoted to automatically (it needs no reviewer).
    """
    to = opts.promote_to
    if deployed_to != opts.target or not to or to not in opts.targets or to == deployed_to:
        return "none", None
    if not opts.targets[to].requires_approval:
        return "auto", to
    if opts.auto_promote == "when-clean" and health.clean:
        return "auto", to
    return "review", to


def with_openapi(decision: Decision, to: str | None, openapi: StageResult | None) -> Decision:
    """The decision once the openapi stage had its say (``[stages.openapi] auto_publish``).

    Only a build whose spec changed is affected: ``always`` promotes it, ``never`` sends it to a
    reviewer, ``non-breaking`` promotes it when no change breaks a client and asks otherwise.
    """
    if decision == "none" or to is None or openapi is None or not openapi.outputs.get("changed"):
        return decision
    policy = openapi.outputs.get("auto_publish", "non-breaking")
    if policy == "always":
        return "auto"
    if policy == "never" or openapi.outputs.get("breaking"):
        return "review"
    return "auto"
