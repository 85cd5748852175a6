"""render_html's content-addressed bodies: a translation's fallback pages reuse the bodies the
source language rendered (another run with the same cache, or the next language of one run),
and the pages built that way are byte-identical to pages built without the reuse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stages.base import StageResult
from stages.context import local_context
from stages.render_html import stage
from stages.render_html.options import Options

SITE = {"languages": ["en", "de"], "title": "Bodies", "base_url": "https://docs.example.org/"}
FILES = {
    "en/index.md": "# Home\n\nSee [the guide](guide.md) and [German](/de/guide/).\n",
    "en/guide.md": "# Guide\n\n{!snippets/part.md!}\n\n```python\nx = 1\n```\n\n[Home](/en/) and [back](index.md#home).\n",
    "en/plain.md": "# Plain\n\nNo links into a language here.\n\n- a\n- b\n",
    "en/snippets/part.md": "Included text.\n",
    "de/index.md": "# Start\n\nAuf Deutsch.\n",
}
FALLBACKS = {"guide.md", "plain.md", "snippets/part.md"}


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


async def _render(src: Path, out: Path, cache: Path, language: str | None,
                  previous: dict[str, StageResult] | None = None) -> StageResult:
    ctx = local_context(src, out, workspace=out.parent, cache_dir=cache, site=SITE, options=Options(),
                        language=language, previous=previous or {})
    return await stage.run(ctx)


def _pages(out: Path, lang: str) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted((out / lang).rglob("*.html"))}


async def test_fallback_pages_reuse_the_source_languages_bodies_byte_for_byte(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", FILES)
    cache = tmp_path / "cache"
    en = await _render(src, tmp_path / "en-job" / "out", cache, "en")
    assert en.counts["reused_bodies"] == 0
    # a translate job: its own workspace and run, the same cache
    reused = await _render(src, tmp_path / "de-job" / "out", cache, "de")
    fallbacks = {p["src"] for p in reused.outputs["languages"]["de"]["pages"] if p["fallback"]}
    assert fallbacks == FALLBACKS
    # guide.md links to /en/: its body depends on the language, so it is rendered again
    assert reused.counts["reused_bodies"] == 2 and reused.counts["rendered"] == 4
    clean = await _render(src, tmp_path / "clean" / "out", tmp_path / "cache-clean", "de")
    assert clean.counts["reused_bodies"] == 0
    assert _pages(tmp_path / "de-job" / "out", "de") == _pages(tmp_path / "clean" / "out", "de")
    assert reused.findings == clean.findings


async def test_one_run_of_every_language_reuses_bodies_for_the_next_language(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", FILES)
    serial = await _render(src, tmp_path / "a" / "out", tmp_path / "cache-a", None)
    assert serial.counts["reused_bodies"] == 2  # plain.md and the snippet in de, from en's render moments before
    separate = await _render(src, tmp_path / "b" / "out", tmp_path / "cache-b", "de")
    assert separate.counts["reused_bodies"] == 0
    assert _pages(tmp_path / "a" / "out", "de") == _pages(tmp_path / "b" / "out", "de")


async def test_a_changed_include_is_not_served_from_an_old_body(tmp_path: Path) -> None:
    files = {**FILES, "en/guide.md": "# Guide\n\n{!snippets/part.md!}\n"}
    src = _tree(tmp_path / "src", files)
    cache = tmp_path / "cache"
    await _render(src, tmp_path / "en" / "out", cache, "en")
    (src / "en/snippets/part.md").write_text("Changed text.\n", encoding="utf-8")
    de = await _render(src, tmp_path / "de" / "out", cache, "de")
    assert de.counts["reused_bodies"] == 1  # plain.md; guide.md's include and the snippet page changed
    assert "Changed text." in (tmp_path / "de" / "out" / "de/guide/index.html").read_text()


async def test_stale_and_missing_pages_of_a_translate_result_reuse_bodies(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", {**FILES, "de/plain.md": "# Schlicht\n\nVeraltet.\n"})
    cache = tmp_path / "cache"
    await _render(src, tmp_path / "en" / "out", cache, "en")
    states = {"index.md": "translated", "plain.md": "stale", "guide.md": "missing"}
    previous: dict[str, Any] = {"translate": StageResult(outputs={
        "language": "de", "source_language": "en", "pages": {s: {"state": v} for s, v in states.items()}})}
    de = await _render(src, tmp_path / "de" / "out", cache, "de", previous)
    clean = await _render(src, tmp_path / "clean" / "out", tmp_path / "cache-clean", "de", previous)
    assert de.counts["reused_bodies"] == 2 and clean.counts["reused_bodies"] == 0  # plain.md (stale), the snippet
    assert "Veraltet" not in (tmp_path / "de" / "out" / "de/plain/index.html").read_text()
    assert _pages(tmp_path / "de" / "out", "de") == _pages(tmp_path / "clean" / "out", "de")


async def test_an_edit_outside_code_blocks_reuses_their_highlighting(tmp_path: Path, monkeypatch: Any) -> None:
    from stages.markdown import engine

    src = _tree(tmp_path / "src", FILES)
    cache = tmp_path / "cache"
    await _render(src, tmp_path / "a" / "out", cache, "en")
    (src / "en/guide.md").write_text(FILES["en/guide.md"] + "\nOne more line.\n", encoding="utf-8")
    calls: list[str] = []
    real = engine.highlight

    def counted(code: str, *args: Any) -> str:
        calls.append(code)
        return real(code, *args)

    monkeypatch.setattr(engine, "highlight", counted)
    again = await _render(src, tmp_path / "a" / "out", cache, "en")
    assert again.counts["rendered"] == 1 and calls == []  # the block came from the page's last render
    clean = await _render(src, tmp_path / "b" / "out", tmp_path / "cache-b", "en")
    assert calls == ["x = 1\n"] and clean.counts["rendered"] == 4
    assert _pages(tmp_path / "a" / "out", "en") == _pages(tmp_path / "b" / "out", "en")
