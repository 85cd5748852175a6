"""Work that runs inside the PDF child processes: WeasyPrint calls and the pypdf merge.

Everything here takes and returns plain, picklable data so it can run in a process that the
stage kills when it hangs. WeasyPrint is imported lazily: importing this module must stay cheap
for the daemon.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

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
    css = [weasyprint.CSS(string=css_text, url_fetcher=fetcher)]
    css += [weasyprint.CSS(filename=f, url_fetcher=fetcher) for f in stylesheets]
    doc = weasyprint.HTML(
        string=html_text, base_url=Path(site_dir).as_uri() + "/", url_fetcher=fetcher
    ).render(stylesheets=css)
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
            from urllib.parse import unquote, urlsplit

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

    Runs after every chapter's page count is known: internal links become GoTo actions to the
    absolute page, bookmarks follow ``outline`` (depth, title, anchor) and page numbers are
    stamped in the footer (stamping here, not in CSS, keeps cached chapters valid when an earlier
    chapter gains a page).
    """
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        Fit,
        FloatObject,
        NameObject,
        NullObject,
    )

    writer = PdfWriter()
    anchors: dict[str, tuple[int, float]] = {}
    offset = 0
    for pdf, meta in parts:
        reader = PdfReader(pdf)
        for page in reader.pages:
            writer.add_page(page)
        for name, (index, _x, top) in meta["anchors"].items():
            anchors.setdefault(name, (offset + int(index), float(top)))
        offset += len(reader.pages)

    pages = writer.pages
    heights = [float(p.mediabox.height) for p in pages]

    def destination(target: str) -> tuple[int, float] | None:
        hit = anchors.get(target)
        if hit is None and "--" in target:
            hit = anchors.get(target.split("--", 1)[0])
        if hit is None:
            return None
        index, top = hit
        return index, max(0.0, heights[index] - top + 4)

    unresolved = 0
    for page in pages:
        annots = page.get("/Annots")
        if annots is None:
            continue
        keep = ArrayObject()
        for ref in annots.get_object():
            annot = ref.get_object()
            action = annot.get("/A")
            uri = action.get_object().get("/URI") if action is not None else None
            if not (isinstance(uri, str) and uri.startswith(INTERNAL)):
                keep.append(ref)
                continue
            dest = destination(uri[len(INTERNAL):])
            if dest is None:
                unresolved += 1
                continue
            del annot["/A"]
            annot[NameObject("/Dest")] = ArrayObject(
                [pages[dest[0]].indirect_reference, NameObject("/XYZ"), NullObject(),
                 FloatObject(dest[1]), NullObject()]
            )
            keep.append(ref)
        page[NameObject("/Annots")] = keep

    if stamp_numbers:
        font = writer._add_object(
            DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Font"),
                    NameObject("/Subtype"): NameObject("/Type1"),
                    NameObject("/BaseFont"): NameObject("/Helvetica"),
                }
            )
        )
        push = DecodedStreamObject()
        push.set_data(b"q\n")
        push_ref = writer._add_object(push)
        for index, page in enumerate(pages):
            if index == 0:
                continue  # the cover
            resources = page.get("/Resources")
            res = resources.get_object() if resources is not None else DictionaryObject()
            fonts = res.get("/Font")
            font_dict = fonts.get_object() if fonts is not None else DictionaryObject()
            font_dict[NameObject("/PRNum")] = font
            res[NameObject("/Font")] = font_dict
            page[NameObject("/Resources")] = res
            label = str(index + 1)
            size = 9.0
            width = float(page.mediabox.width)
            x = (width - len(label) * 0.556 * size) / 2
            stamp = DecodedStreamObject()
            stamp.set_data(
                f"Q\nq BT 0.35 0.35 0.35 rg /PRNum {size:g} Tf {x:.2f} 30 Td ({label}) Tj ET Q\n".encode()
            )
            contents = page.get("/Contents")
            existing = contents.get_object() if contents is not None else ArrayObject()
            old = list(existing) if isinstance(existing, ArrayObject) else [contents]
            page[NameObject("/Contents")] = ArrayObject([push_ref, *old, writer._add_object(stamp)])

    parents: list[Any] = []
    for depth, label, target in outline:
        dest = destination(target)
        if dest is None:
            continue
        parents = parents[:depth]
        parent = parents[-1] if parents else None
        item = writer.add_outline_item(
            title=label, page_number=dest[0], parent=parent, fit=Fit.xyz(None, dest[1]),
            is_open=depth < 1,
        )
        parents.append(item)
    writer.add_metadata({"/Title": title, "/Producer": "pressroom (WeasyPrint, pypdf)"})
    writer.page_mode = "/UseOutlines"  # type: ignore[assignment]
    tmp = out_pdf + f".tmp{os.getpid()}"
    with open(tmp, "wb") as fh:
        writer.write(fh)
    os.replace(tmp, out_pdf)
    return {"pages": len(pages), "unresolved_links": unresolved}
