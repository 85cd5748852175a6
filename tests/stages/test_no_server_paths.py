"""Stage errors are shown to whoever may read a job, so they name releases,
targets and folders, never the daemon's absolute paths (the daemon log keeps the full detail)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from pipeline import config as config_mod
from stages.base import StageError
from stages.deploy import release
from stages.site import layout


@pytest.mark.parametrize("code, expected", [(errno.ENOSPC, "disk_full"), (errno.EACCES, "deploy_not_writable"),
                                            (errno.EIO, "deploy_not_writable")])
def test_deploy_file_errors_do_not_show_the_path(tmp_path: Path, code: int, expected: str) -> None:
    secret_dir = tmp_path / "srv" / "pressroom" / "sites" / "staging"
    err = release._os_error(OSError(code, "some reason", str(secret_dir / "releases" / "x")), "writing a release")
    assert err.code == expected
    assert str(tmp_path) not in str(err) and "some reason" in str(err)


def test_swap_to_a_missing_release_names_the_target_folder_only(tmp_path: Path) -> None:
    root = tmp_path / "data" / "sites" / "staging"
    (root / "releases").mkdir(parents=True)
    with pytest.raises(StageError) as info:
        release.swap_current(root, "build_gone")
    assert str(tmp_path) not in str(info.value) and "'staging'" in str(info.value)


def test_missing_source_folder_is_named_not_located(tmp_path: Path) -> None:
    site = config_mod.parse({}).site
    with pytest.raises(StageError) as info:
        layout.discover(tmp_path / "jobs" / "build_1" / "source", site)
    assert info.value.code == "source_missing" and str(tmp_path) not in str(info.value)
