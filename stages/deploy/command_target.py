"""``command`` targets: hand the release folder to a configured program (rsync, a CDN CLI, ...).

The program's exit code decides: 0 publishes, anything else is ``deploy_command_failed`` with
the tail of its output; a program that outlives its timeout is killed with its whole process
group (``deploy_timeout``).
"""

from __future__ import annotations

from pathlib import Path

from stages.base import StageError
from stages.deploy import procs
from stages.deploy.options import CommandSpec


def argv_for(spec: CommandSpec, release: Path, *, target: str, job_id: str) -> list[str]:
    values = {"release": str(release), "target": target, "job_id": job_id}
    argv = [arg.format_map(values) if "{" in arg else arg for arg in spec.argv]
    if not any("{release}" in arg for arg in spec.argv):
        argv.append(str(release))
    return argv


async def publish(spec: CommandSpec, release: Path, *, target: str, job_id: str) -> procs.Completed:
    argv = argv_for(spec, release, target=target, job_id=job_id)
    try:
        done = await procs.run(argv, cwd=release, env=spec.env, seconds=spec.timeout)
    except OSError as exc:
        raise StageError(f"cannot run {argv[0]!r}: {exc}", code="deploy_command_failed") from exc
    if done.timed_out:
        raise StageError(
            f"{argv[0]} did not finish within {spec.timeout:g} s and was killed; output: "
            f"{done.output.strip()[-500:]}", code="deploy_timeout")
    if done.returncode != 0:
        raise StageError(
            f"{argv[0]} exited with {done.returncode}: {done.output.strip()[-800:]}",
            code="deploy_command_failed")
    return done
