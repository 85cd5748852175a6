"""A one-page edit re-renders one page's chapter, and the merged book is the one a cold build makes.

Chapters are one page each by default, so the time of an edit follows the edited page, not the
chapter it used to share with five others; that is only right if the book put together from
cached pages is the book a cold build makes, which is what these tests compare (pypdf for page
count and bookmarks, pdftotext for the text of every page).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
from pdf_fixtures import SVG, FixturePage, paragraphs, small_book, write_site
from pypdf import PdfReader
from test_pdf_stage import make_ctx, page_texts

from stages.render_pdf import book
from stages.render_pdf import stage as pdf_stage


def outline_of(pdf: Path) -> list[tuple[int, str, int, float]]:
    """(depth, title, page, top) of every bookmark: where it points, to the point."""
    reader = PdfReader(pdf)

    def flatten(items: list[Any], depth: int = 0) -> list[tuple[int, str, int, float]]:
        out: list[tuple[int, str, int, float]] = []
        for item in items:
            if isinstance(item, list):
                out += flatten(item, depth + 1)
            else:
                top = round(float(item.top), 1)
                page = reader.get_destination_page_number(item)
                assert page is not None, item.title
                out.append((depth, str(item.title), page, top))
        return out

    return flatten(reader.outline)


def edit(ws: Path, outputs: dict[str, Any], index: int, extra: str) -> None:
    """Change one page the way render_html would: new HTML, new hash in its outputs."""
    page = outputs["languages"]["en"]["pages"][index]
    path = ws / "out" / page["file"]
    text = path.read_text().replace("</main>", extra + "</main>")
    path.write_text(text)
    page["hash"] = hashlib.sha256(text.encode()).hexdigest()


def site(ws: Path) -> dict[str, Any]:
    pages = small_book() + [
        FixturePage(f"more/p{i}.md", f"More {i}", paragraphs(3 + i), section=["More"], level=2)
        for i in range(4)
    ]
    outputs = write_site(ws / "out", {"en": pages})
    (ws / "out" / "assets" / "pic.svg").write_text(SVG)
    return outputs


async def cold_copy(tmp_path: Path, ws: Path, outputs: dict[str, Any], name: str, **opts: Any) -> Path:
    """The same tree built again with an empty cache, in a workspace of its own."""
    other = tmp_path / name / "ws"
    shutil.copytree(ws / "out", other / "out", ignore=shutil.ignore_patterns("pdf"))
    result = await pdf_stage.run(make_ctx(other, outputs, **opts))
    assert result.status == "passed", result
    assert result.counts["chapters_rendered"] == result.counts["chapters"]
    return other / "out" / "pdf" / "en.pdf"


@pytest.mark.slow
async def test_one_page_edit_renders_one_page_and_matches_a_cold_build(tmp_path: Path) -> None:
    ws = tmp_path / "inc" / "ws"
    outputs = site(ws)
    first = await pdf_stage.run(make_ctx(ws, outputs, chapter_pages=1))
    assert first.status == "passed", first
    pages = len(outputs["languages"]["en"]["pages"])
    assert first.counts["chapters"] == pages  # one chapter per page (none is huge here)
    cached_books = {p: p.read_bytes() for p in (tmp_path / "inc" / "cache").rglob("book-*.pdf")}

    # a page in the middle grows by a few sheets: only it renders, every later number moves
    edit(ws, outputs, 6, paragraphs(12, "grown"))
    edited = await pdf_stage.run(make_ctx(ws, outputs, chapter_pages=1))
    assert edited.status == "passed", edited
    assert edited.counts["chapters_rendered"] == 1
    assert edited.counts["reused"] == pages - 1
    # the previous book in the cache is untouched (the output is a link to the new one, not a write)
    assert {p: p.read_bytes() for p in cached_books} == cached_books

    incremental = ws / "out" / "pdf" / "en.pdf"
    cold = await cold_copy(tmp_path, ws, outputs, "cold", chapter_pages=1)
    assert len(PdfReader(incremental).pages) == len(PdfReader(cold).pages) == edited.counts["pages"]
    assert outline_of(incremental) == outline_of(cold)
    assert page_texts(incremental) == page_texts(cold)
    assert any("grown ipsum" in t for t in page_texts(incremental))


@pytest.mark.slow
async def test_the_book_does_not_depend_on_how_pages_are_grouped(tmp_path: Path) -> None:
    """Every page starts at the same height whether it opens its chapter document or not (the
    body's top margin would push the first page of each chapter down by 8px otherwise)."""
    ws = tmp_path / "src" / "ws"
    outputs = site(ws)
    one = await cold_copy(tmp_path, ws, outputs, "one", chapter_pages=1)
    three = await cold_copy(tmp_path, ws, outputs, "three", chapter_pages=3)
    assert outline_of(one) == outline_of(three)
    assert page_texts(one) == page_texts(three)


async def test_nothing_changed_reuses_the_book(tmp_path: Path) -> None:
    """The child warmed up for rendering is not waited for when nothing renders."""
    ws = tmp_path / "ws"
    outputs = site(ws)
    first = await pdf_stage.run(make_ctx(ws, outputs))
    again = await pdf_stage.run(make_ctx(ws, outputs))
    assert again.status == "passed", again
    assert again.counts["chapters_rendered"] == 0
    assert again.outputs["languages"]["en"]["cached"] is True
    assert again.counts["pages"] == first.counts["pages"]
    assert (ws / "out" / "pdf" / "en.pdf").read_bytes()[:5] == b"%PDF-"


def test_split_offsets_are_remembered_by_content() -> None:
    parts = [f'<h2 id="s{i}">Part {i}</h2>' + paragraphs(40, f"w{i}") for i in range(4)]
    content = "".join(parts)
    first = book.split_content(content, 12_000)
    assert len(first) > 1 and "".join(first) == content
    assert book.split_content(content, 12_000) == first
    other = content.replace("w1 ", "v1 ")
    assert "".join(book.split_content(other, 12_000)) == other
