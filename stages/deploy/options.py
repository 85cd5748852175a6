"""``[stages.deploy]`` options and its targets."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from stages.base import StageOptions


class GitSpec(BaseModel):
    """``[stages.deploy.targets.<name>.git]``: push the built site to a branch."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    repo: str
    """Remote URL or path (``git@host:org/site.git``, ``/srv/git/site.git``)."""
    branch: str = "gh-pages"
    """Branch that receives one commit per deploy; created as an orphan branch when missing."""
    message: str = "Deploy {job_id}"
    """Commit message; ``{job_id}`` and ``{target}`` are filled in."""
    author_name: str = "pressroom"
    author_email: str = "pressroom@localhost"
    push_attempts: int = Field(default=3, ge=1)
    """A push that loses a race with another pusher is redone on top of the new head this often."""
    timeout: float = Field(default=300.0, gt=0)
    """Seconds for each git command (clone, push) before it is killed."""


class CommandSpec(BaseModel):
    """``[stages.deploy.targets.<name>.command]``: hand the release folder to any program."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    argv: list[str] = Field(min_length=1)
    """Program and arguments, no shell. ``{release}``, ``{target}`` and ``{job_id}`` are filled
    in; when no argument mentions ``{release}`` the release folder is appended."""
    timeout: float = Field(default=600.0, gt=0)
    """Seconds before the command (and its process group) is killed: ``deploy_timeout``."""
    env: dict[str, str] = Field(default_factory=dict)
    """Extra environment variables (names of secrets belong in the environment, not here)."""


class Target(BaseModel):
    """``[stages.deploy.targets.<name>]``: where a release goes and how it is published."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["directory", "git", "command"] = "directory"
    """``directory``: atomic ``current`` symlink swap; ``git``: commit and push; ``command``: run
    a program. Every kind also keeps the release locally (for rollback, previews, serving)."""
    path: str | None = None
    """Where releases go (default ``<data_dir>/sites/<name>``); relative to the data dir."""
    requires_approval: bool = False
    """Releases reach this target only through an approved (or auto) promotion."""
    keep_releases: int = Field(default=5, ge=1)
    """Releases kept for rollback; older ones are deleted after each deploy."""
    base_url: str | None = None
    """Public URL of this target; the build target defaults to ``[site] base_url``."""
    git: GitSpec | None = None
    """For ``kind = "git"``: the repository and branch to push the site to."""
    command: CommandSpec | None = None
    """For ``kind = "command"``: the command run with the release folder."""

    @model_validator(mode="after")
    def _kind_has_its_settings(self) -> Target:
        if self.kind == "git" and self.git is None:
            raise ValueError('kind = "git" needs a [git] table with at least repo = "..."')
        if self.kind == "command" and self.command is None:
            raise ValueError('kind = "command" needs a [command] table with argv = [...]')
        return self


PREVIEW_TARGET = re.compile(r"^preview-[1-9][0-9]{0,9}$")
"""``preview-<pull request number>``: the target of a pull request's preview builds."""


TRANSLATION_TARGET = re.compile(r"^translation-[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$")
"""``translation-<language>``: where a translate job goes when its language may not be published
yet (``pipeline/jobs/translation_policy.py``), so owners can look at it."""


def is_preview(name: str) -> bool:
    """A target nobody configures: a pull request's or an unpublished translation's preview."""
    return bool(PREVIEW_TARGET.match(name) or TRANSLATION_TARGET.match(name))


def is_translation_preview(name: str) -> bool:
    return bool(TRANSLATION_TARGET.match(name))


def translation_target(language: str) -> str:
    return f"translation-{language}"


def _default_targets() -> dict[str, Target]:
    return {"staging": Target(), "production": Target(requires_approval=True)}


class Options(StageOptions):
    target: str = "staging"
    """The target every build deploys to; others are reached by promotion."""
    targets: dict[str, Target] = Field(default_factory=_default_targets)
    """Named deploy targets: ``[stages.deploy.targets.<name>]`` with a ``kind`` and its settings."""
    promote_to: str | None = "production"
    """Where a build that passed the build target goes next (approval or auto-promotion);
    none when missing from ``targets``."""
    auto_promote: Literal["never", "when-clean"] = "never"
    """``when-clean`` promotes without a reviewer when the build had no lint errors, no broken
    links and removed no pages."""
    pdf_path: str = "{lang}/{name}.pdf"
    """Where each language's PDF goes inside the release (``{name}`` is ``[site] name``)."""
    check_pages: bool = True
    """Refuse a release that lacks a page render_html listed or a PDF render_pdf made."""
    diff_pages: int = Field(default=50, ge=0)
    """Changed pages with a side-by-side diff in a review preview (the rest are only listed)."""

    def target_named(self, name: str) -> Target | None:
        """A configured target, or the one every pull-request preview gets: a local directory
        (never git or a command, so a preview publishes nowhere else and runs nothing), one
        release kept, no approval. Previews are never promoted (only the build target is); an
        unpublished translation's ``translation-<lang>`` preview is one of them."""
        if name in self.targets:
            return self.targets[name]
        return Target(keep_releases=1) if is_preview(name) else None
