"""Pure planning of the PDF book: link rewriting, ids, chapter boundaries, TOC entries."""

from __future__ import annotations

from pathlib import Path

from stages.render_pdf import book


def _page(url: str, title: str = "T", section: tuple[str, ...] = ()) -> book.Page:
    return book.Page.from_output(
        {"src": url + ".md", "file": url + "index.html", "url": url, "title": title, "section": list(section)}
    )


def test_links_to_book_pages_become_internal_and_others_stay(tmp_path: Path) -> None:
    install, usage = _page("en/guide/install/"), _page("en/guide/usage/")
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "a.png").write_bytes(b"x")
    links = book.LinkMap([install, usage], tmp_path, "https://docs.example/")

    assert links.href(install, "../usage/#advanced") == f"{book.INTERNAL}{usage.pid}--advanced"
    assert links.href(install, "../usage/index.html") == f"{book.INTERNAL}{usage.pid}"
    assert links.href(install, "#req") == f"{book.INTERNAL}{install.pid}--req"
    assert links.href(install, "https://docs.example/en/guide/usage/") == f"{book.INTERNAL}{usage.pid}"
    assert links.href(install, "https://python.org/") == "https://python.org/"
    assert links.href(install, "mailto:a@b.c") == "mailto:a@b.c"
    # a site file that is not a book page: kept as an absolute link to the deployed site
    assert links.href(install, "../../../downloads/x.zip") == "https://docs.example/downloads/x.zip"
    # relative to the site folder (the chapter's base URL): no workspace path in the chapter
    assert links.src(install, "../../../assets/a.png") == "assets/a.png"
    assert links.assets == {install.pid: {"assets/a.png"}}
    # outside the site root: left alone (the child's fetcher refuses it)
    assert links.src(install, "../../../../../etc/passwd") == "../../../../../etc/passwd"


def test_prepare_prefixes_ids_only_inside_tags() -> None:
    page = _page("en/a/")
    links = book.LinkMap([page], Path("/nonexistent"), "http://x/")
    content = '<h2 id="intro">Intro</h2><p>text id="not-a-tag"</p><a href="#intro">up</a><pre><code>&lt;a href="#x"&gt;</code></pre>'

    out = book.prepare(page, content, links)

    assert f'id="{page.pid}--intro"' in out
    assert 'text id="not-a-tag"' in out
    assert f'href="{book.INTERNAL}{page.pid}--intro"' in out
    assert '&lt;a href="#x"&gt;' in out


def test_page_ids_do_not_depend_on_position() -> None:
    assert _page("en/a/").pid == _page("en/a/", title="Other").pid
    assert _page("en/a/").pid != _page("en/b/").pid


def test_extract_main_takes_only_the_content() -> None:
    doc = '<html><body><nav>menu</nav><main class="x" id="content"><h1>T</h1><p>body</p></main><footer>f</footer></body></html>'
    assert book.extract_main(doc) == "<h1>T</h1><p>body</p>"


def test_chapters_follow_sections_and_a_size_limit() -> None:
    pages = [_page(f"en/a{i}/", section=("A",)) for i in range(5)] + [_page("en/b/", section=("B",))]
    contents = {p.pid: "<p>x</p>" for p in pages}

    units = book.plan_units(pages, contents, chapter_pages=2, split_bytes=10_000)

    assert [[p.url for p in u.pages] for u in units] == [
        ["en/a0/", "en/a1/"], ["en/a2/", "en/a3/"], ["en/a4/"], ["en/b/"],
    ]


def test_editing_a_page_changes_only_its_chapter() -> None:
    pages = [_page(f"en/a{i}/", section=("A",)) for i in range(6)]
    before = {p.pid: f"<p>{p.url}</p>" for p in pages}
    after = dict(before, **{pages[3].pid: "<p>" + "longer text " * 500 + "</p>"})

    html_before = [u.html("en", "B") for u in book.plan_units(pages, before, chapter_pages=2, split_bytes=100_000)]
    html_after = [u.html("en", "B") for u in book.plan_units(pages, after, chapter_pages=2, split_bytes=100_000)]

    assert [a == b for a, b in zip(html_before, html_after, strict=True)] == [True, False, True]


def test_a_huge_page_is_split_before_top_level_h2() -> None:
    page = _page("en/notes/")
    section = "<h2 id='v{0}'>v{0}</h2><div><h2>nested, not a split point</h2></div>" + "<p>" + "word " * 1000 + "</p>"
    content = "<h1>Notes</h1>" + "".join(section.format(i) for i in range(6))

    units = book.plan_units([page], {page.pid: content}, chapter_pages=6, split_bytes=10_000)

    assert len(units) > 1
    assert "".join(p for u in units for p in u.parts).count("<h2") == 12
    assert all(part.count("<div>") == part.count("</div>") for u in units for part in u.parts)
    assert f'id="{page.pid}"' in units[0].parts[0]
    assert all(f'id="{page.pid}"' not in u.parts[0] for u in units[1:])


def test_toc_entries_announce_each_section_once() -> None:
    pages = [
        _page("en/", "Home"),
        _page("en/g/a/", "A", ("Guide",)),
        _page("en/g/b/", "B", ("Guide", "Deep")),
        _page("en/g/c/", "C", ("Guide",)),
        _page("en/r/", "R", ("",)),
    ]
    entries = book.toc_entries(pages)
    assert [(e.depth, e.title, e.is_section) for e in entries] == [
        (0, "Home", False),
        (0, "Guide", True),
        (1, "A", False),
        (1, "Deep", True),
        (2, "B", False),
        (1, "C", False),
        (0, "R", False),
    ]
