"""Work that runs inside the PDF child processes: WeasyPrint calls and the pypdf merge.

Everything here takes and returns plain, picklable data so it can run in a process that the
stage kills when it hangs. WeasyPrint is imported lazily: importing this module must stay cheap
for the daemon.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from stages.render_pdf.book import INTERNAL

PX_TO_PT = 0.75
"""WeasyPrint measures in CSS px; PDF user space is in points."""


def render_document(
    html_text: str, stylesheets: list[str], css_text: str, site_dir: str, out_pdf: str
) -> dict[str, Any]:
    """Render one chapter (or the front matter) and report where its anchors landed.

    The anchors (page index and distance from the page top, in points) are what the merge
    needs to turn ``pressroom-internal:`` links, the TOC and the bookmarks into page numbers.
    """
    import weasyprint

    fetcher = _SafeFetcher(Path(site_dir))
    font_config, css = _stylesheets(site_dir, tuple(stylesheets), css_text, fetcher)
    doc = weasyprint.HTML(
        string=html_text, base_url=Path(site_dir).as_uri() + "/", url_fetcher=fetcher
    ).render(stylesheets=css, font_config=font_config)
    anchors: dict[str, list[float]] = {}
    sizes: list[list[float]] = []
    for index, page in enumerate(doc.pages):
        sizes.append([page.width * PX_TO_PT, page.height * PX_TO_PT])
        for name, pos in page.anchors.items():
            anchors.setdefault(name, [index, pos[0] * PX_TO_PT, pos[1] * PX_TO_PT])
    tmp = out_pdf + f".tmp{os.getpid()}"
    doc.write_pdf(tmp)
    os.replace(tmp, out_pdf)
    return {"pages": len(doc.pages), "sizes": sizes, "anchors": anchors}


def warm_up(stylesheets: list[str], css_text: str, site_dir: str) -> None:
    """Import WeasyPrint and pikepdf and parse the book's CSS while the parent plans the book.

    A spawned child needs ~0.6 s for the imports and the font configuration; for a one-page
    change that is more than the render itself, and the parent's planning (~0.3 s) can hide it.
    """
    import pikepdf  # noqa: F401  (the merge runs in this process too)

    _stylesheets(site_dir, tuple(stylesheets), css_text, _SafeFetcher(Path(site_dir)))


_CSS_CACHE: dict[tuple[str, tuple[str, ...], str], tuple[Any, list[Any]]] = {}


def _stylesheets(site_dir: str, files: tuple[str, ...], css_text: str, fetcher: Any) -> tuple[Any, list[Any]]:
    """Parsed stylesheets and the font configuration, once per child process: a fresh
    FontConfiguration per chapter costs ~50 ms, six times the render of a short page."""
    key = (site_dir, files, css_text)
    if key not in _CSS_CACHE:
        import weasyprint
        from weasyprint.text.fonts import FontConfiguration

        font_config = FontConfiguration()
        css = [weasyprint.CSS(string=css_text, url_fetcher=fetcher, font_config=font_config)]
        css += [weasyprint.CSS(filename=f, url_fetcher=fetcher, font_config=font_config) for f in files]
        _CSS_CACHE.clear()
        _CSS_CACHE[key] = (font_config, css)
    return _CSS_CACHE[key]


def _fetcher_base() -> type:
    import weasyprint

    return weasyprint.URLFetcher  # type: ignore[no-any-return]


class _SafeFetcher:
    """Only local files under the site root and ``data:`` URIs: docs content is untrusted and
    must neither reach the network nor read files outside the site (images simply go missing)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._fail_on_errors = False
        self._inner = _fetcher_base()(allowed_protocols=("file", "data"))

    def __call__(self, url: str, headers: Any = None) -> Any:
        return self.fetch(url, headers)

    def fetch(self, url: str, headers: Any = None) -> Any:
        if url.startswith("file:"):
            path = Path(unquote(urlsplit(url).path)).resolve()
            if not (path.is_relative_to(self.root) or path.is_relative_to(_PACKAGE_DIR)):
                raise ValueError(f"outside the site: {url}")
        return self._inner.fetch(url, headers)


