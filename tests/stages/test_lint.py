"""lint: markdownlint rules through rumdl, our site checks, severities and incrementality."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parents[2] / "content-samples"
SITE = {"languages": ["en", "es", "de"]}


async def test_content_samples_lint_clean(runner: Any) -> None:
    r = await runner.lint(SAMPLES, site=SITE)
    assert r.status == "passed"
    assert r.findings == []
    assert r.counts["files"] == 20 and r.counts["errors"] == 0


def _broken_site(root: Path, write_tree: Any) -> Path:
    return write_tree(root, {
        "en/index.md": ("# Home\n\n[ok](guide.md#setup) [gone](nope.md) [bad anchor](guide.md#nope) [self](#nope)\n\n"
                        "![missing](img/none.png)\n\n![here](img/here.png)\n\n{* ../missing.py *}\n"),
        "en/guide.md": "# Guide\n\n## Setup { #setup }\n\n## Setup again { #setup }\n\n#No space heading\n",
        "en/untitled.md": "Just text, no heading.\n",
        "en/front.md": "---\ntitle: [unclosed\n---\n\n# Front\n",
        "en/img/here.png": b"\x89PNG",
        "es/index.md": "# Inicio\n\n[guía](guide.md#setup)\n",
    })


async def test_site_checks_and_markdownlint_rules(runner: Any, tmp_path: Path, write_tree: Any) -> None:
    src = _broken_site(tmp_path / "src", write_tree)
    r = await runner.lint(src, site={"languages": ["en", "es"], "nav": ["index.md", "guide.md"]}, fail_on="never")
    assert r.status == "passed"
    got = {(f.file, f.line, f.rule, f.severity) for f in r.findings}
    assert {
        ("en/index.md", 3, "broken-link", "error"),
        ("en/index.md", 3, "missing-anchor", "error"),
        ("en/index.md", 5, "missing-image", "error"),
        ("en/index.md", 9, "include-missing", "error"),
        ("en/guide.md", 5, "duplicate-id", "warning"),
        ("en/untitled.md", 1, "no-title", "warning"),
        ("en/untitled.md", 1, "not-in-nav", "warning"),
        ("en/front.md", 1, "bad-front-matter", "error"),
        ("en/guide.md", 7, "MD018", "warning"),
    } <= got
    messages = [f.message for f in r.findings if f.rule == "missing-anchor"]
    assert any("guide.md#nope" in m for m in messages) and any("'#nope'" in m for m in messages)
    assert not any(f.file.startswith("es/") for f in r.findings)  # es links resolve (guide falls back)
    f = next(f for f in r.findings if f.rule == "MD018")
    assert f.column is not None and f.message
    assert r.outputs["by_rule"]["broken-link"] == 1 and len(r.outputs["first"]) <= 50


async def test_fail_on_and_severity_overrides(runner: Any, tmp_path: Path, write_tree: Any) -> None:
    src = _broken_site(tmp_path / "src", write_tree)
    r = await runner.lint(src)
    assert r.status == "failed" and r.error_code == "lint_failed" and "errors" in (r.message or "")
    r = await runner.lint(src, severity={"broken-link": "warning", "missing-image": "warning", "include-missing": "info",
                                         "bad-front-matter": "warning", "MD025": "warning",
                                         "missing-anchor": "warning"})
    assert r.status == "passed" and r.counts["errors"] == 0 and r.counts["warnings"] > 0
    r = await runner.lint(src, fail_on="warning", disable=["MD013", "MD025", "MD051", "MD057", "broken-link", "missing-image",
                                                             "include-missing", "bad-front-matter", "no-title",
                                                             "missing-anchor", "duplicate-id", "MD018", "MD041",
                                                             "not-in-nav", "MD047", "MD012"])
    assert r.status == "passed", [(f.rule, f.message) for f in r.findings]


async def test_markdownlint_config_and_rule_settings(runner: Any, tmp_path: Path, write_tree: Any) -> None:
    src = write_tree(tmp_path / "src", {"en/index.md": "# Home\n\nA line that is rather long for the limit.\n\n#bad\n"})
    r = await runner.lint(src, disable=[], rules={"MD013": {"line-length": 20}})
    assert {"MD013", "MD018"} <= {f.rule for f in r.findings}
    write_tree(src, {".markdownlint.json": '{"MD018": false}'})
    r = await runner.lint(src, disable=[], rules={"MD013": {"line-length": 20}})
    rules = {f.rule for f in r.findings}
    assert "MD013" in rules and "MD018" not in rules
    (src / ".markdownlint.json").unlink()
    write_tree(src, {".markdownlint.yaml": "MD013: false\n"})
    r = await runner.lint(src, disable=[])
    rules = {f.rule for f in r.findings}
    assert "MD013" not in rules and "MD018" in rules
    r = await runner.lint(src, enable=["MD013"], markdownlint=False)
    assert not any(f.rule.startswith("MD") for f in r.findings)


async def test_incremental_lint(runner: Any, tmp_path: Path, write_tree: Any) -> None:
    src = tmp_path / "src"
    shutil.copytree(SAMPLES, src)
    first = await runner.lint(src, site=SITE)
    assert first.counts["linted"] == 20 and first.outputs["full"]
    again = await runner.lint(src, site=SITE)
    assert again.counts["linted"] == 0 and again.findings == []

    page = src / "en/guide/navigation.md"
    page.write_text(page.read_text() + "\n[gone](missing.md)\n")
    failing = await runner.lint(src, site=SITE)
    assert failing.status == "failed" and failing.counts["linted"] == 1
    assert [(f.file, f.rule) for f in failing.findings] == [("en/guide/navigation.md", "broken-link")]
    # a failed lint does not move the baseline: the file is linted again next time
    still = await runner.lint(src, site=SITE)
    assert still.status == "failed" and still.counts["linted"] == 1

    # the target appearing fixes the link without the linking page changing
    write_tree(src, {"en/guide/missing.md": "# Now here\n"})
    fixed = await runner.lint(src, site=SITE)
    assert fixed.status == "passed" and fixed.counts["linted"] == 21  # the page set (nav) changed: all files
    assert runner.cache.joinpath("lint").is_dir()

    cfg = await runner.lint(src, site={**SITE, "title": "Renamed"})
    assert cfg.counts["linted"] == 21  # config changed: everything is linted again


async def test_anchor_checks_follow_the_target_page(runner: Any, tmp_path: Path, write_tree: Any) -> None:
    src = write_tree(tmp_path / "src", {"en/a.md": "# A\n\n[to b](b.md#part)\n", "en/b.md": "# B\n\n## Part { #part }\n"})
    assert (await runner.lint(src)).findings == []
    (src / "en/b.md").write_text("# B\n\n## Renamed { #renamed }\n")
    r = await runner.lint(src)
    assert [(f.file, f.rule) for f in r.findings] == [("en/a.md", "missing-anchor")]
    assert r.counts["linted"] == 1


async def test_mkdocs_nav_findings(runner: Any, tmp_path: Path, write_tree: Any) -> None:
    src = write_tree(tmp_path / "src", {
        "mkdocs.yml": "site_name: X\nnav:\n  - index.md\n  - Gone: gone.md\n",
        "docs/index.md": "# Home\n", "docs/extra.md": "# Extra\n",
    })
    r = await runner.lint(src, fail_on="never")
    got = {(f.file, f.rule) for f in r.findings}
    assert ("mkdocs.yml", "nav-missing") in got and ("docs/extra.md", "not-in-nav") in got


async def test_empty_site_is_a_stage_error(runner: Any, tmp_path: Path) -> None:
    from stages.base import StageError

    (tmp_path / "src/en").mkdir(parents=True)
    try:
        await runner.lint(tmp_path / "src")
    except StageError as exc:
        assert exc.code == "empty_site" and "no markdown pages" in str(exc)
    else:
        raise AssertionError("an empty site must fail the stage")


async def test_rumdl_timeout_is_lint_tool_failed_not_stage_timeout(runner: Any, tmp_path: Path, write_tree: Any,
                                                                    monkeypatch: Any) -> None:
    """rumdl's own limit ([stages.lint] rumdl_timeout) names the tool, as docs/errors.md says.

    Before the fix the TimeoutError escaped the stage and the runner called it ``stage_timeout``
    "ran past its timeout of 600 s", pointing at the wrong knob.
    """
    from stages.base import StageError
    from stages.lint import rumdl

    slow = tmp_path / "bin" / "rumdl"
    slow.parent.mkdir()
    slow.write_text("#!/bin/sh\nexec sleep 60\n")
    slow.chmod(0o755)
    monkeypatch.setattr(rumdl, "executable", lambda: str(slow))
    src = write_tree(tmp_path / "src", {"en/index.md": "# Home\n"})
    try:
        await runner.lint(src, rumdl_timeout=0.5, incremental=False)
    except StageError as exc:
        assert exc.code == "lint_tool_failed"
        assert "rumdl did not finish within [stages.lint] rumdl_timeout = 0.5 s" in str(exc)
    else:
        raise AssertionError("a rumdl that never finishes must fail the stage")


async def test_languages_linted_alone_keep_their_own_state(tmp_path: Path) -> None:
    """A fanned-out build lints each language in its own job, at the same time: each keeps its
    own incremental state, so linting another language in between does not make a rebuild
    of this one lint every file again."""
    from stages.context import local_context
    from stages.lint import stage
    from stages.lint.options import Options

    src = tmp_path / "src"
    shutil.copytree(SAMPLES, src)

    async def lint(language: str) -> Any:
        ctx = local_context(src, tmp_path / "out", cache_dir=tmp_path / "cache", site=SITE,
                            options=Options(), language=language)
        return await stage.run(ctx)

    first = {lang: await lint(lang) for lang in ("en", "es", "de")}
    assert all(r.counts["linted"] == r.counts["files"] > 0 for r in first.values())
    again = {lang: await lint(lang) for lang in ("es", "en", "de")}
    assert {lang: r.counts["linted"] for lang, r in again.items()} == {"es": 0, "en": 0, "de": 0}
    assert {lang: r.counts["files"] for lang, r in again.items()} == {lang: r.counts["files"] for lang, r in first.items()}
