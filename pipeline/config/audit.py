"""``[audit]`` and ``[audit.export]``: when the audit runs, what it checks, where findings go.

Kept apart from :mod:`pipeline.config.schema` (which imports these classes into ``Config``) so
that module stays one screenful per part; the same frozen, extra-forbidding base.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


AuditSeverity = Literal["critical", "high", "medium", "low"]
AuditCheck = Literal["links", "anchors", "external", "images", "assets", "orphans", "stale", "metadata",
                     "headings", "pdf", "translations"]


class AuditExportConfig(Section):
    url: str | None = None
    """Base URL of a GitHub-compatible API (``https://api.github.com``); unset: no export."""
    token_env: str = "GITHUB_TOKEN"
    """Environment variable holding the API token."""
    repo: str = ""
    """``owner/name`` the issues are opened in."""
    severities: list[AuditSeverity] = Field(default_factory=lambda: list[AuditSeverity](["critical", "high"]))
    """New findings of these severities become issues (each at most once)."""


class AuditConfig(Section):
    enabled: bool = True
    """Run the audit on ``cron`` (manual runs through the API and CLI work either way)."""
    cron: str = "0 2 * * *"
    """When the audit runs (cron syntax, in ``timezone``; weekdays by name: ``mon-fri``)."""
    timezone: str = "UTC"
    """Time zone of ``cron``."""
    targets: list[str] = Field(default_factory=lambda: ["staging"])
    """Deploy targets whose live site is audited."""
    critical_pages: list[str] = Field(default_factory=list)
    """Site-relative pages (``en/install/``) whose 404 is a critical finding, like the home pages;
    they also rank first in the report."""
    stale_after_days: int = Field(365, ge=1)
    """Pages not changed for this long are reported as stale."""
    misfire_grace: float = Field(6, ge=0)
    """Hours after a fire time within which a daemon that was down runs the missed audit at start."""
    keep_days: float = Field(90, gt=0)
    """Audit runs (the trend) and fixed findings are kept this many days."""
    pageviews: str | None = None
    """CSV of ``page,views`` (relative to the config file) that ranks findings by page importance."""
    max_image_kb: int = Field(500, ge=1)
    """Images larger than this are reported as oversize."""
    check_external: bool = False
    """Also check external links (cached between runs, rate-limited per host, ``Retry-After`` honoured)."""
    checks: list[AuditCheck] = Field(default_factory=lambda: list[AuditCheck]([
        "links", "anchors", "external", "images", "assets", "orphans", "stale", "metadata", "headings", "pdf",
        "translations"]))
    """Check families a scheduled run includes (``external`` also needs ``check_external``)."""
    export: AuditExportConfig = Field(default_factory=AuditExportConfig)
    """``[audit.export]``: new critical/high findings as issues in a GitHub-compatible tracker."""

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a cron expression ({exc}); e.g. \"0 2 * * *\"") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone; e.g. \"UTC\" or \"Europe/Berlin\"") from None
        return value
