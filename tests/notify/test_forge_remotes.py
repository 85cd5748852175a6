"""Git remote URLs -> the forge repository a hook or JSON git build reports its commit status to."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from pipeline.notify import forgerepo


@pytest.mark.parametrize(("url", "expected"), [
    ("https://github.com/acme/docs.git", ("github.com", "acme/docs")),
    ("https://ci:ghp_s3cret@github.com/acme/docs", ("github.com", "acme/docs")),
    ("git@github.com:acme/docs.git", ("github.com", "acme/docs")),
    ("ssh://git@gitlab.example.org:2222/group/sub/docs.git", ("gitlab.example.org", "group/sub/docs")),
    ("https://GitLab.Example.org/group/sub/docs/", ("gitlab.example.org", "group/sub/docs")),
    ("/srv/git/docs.git", None),
    ("file:///srv/git/docs.git", None),
    ("docs", None),
    ("https://github.com/acme", None),
    ("https://github.com/acme/../docs", None),
    ("C:\\repos\\docs", None),
])
def test_remote_urls_parse_to_host_and_path(url: str, expected: tuple[str, str] | None) -> None:
    assert forgerepo.parse_remote(url) == expected


def _cfg(make_config: Any, **forge: Any) -> Any:
    return make_config(forge=forge)


def test_hosts_come_from_api_urls_and_explicit_lists_only_for_forges_with_a_token(make_config: Any) -> None:
    cfg = _cfg(make_config, github={"token_env": "T"},
               gitlab={"token_env": "T", "api_url": "https://git.corp.example/api/v4", "hosts": ["ssh.corp.example"]})
    assert forgerepo.forge_hosts(cfg) == {"github.com": "github", "git.corp.example": "gitlab",
                                         "ssh.corp.example": "gitlab"}
    assert forgerepo.forge_hosts(_cfg(make_config, github={"api_url": "https://ghe.example/api/v3"})) == {}
    ghe = _cfg(make_config, github={"token_env": "T", "api_url": "https://ghe.example/api/v3"})
    assert forgerepo.repository_for(ghe, {"kind": "commit", "repository": "git@ghe.example:acme/docs.git"}) == \
        ("github", "acme/docs")


def test_explicit_hosts_win_over_a_derived_host(make_config: Any) -> None:
    cfg = _cfg(make_config, github={"token_env": "T", "api_url": "http://127.0.0.1:9/"},
               gitlab={"token_env": "T", "api_url": "http://127.0.0.1:9/api/v4", "hosts": ["127.0.0.1"]})
    assert forgerepo.repository_for(cfg, {"kind": "api", "repository": "http://127.0.0.1:9/g/s/docs.git"}) == \
        ("gitlab", "g/s/docs")


def test_webhook_triggers_keep_their_provider_and_repository(make_config: Any) -> None:
    cfg = _cfg(make_config)
    assert forgerepo.repository_for(cfg, {"kind": "webhook", "provider": "github", "repository": "acme/docs"}) == \
        ("github", "acme/docs")


def test_an_unknown_host_reports_nothing_and_says_why_once(make_config: Any, caplog: pytest.LogCaptureFixture) -> None:
    cfg = _cfg(make_config, github={"token_env": "T"})
    trigger = {"kind": "commit", "repository": "https://ci:tok3n@git.unknown-host.example/acme/docs.git"}
    with caplog.at_level(logging.INFO, logger=forgerepo.__name__):
        assert forgerepo.repository_for(cfg, trigger) is None
        assert forgerepo.repository_for(cfg, trigger) is None
        assert forgerepo.repository_for(cfg, {"kind": "commit", "repository": "/local/path"}) is None
    said = [r.getMessage() for r in caplog.records if r.name == forgerepo.__name__]
    assert len(said) == 1 and "git.unknown-host.example" in said[0] and "tok3n" not in said[0]


def test_a_github_url_with_subgroups_is_not_a_github_repository(make_config: Any) -> None:
    cfg = _cfg(make_config, github={"token_env": "T"})
    assert forgerepo.repository_for(cfg, {"kind": "api", "repository": "https://github.com/a/b/c"}) is None
