"""Machine translation against a local LibreTranslate stub that records every string it receives:
nothing that must stay (code, URLs, link targets, directives, front matter keys, HTML attributes)
is ever sent, and all of it comes back byte-identical in the translated page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from stages.base import StageError
from stages.translate import machine
from stages.translate.machine_segments import Unit, segment
from tests.stages.translate_stub import Stub, stub_server

SAMPLES = Path(__file__).resolve().parents[2] / "content-samples" / "en"

PAGE = """---
title: "Getting started: the basics"
description: A short tour of the pipeline
weight: 3
tags: [intro, setup]
---

# Install the tool {#install}

Run `pip install pressroom` and open [the guide](../guide/index.md "Guide title") or
see <https://example.org/autolink> and https://bare.example.com/path?x=1 for more.
This second line belongs to the same paragraph.

![A diagram of the flow](img/flow.png){ width="300" }

```python title="hello.py"
def hello(name: str) -> str:
    return f"Hello, {name}!"  # a comment in code
```

    indented code block stays
    exactly as it is

!!! warning "Read this first"
    The server listens on `127.0.0.1:8080` by default.

        nested indented code

!!! note
    A note without a title.

{* ../includes/example-config.toml hl[3] *}

--8<-- "snippets/shared.md"

{% include "partials/footer.html" %}

Version {{ config.version }} is current.

<div class="callout" data-kind="tip"><p>Hello <b title="bold title">reader</b>, welcome.</p></div>

| Option | Meaning |
|--------|---------|
| `port` | Where the server *listens* |
| `a|b`  | A pipe inside code |

- First item with a [reference link][ref]
- Second item: press ++ctrl+c++ to stop :smile:

> Quoted advice that
> spans two lines.

Term
:   Its definition.

Text with a footnote.[^1]

