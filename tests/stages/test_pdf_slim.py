"""Code spans no print stylesheet can style are unwrapped before WeasyPrint, and only those.

A chapter with and without them must lay out the same: same pages, same anchor positions, same text.
"""

from __future__ import annotations

from pathlib import Path

import pypdf

from stages.render_pdf import child, slim

CODE = ('<pre><code><span id="l1"><span class="kn">from</span><span class="w"> </span>'
        '<span class="n">app</span><span class="p">.</span><span class="n">main</span>\n</span></code></pre>')
LIGHT = ".highlight .kn { color: #008000 }\n.highlight .w { color: #bbb }\n"
DARK = "[data-theme=dark] .highlight .n { color: #f8f8f2 }\n[data-theme=dark] .highlight .p { color: #f8f8f2 }\n"


def sheets(tmp_path: Path, css: str) -> list[str]:
    path = tmp_path / f"s{abs(hash(css))}.css"
    path.write_text(css)
    return [path.as_posix()]


def test_unstyled_classes_are_unwrapped_styled_ones_and_ids_stay(tmp_path: Path) -> None:
    out = slim.unwrap_code_spans(CODE, sheets(tmp_path, LIGHT + DARK), "@page { size: A4; }")
    assert '<span class="n">' not in out and '<span class="p">' not in out
    assert "app.main" in out and '<span class="kn">from</span>' in out and '<span class="w"> </span>' in out
    assert '<span id="l1">' in out


def test_the_dark_theme_counts_when_the_chapter_has_a_data_theme(tmp_path: Path) -> None:
    chapter = f'<div data-theme="dark">{CODE}</div>'
    assert slim.unwrap_code_spans(chapter, sheets(tmp_path, LIGHT + DARK), "") == chapter


def test_a_selector_that_could_match_any_span_turns_it_off(tmp_path: Path) -> None:
    for css in (".highlight span { color: red }", "code > * { color: red }", ".kn + .w { color: red }",
                "span:first-child { color: red }", "[class^=n] { color: red }", "code :not(.kn) { color: red }"):
        assert slim.unwrap_code_spans(CODE, sheets(tmp_path, LIGHT + css), "") == CODE, css
    assert slim.unwrap_code_spans(CODE, sheets(tmp_path, LIGHT + "span.linenos { color: red }"), "") != CODE
    media = LIGHT + "@media print { .highlight .n { color: red } }"
    assert '<span class="n">' in slim.unwrap_code_spans(CODE, sheets(tmp_path, media), "")


def test_the_same_layout_with_and_without_the_spans(tmp_path: Path) -> None:
    css = sheets(tmp_path, LIGHT + DARK)
    body = "".join(f'<h2 id="h{i}">Part {i}</h2>{CODE * 30}<p>Text {i}.</p>' for i in range(6))
    page = f'<!doctype html><html><head><meta charset="utf-8"></head><body>{body}</body></html>'
    slimmed = slim.unwrap_code_spans(page, css, "")
    assert slimmed.count("<span") < page.count("<span")
    a = child.render_document(page, css, "@page { size: A6; }", str(tmp_path), str(tmp_path / "a.pdf"))
    b = child.render_document(slimmed, css, "@page { size: A6; }", str(tmp_path), str(tmp_path / "b.pdf"))
    assert a["pages"] == b["pages"] > 1 and a["sizes"] == b["sizes"] and a["anchors"] == b["anchors"]
    text = [[p.extract_text().split() for p in pypdf.PdfReader(tmp_path / f).pages] for f in ("a.pdf", "b.pdf")]
    assert text[0] == text[1]