_PACKAGE_DIR = Path(__file__).resolve().parent


def merge_book(
    parts: list[tuple[str, dict[str, Any]]],
    outline: list[tuple[int, str, str]],
    out_pdf: str,
    *,
    title: str,
    stamp_numbers: bool,
) -> dict[str, Any]:
    """Concatenate the front matter and the chapters, then make the book navigable.

    Runs after every chapter's page count is known: internal links become GoTo destinations at
    the absolute page, bookmarks follow ``outline`` (depth, title, anchor) and page numbers are
    stamped in the footer (stamping here, not in CSS, keeps cached chapters valid when an earlier
    chapter gains a page). qpdf (through pikepdf) does the copying: pypdf took ~10 s for a
    900-page book, which dominated a one-page rebuild.
    """
    import pikepdf
    from pikepdf import Array, Dictionary, Name, OutlineItem, Pdf

    book = Pdf.new()
    sources = []
    anchors: dict[str, tuple[int, float]] = {}
    offset = 0
    for pdf, meta in parts:
        src = Pdf.open(pdf)
        sources.append(src)  # pages are copied lazily on save: keep the sources open
        book.pages.extend(src.pages)
        for name, (index, _x, top) in meta["anchors"].items():
            anchors.setdefault(name, (offset + int(index), float(top)))
        offset += len(src.pages)

    pages = book.pages
    heights = [float(p.mediabox[3]) - float(p.mediabox[1]) for p in pages]

    def destination(target: str) -> tuple[int, float] | None:
        hit = anchors.get(target)
        if hit is None and "--" in target:
            hit = anchors.get(target.split("--", 1)[0])
        if hit is None:
            return None
        index, top = hit
        return index, max(0.0, heights[index] - top + 4)

    unresolved = 0
    null = pikepdf.Object.parse(b"null")
    for page in pages:
        annots = page.obj.get("/Annots")
        if annots is None:
            continue
        keep = Array()
        for annot in annots:
            action = annot.get("/A")
            uri = str(action.get("/URI", "")) if action is not None else ""
            if not uri.startswith(INTERNAL):
                keep.append(annot)
                continue
            dest = destination(uri[len(INTERNAL):])
            if dest is None:
                unresolved += 1
                continue
            del annot["/A"]
            annot.Dest = Array([pages[dest[0]].obj, Name.XYZ, null, dest[1], null])
            keep.append(annot)
        page.obj.Annots = keep

    if stamp_numbers:
        font = book.make_indirect(
            Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica)
        )
        for index, page in enumerate(pages):
            if index == 0:
                continue  # the cover
            label = str(index + 1)
            size = 9.0
            width = float(page.mediabox[2]) - float(page.mediabox[0])
            x = (width - len(label) * 0.556 * size) / 2  # Helvetica digits are 0.556 em wide
            page.add_resource(font, Name.Font, Name("/PRNum"))
            page.contents_add(b"q\n", prepend=True)
            page.contents_add(
                f"Q\nq BT 0.35 0.35 0.35 rg /PRNum {size:g} Tf {x:.2f} 30 Td ({label}) Tj ET Q\n".encode()
            )

    with book.open_outline() as tree:
        parents: list[OutlineItem] = []
        for depth, label, target in outline:
            dest = destination(target)
            if dest is None:
                continue
            item = OutlineItem(label, dest[0], "XYZ", top=dest[1])
            parents = parents[:depth]
            (parents[-1].children if parents else tree.root).append(item)
            parents.append(item)
    book.Root.PageMode = Name.UseOutlines
    book.docinfo[Name.Title] = title
    book.docinfo[Name.Producer] = "pressroom (WeasyPrint, qpdf)"
    tmp = out_pdf + f".tmp{os.getpid()}"
    book.save(tmp)
    os.replace(tmp, out_pdf)
    # freeing a 950-page book and its 160 sources takes ~0.2 s: leave it to the child's exit,
    # which the stage does not wait for, instead of making every build wait for it here
    _KEEP[:] = [book, sources]
    return {"pages": len(pages), "unresolved_links": unresolved}


_KEEP: list[Any] = []
