"""PO catalogs of a page: what becomes a message, extract -> translate -> apply, and re-extracting
after the source changed (translations kept, changed ones fuzzy, removed ones obsolete)."""

from __future__ import annotations

from pathlib import Path

import polib
import pytest

from stages.translate import po, segments
from stages.translate.hashes import source_hash
from tests.conftest import CORPUS

PAGE = """---
title: Request Body
description: 'How to send data'
weight: 3
---

# Request Body { #request-body }

When you need to send data from a client
to your API, you send it as a **request body**.

/// note | Good to know

Use `POST` for this.

///

```python
title = "Not a message"
print("code stays as it is")
```

    indented code stays too

{* ../../docs_src/body/tutorial001_py310.py hl[2] *}

--8<-- "snippets/note.md"

<div class="card">
  <p>HTML blocks stay</p>
</div>

* First item
* Second item
    * Nested item

1. Step one
   continues here

| Name | Meaning |
|------|---------|
| `q`  | The query |

!!! warning "Careful"
    Admonition body text.

> Quoted text.

[ref]: https://example.org/ref
"""


def test_messages_are_blocks_and_code_html_includes_are_verbatim() -> None:
    ids = [m for m, _ in segments.msgids(PAGE)]
    assert ids == [
        "Request Body", "How to send data", "When you need to send data from a client\nto your API, you send it as a **request body**.",
        "Good to know", "Use `POST` for this.", "First item", "Second item", "Nested item", "Step one\ncontinues here",
        "| Name | Meaning |", "| `q`  | The query |", "Careful", "Admonition body text.", "Quoted text.",
    ]
    assert not any("code" in m or "HTML" in m or "docs_src" in m or "snippets" in m or "example.org" in m for m in ids)
    assert "\n".join(s.text for s in segments.cut(PAGE)) == PAGE


def test_every_page_of_the_fastapi_corpus_cuts_and_joins_back_exactly() -> None:
    pages = sorted((CORPUS / "docs").rglob("*.md"))
    assert len(pages) > 500
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "\n".join(s.text for s in segments.cut(text)) == text, page.name


def test_extract_translate_apply_round_trip(tmp_path: Path) -> None:
    cat, stats = po.extract(PAGE, "tutorial/body.md", "de")
    assert stats.messages == 14 and stats.kept == stats.fuzzy == stats.obsolete == 0
    assert cat.metadata["X-Source-Hash"] == source_hash(PAGE) and cat.metadata["Language"] == "de"
    assert cat[0].occurrences == [("tutorial/body.md", "2")]
    assert po.apply(cat, PAGE) == PAGE  # nothing translated: the source, byte for byte
    german = {"Request Body": "Anfragekörper", "How to send data": 'Wie man "Daten" sendet',
              "First item": "Erster Punkt", "Nested item": "Verschachtelt",
              "Step one\ncontinues here": "Schritt eins\ngeht hier weiter", "Careful": "Vorsicht",
              "Admonition body text.": "Text im Hinweis.", "| `q`  | The query |": "| `q`  | Die Abfrage |",
              "Good to know": "Gut zu wissen", "Quoted text.": "Zitierter Text."}
    for entry in cat:
        entry.msgstr = german.get(entry.msgid, "")
    path = po.catalog_path(tmp_path, "locales", "de", "tutorial/body.md")
    assert path == tmp_path / "locales/de/tutorial/body.po"
    path.parent.mkdir(parents=True)
    cat.save(str(path))
    out = po.apply(po.load(path), PAGE)
    assert "title: Anfragekörper\n" not in out and 'title: "Anfragekörper"\n' in out
    assert 'description: "Wie man \\"Daten\\" sendet"\n' in out
    assert "# Anfragekörper { #request-body }\n" in out
    assert "* Erster Punkt\n* Second item\n    * Verschachtelt\n" in out
    assert "1. Schritt eins\n   geht hier weiter\n" in out
    assert '!!! warning "Vorsicht"\n    Text im Hinweis.\n' in out
    assert "/// note | Gut zu wissen\n" in out and "> Zitierter Text.\n" in out
    assert "| `q`  | Die Abfrage |\n" in out
    for verbatim in ('title = "Not a message"', "    indented code stays too", "{* ../../docs_src/body/tutorial001_py310.py hl[2] *}",
                     '<div class="card">\n  <p>HTML blocks stay</p>\n</div>', "[ref]: https://example.org/ref"):
        assert verbatim in out
    state, done, total = po.judge(po.load(path), PAGE)
    assert (state, done, total) == ("stale", 10, 14)


