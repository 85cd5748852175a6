"""Command targets with real subprocesses."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from deploy_fixtures import build, context

from stages.base import StageError
from stages.deploy import stage as deploy_stage
from stages.deploy.options import CommandSpec, Options, Target


def opts(argv: list[str], timeout: float = 60) -> Options:
    return Options(targets={
        "staging": Target(kind="command", command=CommandSpec(argv=argv, timeout=timeout)),
        "production": Target(requires_approval=True),
    })


async def test_the_command_gets_the_release_and_its_output_is_kept(tmp_path: Path) -> None:
    dest = tmp_path / "mirror"
    script = "import shutil,sys; shutil.copytree(sys.argv[1], sys.argv[2]); print('synced', sys.argv[3])"
    argv = [sys.executable, "-c", script, "{release}", str(dest), "{target}"]

    result = await deploy_stage.run(context(tmp_path, build(tmp_path, "job1"), options=opts(argv)))

    assert (dest / "en" / "guide" / "install" / "index.html").is_file()
    assert result.outputs["command"]["exit_code"] == 0
    assert "synced staging" in result.outputs["command"]["output"]
    assert os.readlink(tmp_path / "sites" / "staging" / "current") == "releases/job1"


async def test_the_release_is_appended_when_not_named(tmp_path: Path) -> None:
    marker = tmp_path / "arg.txt"
    argv = [sys.executable, "-c", f"import sys; open({str(marker)!r},'w').write(sys.argv[-1])"]
    result = await deploy_stage.run(context(tmp_path, build(tmp_path, "job1"), options=opts(argv)))
    assert marker.read_text() == result.outputs["release"]


async def test_a_failing_command_fails_with_its_output(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import sys; print('rsync: connection refused'); sys.exit(12)"]

    with pytest.raises(StageError) as err:
        await deploy_stage.run(context(tmp_path, build(tmp_path, "job1"), options=opts(argv)))

    assert err.value.code == "deploy_command_failed"
    assert "12" in str(err.value) and "connection refused" in str(err.value)
    root = tmp_path / "sites" / "staging"
    assert not (root / "current").exists()
    assert list((root / "releases").iterdir()) == []


async def test_a_hanging_command_is_killed(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    script = f"import os,time; open({str(pidfile)!r},'w').write(str(os.getpid())); print('started', flush=True); time.sleep(600)"
    argv = [sys.executable, "-c", script]

    with pytest.raises(StageError) as err:
        await deploy_stage.run(context(tmp_path, build(tmp_path, "job1"), options=opts(argv, timeout=3.0)))

    assert err.value.code == "deploy_timeout"
    assert "started" in str(err.value)
    pid = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_a_missing_program(tmp_path: Path) -> None:
    with pytest.raises(StageError) as err:
        await deploy_stage.run(
            context(tmp_path, build(tmp_path, "job1"), options=opts(["/nonexistent/deploy-tool"])))
    assert err.value.code == "deploy_command_failed"


async def test_rollback_runs_the_command_with_the_older_release(tmp_path: Path) -> None:
    from stages.deploy import targets

    log = tmp_path / "published.txt"
    argv = [sys.executable, "-c", f"import sys; open({str(log)!r},'a').write(sys.argv[1] + '\\n')", "{release}"]
    options = opts(argv)
    first = await deploy_stage.run(context(tmp_path, build(tmp_path, "job1"), options=options))
    await deploy_stage.run(context(tmp_path, build(tmp_path, "job2"), options=options))

    await targets.rollback_and_publish(options, tmp_path / "sites", "staging", "job1", workdir=tmp_path / "rb")

    assert log.read_text().splitlines()[-1] == first.outputs["release"]
    assert os.readlink(tmp_path / "sites" / "staging" / "current") == "releases/job1"


async def test_a_failed_rollback_command_keeps_current(tmp_path: Path) -> None:
    from stages.deploy import targets

    marker = tmp_path / "fail"
    script = f"import os,sys; sys.exit(3 if os.path.exists({str(marker)!r}) else 0)"
    options = opts([sys.executable, "-c", script])
    await deploy_stage.run(context(tmp_path, build(tmp_path, "job1"), options=options))
    await deploy_stage.run(context(tmp_path, build(tmp_path, "job2"), options=options))
    marker.write_text("x")

    with pytest.raises(StageError) as err:
        await targets.rollback_and_publish(options, tmp_path / "sites", "staging", workdir=tmp_path / "rb")

    assert err.value.code == "deploy_command_failed"
    assert os.readlink(tmp_path / "sites" / "staging" / "current") == "releases/job2"
