"""Directory targets: atomic releases, checks, keep-N, rollback, leases, promotion."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest
from deploy_fixtures import BASE_URL, build, context, pages

from stages.base import StageError, StageResult
from stages.deploy import release
from stages.deploy import stage as deploy_stage
from stages.deploy.options import Options, Target


def staging(data: Path) -> Path:
    return data / "sites" / "staging"


def live_text(root: Path, rel: str) -> str:
    return (root / "current" / rel).read_text()


async def test_first_deploy_publishes_a_complete_release(tmp_path: Path) -> None:
    ws = build(tmp_path, "job1")
    result = await deploy_stage.run(context(tmp_path, ws))

    root = staging(tmp_path)
    assert os.readlink(root / "current") == "releases/job1"
    assert (root / "current" / "en" / "guide" / "install" / "index.html").is_file()
    assert (root / "current" / "en" / "docs.pdf").read_bytes() == b"%PDF-1.7 job1"
    assert not (root / "current" / "pdf").exists()
    assert (root / "current" / "404.html").is_file()
    assert result.outputs["target"] == "staging"
    assert result.outputs["release"] == str(root / "releases" / "job1")
    assert result.outputs["live_url"] == BASE_URL
    assert result.outputs["pdf"] == {"en": BASE_URL + "en/docs.pdf"}
    assert sorted(result.outputs["changed_urls"]) == sorted(
        BASE_URL + u for u in ("en/", "en/guide/install/", "en/guide/usage/"))
    assert result.counts == {"files": 9, "pages": 3, "reused": 0}


async def test_a_one_page_change_lists_only_that_url(tmp_path: Path) -> None:
    await deploy_stage.run(context(tmp_path, build(tmp_path, "job1")))
    ws2 = build(tmp_path, "job2", pages(extra="<p>New step.</p>"))

    result = await deploy_stage.run(context(tmp_path, ws2))

    assert result.outputs["changed_urls"] == [BASE_URL + "en/guide/install/"]
    assert result.outputs["changes"] == {"added": 0, "removed": 0, "changed": 1, "unchanged": 2}
    assert os.readlink(staging(tmp_path) / "current") == "releases/job2"
    assert "New step." in live_text(staging(tmp_path), "en/guide/install/index.html")


async def test_old_releases_are_pruned_and_rollback_swaps_back(tmp_path: Path) -> None:
    opts = Options(targets={"staging": Target(keep_releases=2), "production": Target(requires_approval=True)})
    for n in range(1, 5):
        await deploy_stage.run(context(tmp_path, build(tmp_path, f"job{n}", pages(extra=f"<p>v{n}</p>")), options=opts))
    root = staging(tmp_path)

    listed = release.list_releases(root)
    assert [(r.job_id, r.current) for r in listed] == [("job4", True), ("job3", False)]
    assert sorted(p.name for p in (root / "releases").iterdir()) == ["job3", "job4"]

    back = release.rollback(root)
    assert back.job_id == "job3" and back.current
    assert "v3" in live_text(root, "en/guide/install/index.html")
    again = release.rollback(root, "job4")
    assert again.name == "job4"
    assert "v4" in live_text(root, "en/guide/install/index.html")
    with pytest.raises(release.ReleaseNotFound) as err:
        release.rollback(root, "job1")
    assert err.value.code == "release_not_found"


async def test_rollback_without_an_older_release_is_an_error(tmp_path: Path) -> None:
    await deploy_stage.run(context(tmp_path, build(tmp_path, "job1")))
    with pytest.raises(release.ReleaseNotFound):
        release.rollback(staging(tmp_path))


async def test_a_missing_page_fails_the_check_and_keeps_current(tmp_path: Path) -> None:
    await deploy_stage.run(context(tmp_path, build(tmp_path, "job1")))
    ws2 = build(tmp_path, "job2", pages(extra="<p>broken build</p>"))
    (ws2 / "out" / "en" / "guide" / "usage" / "index.html").unlink()

    with pytest.raises(StageError) as err:
        await deploy_stage.run(context(tmp_path, ws2))

    assert err.value.code == "deploy_check_failed"
    assert "en/guide/usage/index.html" in str(err.value)
    root = staging(tmp_path)
    assert os.readlink(root / "current") == "releases/job1"
    assert sorted(p.name for p in (root / "releases").iterdir()) == ["job1"]


async def test_a_missing_pdf_fails_the_check(tmp_path: Path) -> None:
    ws = build(tmp_path, "job1")
    (ws / "out" / "pdf" / "en.pdf").unlink()
    with pytest.raises(StageError) as err:
        await deploy_stage.run(context(tmp_path, ws))
    assert err.value.code == "deploy_check_failed"


async def test_a_target_that_is_not_writable(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    opts = Options(targets={"staging": Target(path=str(blocker / "site"))})

    with pytest.raises(StageError) as err:
        await deploy_stage.run(context(tmp_path, build(tmp_path, "job1"), options=opts))

    assert err.value.code == "deploy_not_writable"


async def test_a_full_disk_during_the_copy_leaves_nothing_partial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    await deploy_stage.run(context(tmp_path, build(tmp_path, "job1")))
    copied: list[Path] = []

    def filling_disk(src: Path, dst: Path) -> None:
        if len(copied) == 1:  # unchanged files are linked: only the page and the PDF are copied
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        shutil.copyfile(src, dst)
        copied.append(dst)

    monkeypatch.setattr(release, "copy_file", filling_disk)
    with pytest.raises(StageError) as err:
        await deploy_stage.run(context(tmp_path, build(tmp_path, "job2", pages(extra="<p>v2</p>"))))

    assert err.value.code == "disk_full"
    root = staging(tmp_path)
    assert os.readlink(root / "current") == "releases/job1"
    assert [p.name for p in (root / "releases").iterdir()] == ["job1"]
    assert "v2" not in live_text(root, "en/guide/install/index.html")


async def test_current_stays_whole_until_the_single_swap(tmp_path: Path) -> None:
    await deploy_stage.run(context(tmp_path, build(tmp_path, "job1")))
    root = staging(tmp_path)
    before = {p.relative_to(root / "releases" / "job1") for p in (root / "releases" / "job1").rglob("*")}
    seen: list[tuple[str, set[Path]]] = []

    async def lease() -> bool:
        # called just before the swap: the new release is fully written, current still old
        live = root / "current"
        seen.append((os.readlink(live), {p.relative_to(live) for p in live.rglob("*")}))
        assert (root / "releases" / "job2" / "en" / "docs.pdf").is_file()
        return True

    await deploy_stage.run(context(tmp_path, build(tmp_path, "job2", pages(extra="<p>v2</p>")), lease=lease))

    assert seen == [("releases/job1", before)]
    assert os.readlink(root / "current") == "releases/job2"


async def test_a_worker_that_lost_its_lease_cannot_overwrite_a_newer_release(tmp_path: Path) -> None:
    # the stale worker built job7 first; the job was re-claimed and the new owner deployed it
    stale_ws = build(tmp_path / "worker-a", "job7", pages(extra="<p>stale attempt</p>"))
    fresh_ws = build(tmp_path / "worker-b", "job7", pages(extra="<p>fresh attempt</p>"))
    fresh = await deploy_stage.run(context(tmp_path, fresh_ws))

    async def lost() -> bool:
        return False

    with pytest.raises(StageError) as err:
        await deploy_stage.run(context(tmp_path, stale_ws, lease=lost))

    assert err.value.code == "lease_lost"
    root = staging(tmp_path)
    assert (root / os.readlink(root / "current")) == Path(fresh.outputs["release"])
    assert "fresh attempt" in live_text(root, "en/guide/install/index.html")
    assert [r.name for r in release.list_releases(root)] == ["job7"]


async def test_promotion_deploys_the_same_release_to_production(tmp_path: Path) -> None:
    staged = await deploy_stage.run(context(tmp_path, build(tmp_path, "job1")))
    promote_ws = tmp_path / "jobs" / "promote1"
    promote_ws.mkdir(parents=True)
    from deploy_fixtures import _RESULTS

    _RESULTS[str(promote_ws)] = {}
    ctx = context(tmp_path, promote_ws, target="production", release_from=Path(staged.outputs["release"]))

    result = await deploy_stage.run(ctx)

    prod = tmp_path / "sites" / "production"
    assert result.outputs["target"] == "production"
    assert result.outputs["live_url"] == "http://127.0.0.1:8080/sites/production/"
    assert os.readlink(prod / "current") == "releases/promote1"
    a = Path(staged.outputs["release"]) / "en" / "docs.pdf"
    b = prod / "current" / "en" / "docs.pdf"
    assert os.stat(a).st_ino == os.stat(b).st_ino  # hard-linked, not copied
    assert release.list_releases(prod)[0].promoted_from == Path(staged.outputs["release"]).name  # an ID, not a server path
    assert result.outputs["promotion"] == {"decision": "none", "to": None}


async def test_a_staging_deploy_asks_for_review_with_a_diff_preview(tmp_path: Path) -> None:
    staged = await deploy_stage.run(context(tmp_path, build(tmp_path, "job1")))
    promotion = staged.outputs["promotion"]
    assert promotion["decision"] == "review" and promotion["to"] == "production"
    assert promotion["changes"]["added"] == 3
    ws = tmp_path / "jobs" / "job1"
    assert staged.artifacts["review.diff"] == "reports/review-diff.html"
    assert "en/guide/install/" in (ws / "reports" / "review-diff.html").read_text()


@pytest.mark.parametrize(
    ("lint_errors", "decision"), [(0, "auto"), (2, "review")],
)
async def test_auto_promote_when_clean(tmp_path: Path, lint_errors: int, decision: str) -> None:
    opts = Options(auto_promote="when-clean")
    lint = StageResult(counts={"errors": lint_errors})
    result = await deploy_stage.run(context(tmp_path, build(tmp_path, "job1"), options=opts, previous={"lint": lint}))
    assert result.outputs["promotion"]["decision"] == decision


async def test_unknown_target(tmp_path: Path) -> None:
    with pytest.raises(StageError) as err:
        await deploy_stage.run(context(tmp_path, build(tmp_path, "job1"), target="nowhere"))
    assert err.value.code == "deploy_unknown_target"


async def test_target_entry_points_for_the_api(tmp_path: Path) -> None:
    from stages.deploy import targets

    opts = Options()
    sites = tmp_path / "sites"
    first = await deploy_stage.run(context(tmp_path, build(tmp_path, "job1")))
    await deploy_stage.run(context(tmp_path, build(tmp_path, "job2", pages(extra="<p>v2</p>"))))

    assert [r.job_id for r in targets.releases(opts, sites, "staging")] == ["job2", "job1"]
    assert targets.rollback(opts, sites, "staging").job_id == "job1"
    assert targets.live_release(opts, sites, "staging") == Path(first.outputs["release"])
    preview = targets.review_preview(opts, sites, Path(first.outputs["release"]))
    assert preview.summary()["added"] == 3  # production has nothing live yet
    assert targets.root_for(opts, sites)("production") == sites / "production"
    assert targets.root_for(opts, sites)("nope") is None
    with pytest.raises(targets.TargetNotFound) as err:
        targets.releases(opts, sites, "nope")
    assert err.value.code == "target_not_found"


async def test_a_cancel_before_publishing_leaves_current_alone(tmp_path: Path) -> None:
    import dataclasses

    from stages.base import Cancelled

    await deploy_stage.run(context(tmp_path, build(tmp_path, "job1")))
    ctx = dataclasses.replace(context(tmp_path, build(tmp_path, "job2")), should_cancel=lambda: True)

    with pytest.raises(Cancelled):
        await deploy_stage.run(ctx)

    root = staging(tmp_path)
    assert os.readlink(root / "current") == "releases/job1"
    assert [p.name for p in (root / "releases").iterdir()] == ["job1"]
