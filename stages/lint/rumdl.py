"""markdownlint rules through rumdl (a Rust markdownlint-compatible linter) with JSON output.

rumdl finds a team's ``.markdownlint.json``/``.yaml`` itself (we run it from the source root);
``[stages.lint]`` adds to that with ``--extend-enable``/``--extend-disable`` and inline rule
settings, so config from both places applies.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from stages.base import StageError

RULE_ID = re.compile(r"^MD\d{3}$")
BATCH = 400


def executable() -> str:
    beside = Path(sys.executable).parent / "rumdl"
    found = str(beside) if beside.exists() else shutil.which("rumdl")
    if not found:
        raise StageError("rumdl is not installed (pip install rumdl)", code="lint_tool_missing")
    return found


def command(opts: Any, cache_dir: Path) -> list[str]:
    args = [executable(), "check", "--output-format", "json", "--fail-on", "never", "--quiet",
            "--color", "never", "--cache-dir", str(cache_dir)]
    if opts.flavor:
        args += ["--flavor", opts.flavor]
    enable = [r.upper() for r in opts.enable if RULE_ID.match(r.upper())]
    disable = [r.upper() for r in opts.disable if RULE_ID.match(r.upper())]
    if enable:
        args += ["--extend-enable", ",".join(enable)]
    if disable:
        args += ["--extend-disable", ",".join(disable)]
    for rule, settings in sorted(opts.rules.items()):
        for key, value in sorted(settings.items()):
            args += ["--config", f"{rule.upper()}.{key} = {json.dumps(value)}"]
    return args


async def check(source: Path, files: list[str], opts: Any, cache_dir: Path) -> list[dict[str, Any]]:
    """Findings for ``files`` (paths relative to ``source``), as dicts with markdownlint ids."""
    if not files:
        return []
    await asyncio.to_thread(cache_dir.mkdir, parents=True, exist_ok=True)
    base = command(opts, cache_dir)
    found: list[dict[str, Any]] = []
    for i in range(0, len(files), BATCH):
        proc = await asyncio.create_subprocess_exec(
            *base, "--", *files[i : i + BATCH], cwd=source,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout=opts.rumdl_timeout)
        except (TimeoutError, asyncio.CancelledError) as exc:
            proc.kill()
            await proc.wait()
            if isinstance(exc, TimeoutError):
                # rumdl's own limit is not the stage's: report the tool, not a stage timeout.
                raise StageError(f"rumdl did not finish within [stages.lint] rumdl_timeout = {opts.rumdl_timeout:g} s; "
                                 "raise it, or leave pathological pages out with [stages.lint] exclude",
                                 code="lint_tool_failed") from None
            raise
        if proc.returncode not in (0, 1):
            msg = err.decode(errors="replace").strip().splitlines()
            raise StageError(f"rumdl failed (exit {proc.returncode}): {msg[-1] if msg else 'no output'}",
                             code="lint_tool_failed")
        try:
            items = json.loads(out.decode() or "[]")
        except ValueError as exc:
            raise StageError(f"rumdl printed output that is not JSON: {exc}", code="lint_tool_failed") from exc
        for item in items:
            found.append({"file": Path(item["file"]).as_posix(), "line": item.get("line"), "column": item.get("column"),
                          "rule": item.get("rule", "MD000"), "severity": item.get("severity", "warning"),
                          "message": item.get("message", "")})
    return found