[ref]: https://ref.example.com/target
[^1]: The footnote text.
"""

NEVER = [
    "pip install", "../guide/index.md", "Guide title", "example.org", "bare.example.com", "img/flow.png",
    "width=", "def hello", "a comment in code", "indented code block", "nested indented code", "127.0.0.1",
    "example-config.toml", "{*", "--8<--", "snippets/shared.md", "{%", "partials/footer", "{{", "config.version",
    "class=", "callout", "data-kind", "title=", "bold title", "<", ">", "`", "weight", "tags", "intro",
    "title:", "description:", "|", "ref.example.com", "[ref]", "++ctrl", ":smile:", "!!!", "warning", "{#install}",
    "://", "\n```",
]


async def run(pages: dict[str, str], mode: str = "ok", **kw: Any) -> tuple[dict[str, str], Stub]:
    async with stub_server(Stub(mode=mode)) as stub:
        out = await machine.translate_pages(pages, source="en", target="de", provider=stub.url,
                                            api_key=kw.get("api_key"), timeout=kw.get("timeout", 10))
    return out, stub


def assert_never_sent(received: list[str]) -> None:
    assert received
    for s in received:
        for bad in NEVER:
            assert bad not in s, f"{bad!r} was sent in {s!r}"


def kept_parts(text: str) -> list[str]:
    return [p for p in segment(text) if isinstance(p, str)] + [t for p in segment(text) if isinstance(p, Unit) for t in p.kept()]


def assert_kept(src: str, out: str) -> None:
    """Everything protected in the source appears unchanged in the output."""
    for needle in ['def hello(name: str) -> str:\n    return f"Hello, {name}!"  # a comment in code\n',
                   "    indented code block stays\n    exactly as it is\n", "        nested indented code\n",
                   "`pip install pressroom`", '](../guide/index.md "Guide title")', "<https://example.org/autolink>",
                   "https://bare.example.com/path?x=1", "](img/flow.png){ width=\"300\" }",
                   "{* ../includes/example-config.toml hl[3] *}", '--8<-- "snippets/shared.md"',
                   '{% include "partials/footer.html" %}', "{{ config.version }}", '<div class="callout" data-kind="tip"><p>',
                   '<b title="bold title">', "</b>", "`127.0.0.1:8080`", "| `port` |", "| `a|b`  |", "|--------|---------|",
                   "][ref]", "[ref]: https://ref.example.com/target\n", "++ctrl+c++", ":smile:", "{#install}",
                   '!!! warning "', "!!! note\n", "weight: 3\n", "tags: [intro, setup]\n", "[^1]: ", "```python title=\"hello.py\"\n"]:
        if needle in src:
            assert needle in out, f"{needle!r} lost"


async def test_protected_parts_never_sent_and_kept() -> None:
    out, stub = await run({"intro.md": PAGE})
    assert_never_sent(stub.received)
    page = out["intro.md"]
    assert_kept(PAGE, page)
    front = yaml.safe_load(page.split("---\n")[1])
    assert front["title"] == "DE GETTING STARTED: THE BASICS"
    assert front["description"] == "DE A SHORT TOUR OF THE PIPELINE"
    assert front["weight"] == 3 and front["tags"] == ["intro", "setup"]
    assert "# DE INSTALL THE TOOL {#install}\n" in page
    assert "[DE THE GUIDE](../guide/index.md" in page or "[THE GUIDE](../guide/index.md" in page
    assert '!!! warning "DE READ THIS FIRST"\n' in page
    assert "| DE WHERE THE SERVER *LISTENS* |" in page
    assert "> DE QUOTED ADVICE THAT SPANS TWO LINES.\n" in page  # one sentence, one line
    assert "DE HELLO" in page and "DE THE FOOTNOTE TEXT." in page
    assert all(b["source"] == "en" and b["target"] == "de" and b["format"] == "text" for b in stub.bodies)
    assert all("api_key" not in b for b in stub.bodies)


async def test_placeholders_lost_falls_back_to_bare_text_runs() -> None:
    out, stub = await run({"intro.md": PAGE}, mode="drop_placeholders")
    assert_never_sent(stub.received)
    page = out["intro.md"]
    assert_kept(PAGE, page)
    # the second round sent the runs one by one, without any placeholder
    second = [s for s in stub.received if not re.search(r"\{\d+\}", s)]
    assert {"Run", "and open", "the guide", "or see", "and"} <= set(second)
    assert "DE RUN `pip install pressroom` DE AND OPEN [DE THE GUIDE](../guide/index.md \"Guide title\") DE OR SEE" in page
    assert '<b title="bold title">DE READER</b>' in page


async def test_sample_pages_round_trip_and_api_key_sent() -> None:
    pages = {p.relative_to(SAMPLES).as_posix(): p.read_text(encoding="utf-8") for p in sorted(SAMPLES.rglob("*.md"))}
    out, stub = await run(pages, api_key="s3cret-key")
    assert set(out) == set(pages)
    assert all(b.get("api_key") == "s3cret-key" for b in stub.bodies)
    for s in stub.received:
        assert "://" not in s and "```" not in s and "{*" not in s and "`" not in s and "<" not in s
    for name, src in pages.items():
        for part in kept_parts(src):
            assert part in out[name], f"{name}: {part!r} changed"
    # each distinct string is sent once, and batches respect the size limit
    assert len(stub.received) == len(set(stub.received))
    assert all(len(b["q"]) <= machine.BATCH_STRINGS for b in stub.bodies)


def test_identity_segmentation_is_lossless() -> None:
    for text in [PAGE, *(p.read_text(encoding="utf-8") for p in SAMPLES.rglob("*.md"))]:
        joined = machine._render(segment(text), {})
        if joined != text:  # only multi-line paragraphs are reflowed onto one line
            assert re.sub(r"\s+", " ", joined) == re.sub(r"\s+", " ", re.sub(r"(?<=[^\n])\n *> ?", " ", text))


async def test_provider_500_is_a_stage_error_without_the_key() -> None:
    with pytest.raises(StageError) as exc:
        await run({"a.md": "# Hello\n\nSome words.\n"}, mode="500", api_key="s3cret-key")
    assert exc.value.code == "translation_provider_failed"
    assert "HTTP 500" in str(exc.value) and "internal trouble" in str(exc.value)
    assert "s3cret-key" not in str(exc.value)


async def test_a_busy_provider_is_asked_again() -> None:
    out, stub = await run({"a.md": "# Hello\n\nSome words.\n"}, mode="busy_once")
    assert out["a.md"] == "# DE HELLO\n\nDE SOME WORDS.\n"
    assert len(stub.bodies) == 2 and stub.bodies[0] == stub.bodies[1]


async def test_task_markers_abbreviations_emails_and_comments_stay() -> None:
    page = ("- [x] Done task\n- [ ] Open task\n\n*[HTML]: HyperText Markup Language\n*[CSS]: Cascading Style Sheets\n\n"
            "Write to jo.doe+x@example.com today. {# a jinja comment #} Thanks.\n\n<!-- an HTML comment -->\n")
    out, stub = await run({"a.md": page})
    for s in stub.received:
        for bad in ("[x]", "[ ]", "HyperText", "*[", "example.com", "{#", "comment"):
            assert bad not in s, (bad, s)
    for kept in ("- [x] DE DONE TASK\n", "- [ ] DE OPEN TASK\n", "*[HTML]: HyperText Markup Language\n*[CSS]: Cascading Style Sheets\n",
                 " jo.doe+x@example.com ", "{# a jinja comment #}", "<!-- an HTML comment -->\n"):
        assert kept in out["a.md"], kept


async def test_provider_timeout_is_a_stage_error() -> None:
    with pytest.raises(StageError) as exc:
        await run({"a.md": "# Hello\n\nSome words.\n"}, mode="slow", timeout=0.3)
    assert exc.value.code == "translation_provider_failed"
    assert "did not answer" in str(exc.value)


async def test_wrong_answer_shape_and_unreachable_provider() -> None:
    with pytest.raises(StageError) as exc:
        await run({"a.md": "# Hello\n\nSome words.\n"}, mode="short")
    assert exc.value.code == "translation_provider_failed"
    async with stub_server(Stub()) as stub:
        url = stub.url
    with pytest.raises(StageError) as exc:
        await machine.translate_pages({"a.md": "Words.\n"}, source="en", target="de",
                                      provider=url.replace("http://", "http://user:pw@"), api_key="k3y", timeout=5)
    assert exc.value.code == "translation_provider_failed" and "cannot be reached" in str(exc.value)
    assert "pw@" not in str(exc.value) and "k3y" not in str(exc.value)


async def test_no_provider_configured() -> None:
    with pytest.raises(StageError) as exc:
        await machine.translate_pages({"a.md": "Words.\n"}, source="en", target="de", provider="none",
                                      api_key=None, timeout=5)
    assert exc.value.code == "config_invalid"


def test_placeholder_decode_rules() -> None:
    [unit] = [p for p in segment("Open [the guide](x.md) now.\n") if isinstance(p, Unit)]
    assert machine.encode(unit) == "Open {0}the guide{1} now."
    assert machine.decode(unit, "Öffne {0}den Leitfaden{1} jetzt.") == "Öffne [den Leitfaden](x.md) jetzt."
    assert machine.decode(unit, "Öffne {1}den Leitfaden{0} jetzt.") is None  # brackets out of order
    assert machine.decode(unit, "Öffne {0}den Leitfaden jetzt.") is None
    assert machine.decode(unit, "{0}{0}{1}") is None
    [own] = [p for p in segment("Use {0} as the format.\n") if isinstance(p, Unit)]
    assert machine.encode(own) is None  # the author's own {0} would be taken for ours