def test_reextract_keeps_translations_marks_changed_fuzzy_and_keeps_removed_obsolete() -> None:
    old_text = "# Install\n\nRun the installer and wait until it finishes.\n\nThis paragraph goes away.\n"
    cat, _ = po.extract(old_text, "install.md", "es")
    for entry in cat:
        entry.msgstr = {"Install": "Instalar", "Run the installer and wait until it finishes.": "Ejecuta el instalador y espera.",
                        "This paragraph goes away.": "Este párrafo desaparece."}[entry.msgid]
    assert po.judge(cat, old_text)[0] == "translated"
    new_text = "# Install\n\nRun the installer and wait until it has finished.\n\nA brand new paragraph about nothing alike.\n"
    again, stats = po.extract(new_text, "install.md", "es", existing=cat)
    assert (stats.messages, stats.kept, stats.fuzzy, stats.obsolete) == (3, 1, 1, 1)
    by_id = {e.msgid: e for e in again}
    assert by_id["Install"].msgstr == "Instalar" and not by_id["Install"].fuzzy
    changed = by_id["Run the installer and wait until it has finished."]
    assert changed.fuzzy and changed.msgstr == "Ejecuta el instalador y espera."
    assert changed.previous_msgid == "Run the installer and wait until it finishes."
    assert by_id["A brand new paragraph about nothing alike."].msgstr == ""
    gone = [e for e in again if e.obsolete]
    assert [(e.msgid, e.msgstr) for e in gone] == [("This paragraph goes away.", "Este párrafo desaparece.")]
    assert again.metadata["X-Source-Hash"] == source_hash(new_text)
    assert po.judge(again, new_text) == ("stale", 1, 3)
    applied = po.apply(again, new_text)  # fuzzy translations are not published
    assert applied == "# Instalar\n\nRun the installer and wait until it has finished.\n\nA brand new paragraph about nothing alike.\n"
    reread = polib.pofile(str(again))
    assert [e.msgid for e in reread if e.fuzzy] == ["Run the installer and wait until it has finished."]


def test_a_catalog_with_no_translation_is_missing() -> None:
    cat, _ = po.extract("# T\n\nText.\n", "t.md", "de")
    assert po.judge(cat, "# T\n\nText.\n") == ("missing", 0, 2)


@pytest.mark.parametrize("text", ["", "\n", "```\ncode only\n```\n", "---\nweight: 1\n---\n"])
def test_pages_without_messages(text: str) -> None:
    assert segments.msgids(text) == []
    cat, _ = po.extract(text, "x.md", "de")
    assert po.judge(cat, text)[0] == "translated" and po.apply(cat, text) == text


def test_toml_front_matter_values_are_messages_and_keys_are_not() -> None:
    page = '+++\ntitle = "Install"\nweight = 2\ndescription = \'How to install\'\n+++\n\nText.\n'
    assert [m for m, _ in segments.msgids(page)] == ["Install", "How to install", "Text."]
    out = segments.apply(page, {"Install": 'Instalar "ya"', "How to install": "Cómo instalar"})
    assert out == '+++\ntitle = "Instalar \\"ya\\""\nweight = 2\ndescription = "Cómo instalar"\n+++\n\nText.\n'
