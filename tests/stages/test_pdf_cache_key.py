"""The PDF chapter cache is keyed by what a chapter shows, not by where the build ran.

The daemon gives every job its own workspace, and ``pressroom build`` writes into a new folder
each time, so a key that held a path of the build would miss on every build.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from pdf_fixtures import SVG, small_book, write_site
from test_pdf_stage import make_ctx

from stages.render_pdf import builder
from stages.render_pdf import stage as pdf_stage
from stages.render_pdf.options import Options


async def test_same_tree_in_another_workspace_renders_no_chapter(tmp_path: Path) -> None:
    first_ws = tmp_path / "jobs" / "one"
    outputs = write_site(first_ws / "out", {"en": small_book()})
    (first_ws / "out" / "assets" / "pic.svg").write_text(SVG)
    second_ws = tmp_path / "jobs" / "two"
    shutil.copytree(first_ws, second_ws)
    # both contexts share <jobs>/cache, as jobs of one daemon share the data dir's cache
    first = await pdf_stage.run(make_ctx(first_ws, outputs))
    assert first.status == "passed" and first.counts["chapters_rendered"] == first.counts["chapters"] > 1
    shutil.rmtree(first_ws)  # the first job's workspace is pruned; nothing may point into it
    second = await pdf_stage.run(make_ctx(second_ws, outputs))
    assert second.status == "passed"
    assert second.counts["chapters_rendered"] == 0
    assert second.counts["reused"] == second.counts["chapters"] == first.counts["chapters"]
    assert first.counts["reused"] == 0
    assert (second_ws / "out" / "pdf" / "en.pdf").stat().st_size > 1000


def test_chapter_html_names_no_workspace_path_and_images_are_in_the_key(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    outputs = write_site(ws / "out", {"en": small_book()})
    (ws / "out" / "assets" / "pic.svg").write_text(SVG)
    inp = builder.BookInput(
        lang="en", pages=outputs["languages"]["en"]["pages"], site_dir=ws / "out",
        cache_dir=tmp_path / "cache", out_pdf=tmp_path / "en.pdf", title="t",
        base_url="http://127.0.0.1/", version=None, commit=None, date="", stylesheets=[])
    plan, missing = builder.plan_book(inp, Options())
    assert not missing
    joined = "".join(plan.unit_html)
    assert str(ws) not in joined and "file:" not in joined
    assert "assets/pic.svg" in joined
    # a replaced image changes the key of the chapter that shows it, and only that one
    (ws / "out" / "assets" / "pic.svg").write_text(SVG.replace("</svg>", "<circle r='1'/></svg>"))
    again, _ = builder.plan_book(inp, Options())
    changed = [a != b for a, b in zip(plan.unit_keys, again.unit_keys, strict=True)]
    assert sum(changed) == 1


async def test_a_site_written_outside_the_workspace_is_found(tmp_path: Path) -> None:
    """``pressroom build`` renders into a folder beside ``--out``, not into its workspace."""
    out = tmp_path / "elsewhere" / ".site.new-x1"
    outputs = write_site(out, {"en": small_book()})
    outputs["site_dir"] = out.name
    ctx = make_ctx(tmp_path / "workspace", outputs)
    ctx = dataclasses.replace(ctx, out=out)
    result = await pdf_stage.run(ctx)
    assert result.status == "passed" and not result.findings, result.findings
    assert result.counts["chapters"] > 1 and (out / "pdf" / "en.pdf").stat().st_size > 1000
