"""Plain data of one audit: what it may check (:class:`AuditOptions`) and what it found."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

AuditSeverity = Literal["critical", "high", "medium", "low"]
SEVERITY_RANK: dict[str, int] = {"critical": 0, "high": 1, "medium": 2, "low": 3}
"""Lower runs first in the prioritised list."""

CHECKS = ("links", "anchors", "external", "images", "assets", "orphans", "stale", "metadata",
          "headings", "pdf", "translations")
"""Check families a run may be limited to (``POST /api/audits {"checks": [...]}``)."""


@dataclass(frozen=True, kw_only=True)
class Release:
    """One earlier release of the audited target: its folder and when it was deployed."""

    path: Path
    deployed_at: float


@dataclass(frozen=True, kw_only=True)
class AuditOptions:
    """What one audit run checks and with which limits; built by the job from ``[audit]``."""

    base_url: str | None = None
    """The public URL the release is served at (links to it count as internal)."""
    checks: tuple[str, ...] = CHECKS
    critical_pages: tuple[str, ...] = ()
    """Site-relative pages (``en/install/``) whose 404 is critical, like the home pages."""
    stale_after_days: int = 365
    max_image_kb: int = 500
    check_external: bool = False
    external_cache_dir: Path | None = None
    external_cache_ttl: float = 86400.0
    per_host: int = 4
    """Requests in flight to one external host (the link checker honours ``Retry-After``)."""
    pdf_expected: bool = False
    """PDFs are configured: each language should have ``pdf/<lang>.pdf``."""
    ignore_assets: tuple[str, ...] = ("robots.txt", "sitemap.xml", "sitemap.xml.gz", "*.map", "search_index.*",
                                      "search*.json", "favicon.ico", "404.html", "*.txt", "assets/mermaid/*")
    """Globs of files nobody is expected to link to (never reported as unreferenced): the theme
    loads its search index and the diagram library from script, on demand."""


@dataclass(frozen=True, kw_only=True)
class AuditFinding:
    """One problem on the live site. ``subject`` is what the problem is about on that page (the
    link target, the image, the duplicated title), so the fingerprint survives rebuilds."""

    check: str
    severity: AuditSeverity
    page: str
    """Site-relative page (``en/install/index.html``) or asset the finding is on."""
    message: str
    subject: str = ""
    url: str = ""

    def fingerprint(self, target: str) -> str:
        """Stable across runs: the deploy target, the check, the page and the subject."""
        raw = "\x1f".join((target, self.check, self.page, self.subject))
        return hashlib.sha256(raw.encode()).hexdigest()[:20]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(kw_only=True)
class AuditResult:
    findings: list[AuditFinding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    """What the run could not check and why (shown in the report)."""
