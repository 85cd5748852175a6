"""Intake fixtures: hermetic git (no global or system config), secrets in the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.intake import helpers


@pytest.fixture(autouse=True)
def git_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig-global"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Ada Writer")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "ada@example.com")
    monkeypatch.setenv("PRESSROOM_GITHUB_SECRET", helpers.GITHUB_SECRET)
    monkeypatch.setenv("PRESSROOM_GITLAB_TOKEN", helpers.GITLAB_TOKEN)
    monkeypatch.setenv("PRESSROOM_WEBHOOK_SECRET", helpers.GENERIC_SECRET)


@pytest.fixture
def repos(tmp_path: Path) -> helpers.Repos:
    """A bare "remote" and a clone with one pushed commit on main."""
    return helpers.make_repos(tmp_path)
