"""The command line's shared exit codes, run in-process against a port nothing listens on."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.cli.options import ExitCode
from pipeline.testing import free_port

CLIENT_COMMANDS = [
    ["submit", "{docs}"],
    ["submit", "{docs}", "--wait"],
    ["status", "bld_x"],
    ["status", "bld_x", "--follow"],
    ["list"],
    ["cancel", "bld_x"],
    ["retry", "bld_x"],
    ["healthcheck"],
    ["approve", "bld_x"],
    ["reject", "bld_x", "--reason", "typos"],
    ["rollback", "staging"],
    ["deliveries", "list"],
    ["deliveries", "retry", "--all"],
]


@pytest.mark.parametrize("args", CLIENT_COMMANDS, ids=" ".join)
def test_an_unreachable_daemon_exits_4_from_every_client_command(args: list[str], tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Hello\n")
    server = f"http://127.0.0.1:{free_port()}"
    argv = [a.format(docs=docs) for a in args]
    result = CliRunner().invoke(cli, [*argv, "--server", server], env={"PRESSROOM_TOKEN": None})
    assert result.exit_code == ExitCode.UNREACHABLE == 4, result.output
    assert "error: daemon unreachable:" in result.stderr
    assert result.stdout == ""


def test_the_exit_codes_are_the_documented_ones() -> None:
    assert [(c.name, c.value) for c in ExitCode] == [
        ("OK", 0), ("FAILED", 1), ("USAGE", 2), ("CONFIG", 3), ("UNREACHABLE", 4)]
    quickstart = (Path(__file__).parents[2] / "docs" / "quickstart.md").read_text()
    for code in ExitCode:
        assert f"| {code.value} |" in quickstart, f"docs/quickstart.md lacks exit code {code.value}"


def test_a_bad_config_exits_3_before_any_request(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[workers]\ncount = "two"\n')
    result = CliRunner().invoke(cli, ["--config", str(cfg), "status", "bld_x"])
    assert result.exit_code == ExitCode.CONFIG, result.output
    assert "[workers] count" in result.stderr
