"""The audit stage on a planted-fault site: each fault found once, with its severity."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from stages.audit import stage
from stages.audit.model import AuditOptions
from tests.audit.planted import fixed, planted

NOW = datetime(2026, 12, 5, tzinfo=UTC).timestamp()
OPTS = AuditOptions(base_url="http://docs.test/", critical_pages=("en/install/",), stale_after_days=365)


def _by_check(findings: list) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in findings:
        out.setdefault(f.check, []).append(f)
    return out


async def test_every_planted_fault_is_found_with_its_severity(tmp_path: Path) -> None:
    result = await stage.run(planted(tmp_path / "site"), OPTS, now=NOW)
    found = _by_check(result.findings)
    assert [(f.page, f.severity) for f in found["page-missing"]] == [("en/install/index.html", "critical")]
    broken = {(f.page, f.subject, f.severity) for f in found["broken-link"]}
    assert ("en/index.html", "en/gone/index.html", "high") in broken
    # every page's nav links the missing critical page: a critical broken link on each
    assert ("en/about/index.html", "en/install/index.html", "critical") in broken
    assert [(f.page, f.severity) for f in found["missing-anchor"]] == [("en/guide/index.html", "medium")]
    assert [(f.page, f.subject, f.severity) for f in found["image-broken"]] == [
        ("en/guide/index.html", "../img/missing.png", "high")]
    assert [f.page for f in found["orphan-page"]] == ["en/old/index.html"]
    assert [f.page for f in found["stale-page"]] == ["en/ancient/index.html"]
    assert sorted(f.page for f in found["title-duplicate"]) == ["en/guide/index.html", "en/index.html"]
    assert "image-broken" not in {f.check for f in found["broken-link"]}
    assert not any(f.subject == "../img/missing.png" for f in found["broken-link"])
    assert any("translations" in n for n in result.notes)


async def test_the_fixed_site_has_none_of_them(tmp_path: Path) -> None:
    result = await stage.run(fixed(tmp_path / "site"), OPTS, now=NOW)
    assert [f for f in result.findings if f.severity in ("critical", "high", "medium")] == []


async def test_fingerprints_are_stable_and_name_the_target(tmp_path: Path) -> None:
    one = await stage.run(planted(tmp_path / "a"), OPTS, now=NOW)
    two = await stage.run(planted(tmp_path / "b"), OPTS, now=NOW + 86400)
    assert {f.fingerprint("staging") for f in one.findings} == {f.fingerprint("staging") for f in two.findings}
    assert not {f.fingerprint("staging") for f in one.findings} & {f.fingerprint("production") for f in one.findings}


async def test_stale_from_release_history_when_a_page_has_no_date(tmp_path: Path) -> None:
    from stages.audit.model import Release

    old = planted(tmp_path / "r1")
    new = planted(tmp_path / "r2")
    releases = [Release(path=old, deployed_at=NOW - 400 * 86400), Release(path=new, deployed_at=NOW - 1)]
    result = await stage.run(new, AuditOptions(base_url="http://docs.test/", checks=("stale",)), now=NOW, releases=releases)
    stale = {f.page for f in result.findings if f.check == "stale-page"}
    assert "en/about/index.html" in stale  # unchanged since the release 400 days ago
    assert "en/ancient/index.html" in stale  # its own date wins
