"""``[stages.lint]`` options."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from stages.base import StageOptions

DEFAULT_SEVERITY: dict[str, Literal["error", "warning", "info"]] = {
    "bad-front-matter": "error",
    "bad-encoding": "error",
    "page-too-large": "error",
    "unreadable": "error",
    "parse-error": "error",
    "too-deep": "error",
    "broken-link": "error",
    "missing-image": "error",
    "include-missing": "error",
    "include-outside": "error",
    "include-cycle": "error",
    "nav-missing": "error",
    "missing-anchor": "error",
    "duplicate-id": "warning",
    "no-title": "warning",
    "not-in-nav": "warning",
    "unknown-syntax": "warning",
    "unknown-shortcode": "warning",
    "unknown-param": "warning",
    "icon-removed": "warning",
}
"""Our own rules' default severities: the integrity checks (a missing include, page or image, a
broken internal link or anchor) are errors. markdownlint rules (MDxxx) are warnings unless the
site's own ``.markdownlint.*`` gives a rule ``"severity": "error"``, or ``severity`` below does."""


class Options(StageOptions):
    fail_on: Literal["error", "warning", "never"] = "error"
    """Which severity fails the build (``pressroom build --fail-on`` overrides it). A failed lint still
    lets HTML, PDF and link check run; the build then ends FAILED (``lint_failed``) and is not deployed."""
    strict: bool = False
    """Count warnings as errors (``pressroom build --strict``), as ``mkdocs build --strict`` does."""
    enable: list[str] = Field(default_factory=list)
    """markdownlint rule ids to turn on in addition to the defaults."""
    disable: list[str] = Field(default_factory=lambda: ["MD013", "MD033", "MD051", "MD057"])
    """Rule ids to turn off: markdownlint ids (``MD013``) or ours (``not-in-nav``). MD051 (link
    fragments) and MD057 (relative links) are off by default: ``missing-anchor`` and ``broken-link``
    do those jobs and know about ``{ #id }`` headings and translation fallbacks. MD033 (inline
    HTML) is off too: MkDocs (``md_in_html``) and Hugo sites write HTML on purpose, and it was 862
    of Material for MkDocs' 1,394 warnings."""
    severity: dict[str, Literal["error", "warning", "info"]] = Field(default_factory=dict)
    """Per-rule severity overrides, e.g. ``{ MD001 = "error", "broken-link" = "warning" }``."""
    show_first: int = 50
    """How many findings the status endpoint shows in full."""
    rules: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """markdownlint rule settings, e.g. ``MD013 = { line-length = 120 }`` (passed to rumdl)."""
    markdownlint: bool = True
    """Run the markdownlint rules (rumdl) at all; our own checks always run."""
    flavor: Literal["standard", "mkdocs", "gfm", "commonmark"] = "mkdocs"
    """rumdl's markdown flavor: ``mkdocs`` understands admonitions, tabs and snippets."""
    exclude: list[str] = Field(default_factory=list)
    """Glob patterns (relative to the source root) of pages not to lint, e.g. ``**/release-notes.md``."""
    incremental: bool = True
    """Lint only files changed since the last passing lint of this site (all when nav/config change)."""
    rumdl_timeout: float = 120.0
    """Seconds the markdownlint engine (rumdl) may run before ``lint_tool_failed``."""
