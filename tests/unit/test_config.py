from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import config as config_mod
from pipeline import errors
from pipeline.config import starter


def problems(tmp_path: Path, text: str) -> list[str]:
    p = tmp_path / "config.toml"
    p.write_text(text)
    with pytest.raises(config_mod.ConfigError) as exc:
        config_mod.load(p)
    return [line.replace(str(p), "config.toml") for line in exc.value.problems]


def test_wrong_type_names_file_key_and_expectation(tmp_path: Path) -> None:
    assert problems(tmp_path, '[workers]\ncount = "two"\n') == [
        'config.toml: [workers] count: expected an integer, got "two"']


def test_range_is_explained(tmp_path: Path) -> None:
    assert problems(tmp_path, "[workers]\ncount = 0\n") == ["config.toml: [workers] count: expected an integer >= 1, got 0"]
    assert problems(tmp_path, "[server]\nmax_upload_mb = -1\n") == ["config.toml: [server] max_upload_mb: expected a number > 0, got -1"]


def test_unknown_key_is_an_error_that_names_it(tmp_path: Path) -> None:
    out = problems(tmp_path, "[server]\nprot = 80\n")
    assert out == ["config.toml: [server] prot: unknown key (remove it or check its spelling against docs/config.md)"]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    out = problems(tmp_path, '[server]\nport = "x"\n[workers]\ncount = "y"\n[stages.lint]\nfail_on = "sometimes"\n')
    assert len(out) == 3
    assert any("[stages.lint] fail_on: expected one of" in line for line in out)


def test_nested_list_tables_are_named(tmp_path: Path) -> None:
    out = problems(tmp_path, '[[notify.webhooks]]\nurl = "http://127.0.0.1/x"\n')
    assert out == ["config.toml: [[notify.webhooks]] #1 secret_env: required key is missing"]


def test_toml_syntax_error(tmp_path: Path) -> None:
    out = problems(tmp_path, "[server\n")
    assert out[0].startswith("config.toml: TOML syntax error")


def test_cross_key_check(tmp_path: Path) -> None:
    out = problems(tmp_path, '[site]\ndefault_language = "fr"\nlanguages = ["en"]\n')
    assert out == ["config.toml: [site] default_language: 'fr' is not in [site] languages ['en']"]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(config_mod.ConfigError) as exc:
        config_mod.load(tmp_path / "nope.toml")
    assert "file not found" in str(exc.value)


def test_config_error_is_a_coded_pressroom_error(tmp_path: Path) -> None:
    with pytest.raises(errors.PressroomError) as exc:
        config_mod.load(tmp_path / "nope.toml")
    assert isinstance(exc.value, config_mod.ConfigError)
    assert exc.value.to_json()["error"]["code"] == "config_invalid"


def test_repo_config_and_starter_config_load(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    cfg = config_mod.load(repo / "config.toml")
    assert cfg.site.source == "content-samples"
    assert cfg.store_url.startswith("sqlite:///")
    written = starter.init(tmp_path / "new")
    starter_cfg = config_mod.load(tmp_path / "new" / "config.toml")
    assert starter_cfg.server.tokens[0].token_env == "PRESSROOM_CI_TOKEN"
    assert any(p.name == "index.md" for p in written)
    with pytest.raises(FileExistsError):
        starter.init(tmp_path / "new")


def test_secrets_come_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SECRET", "s3cret")
    assert config_mod.secret("MY_SECRET") == "s3cret"
    assert config_mod.secret("NOT_SET_ANYWHERE") is None
    assert config_mod.secret(None) is None
