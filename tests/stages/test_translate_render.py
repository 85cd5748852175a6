"""render_html with a translate stage's result: overlay pages, stale/missing fallbacks with a
notice in the reader's language, machine-translated pages marked, one language per run, a
switcher that never links to a missing page, and a cache that notices a page changing state."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from selectolax.lexbor import LexborHTMLParser

from stages.base import StageResult
from stages.context import local_context
from stages.render_html import stage, theme
from stages.render_html.options import Options
from stages.site import urls

SAMPLES = Path(__file__).resolve().parents[2] / "content-samples"
SITE = {"languages": ["en", "es", "de"], "title": "Samples", "base_url": "https://docs.example.org/",
        "edit_url": "https://git.example/edit/{path}"}
ROOT_FILES = {"index.html", "404.html", "robots.txt", "sitemap.xml", "assets"}
MACHINE_PAGE = "---\nmachine_translated: true\ntitle: Installation\n---\n\n# Installation\n\nMaschinell übersetzter Text.\n"
PO_PAGE = "---\nweight: 1\n---\n\n# Seiten schreiben\n\nAus einem PO-Katalog übersetzt.\n"


def source_tree(tmp: Path, extra: dict[str, str] | None = None) -> Path:
    src = tmp / "src"
    if not src.exists():
        shutil.copytree(SAMPLES, src)
    for rel, text in (extra or {}).items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text, encoding="utf-8")
    return src


def translate_result(ws: Path, lang: str, states: dict[str, str], overlay: dict[str, str]) -> StageResult:
    """What the translate stage hands render_html: states per source page and an overlay dir."""
    over = ws / "translate" / lang
    shutil.rmtree(over, ignore_errors=True)
    for rel, text in overlay.items():
        (over / rel).parent.mkdir(parents=True, exist_ok=True)
        (over / rel).write_text(text, encoding="utf-8")
    en = sorted(p.relative_to(SAMPLES / "en").as_posix() for p in (SAMPLES / "en").rglob("*.md"))
    pages = {src: {"state": states.get(src, "missing"), "origin": "none", "path": src} for src in en}
    counts = {s: sum(1 for p in pages.values() if p["state"] == s) for s in ("translated", "stale", "missing", "machine")}
    return StageResult(outputs={"language": lang, "source_language": "en", "overlay_dir": f"translate/{lang}",
                                "source_pages": len(pages), **counts, "completion": 0.0, "pages": pages})


async def render(src: Path, ws: Path, lang: str, result: StageResult | None, *, cache: Path,
                 site: dict[str, Any] | None = None) -> StageResult:
    ctx = local_context(src, ws / "out", workspace=ws, cache_dir=cache, site=SITE if site is None else site, options=Options(),
                        language=lang, previous={"translate": result} if result else {})
    return await stage.run(ctx)


def page(out: Path, rel: str) -> LexborHTMLParser:
    return LexborHTMLParser((out / rel).read_text(encoding="utf-8"))


def notice(doc: LexborHTMLParser) -> tuple[str, str, str, str] | None:
    """(class, lang, dir, text) of the page's translation notice."""
    node = doc.css_first("main p.fallback-note, main p.machine-note")
    if node is None:
        return None
    return (node.attributes.get("class") or "", node.attributes.get("lang") or "", node.attributes.get("dir") or "",
            node.text(strip=True))


def attr(doc: LexborHTMLParser, selector: str, name: str) -> str | None:
    node = doc.css_first(selector)
    assert node is not None, selector
    return node.attributes.get(name)


def main_text(doc: LexborHTMLParser) -> str:
    node = doc.css_first("main")
    assert node is not None
    return node.text(separator=" ")


DE_STATES = {"index.md": "translated", "getting-started/index.md": "translated", "about.md": "stale",
             "getting-started/install.md": "machine", "guide/writing-pages.md": "translated"}
DE_OVERLAY = {"getting-started/install.md": MACHINE_PAGE, "guide/writing-pages.md": PO_PAGE}


async def test_states_render_with_notices_in_the_readers_language(tmp_path: Path) -> None:
    src = source_tree(tmp_path, {"de/nur-deutsch.md": "# Nur auf Deutsch\n\nText.\n"})
    ws = tmp_path / "ws"
    result = await render(src, ws, "de", translate_result(ws, "de", DE_STATES, DE_OVERLAY), cache=tmp_path / "cache")
    out = ws / "out"
    # one language only, plus the shared root
    assert {p.name for p in out.iterdir()} == ROOT_FILES | {"de"}
    assert set(result.outputs["languages"]) == {"de"}
    states = {p["src"]: p["translation"] for p in result.outputs["languages"]["de"]["pages"]}
    assert states["about.md"] == "stale" and states["getting-started/install.md"] == "machine"
    assert states["guide/navigation.md"] == "missing" and states["index.md"] == "translated"
    assert states["guide/writing-pages.md"] == "translated"

    stale = page(out, "de/about/index.html")
    assert notice(stale) == ("fallback-note", "de", "ltr",
                             "Das Original hat sich seit dieser Übersetzung geändert. "
                             "Sie wird in der Originalsprache angezeigt (English).")
    assert attr(stale, "main", "lang") == "en"  # the source text, marked as English
    assert "This site is part of the pressroom repository" in main_text(stale)
    assert "Diese Website gehört" not in main_text(stale)
    assert attr(stale, 'meta[name="pressroom:translation"]', "content") == "stale"

    missing = page(out, "de/guide/navigation/index.html")
    assert notice(missing) == ("fallback-note", "de", "ltr", "Diese Seite ist noch nicht übersetzt. "
                               "Sie wird in der Originalsprache angezeigt (English).")

    machine = page(out, "de/getting-started/install/index.html")
    assert notice(machine) == ("machine-note", "de", "ltr", theme.NOTICES["de"]["machine"])
    assert "Maschinell übersetzter Text." in main_text(machine)
    assert attr(machine, "main", "lang") is None  # German text, the page's own language
    assert machine.css_first("p.edit-link") is None  # nothing in the repository to edit
    assert attr(machine, 'meta[name="pressroom:translation"]', "content") == "machine"

    po = page(out, "de/guide/writing-pages/index.html")
    assert notice(po) is None and "Aus einem PO-Katalog übersetzt." in main_text(po)
    home = page(out, "de/index.html")
    assert notice(home) is None and home.css_first("p.edit-link") is not None

    # notices are the theme's, never the page's words: the search index holds none of them
    index = json.loads((out / "de/search_index.json").read_text(encoding="utf-8"))
    texts = " ".join(p["text"] + " " + p["title"] for p in index["pages"])
    assert "Maschinell übersetzter Text." in texts
    for text in theme.NOTICES["de"].values():
        assert text.split("(")[0] not in texts
    # findings and cache keys name an overlay page as if it were in the language's folder
    assert not any("translate/de" in f.file or str(ws) in f.file for f in result.findings)


async def test_a_committed_machine_translation_stays_marked(tmp_path: Path) -> None:
    """A machine translation someone committed to the language's folder keeps its notice."""
    src = source_tree(tmp_path, {"de/guide/index.md": "---\nmachine_translated: true\n---\n\n# Anleitung\n\nText.\n"})
    ws = tmp_path / "ws"
    states = {**DE_STATES, "guide/index.md": "translated"}
    await render(src, ws, "de", translate_result(ws, "de", states, DE_OVERLAY), cache=tmp_path / "cache")
    assert notice(page(ws / "out", "de/guide/index.html")) == ("machine-note", "de", "ltr", theme.NOTICES["de"]["machine"])
    assert notice(page(ws / "out", "de/index.html")) is None


def alternates(doc: LexborHTMLParser) -> set[str]:
    links = {n.attributes["href"] or "" for n in doc.css('link[rel="alternate"][hreflang]')}
    return links | {n.attributes["href"] or "" for n in doc.css("nav.languages a[hreflang]")}


async def test_switcher_and_hreflang_never_point_to_missing_pages(tmp_path: Path) -> None:
    src = source_tree(tmp_path, {"de/nur-deutsch.md": "# Nur auf Deutsch\n\nText.\n"})
    ws = tmp_path / "ws"
    await render(src, ws, "de", translate_result(ws, "de", DE_STATES, DE_OVERLAY), cache=tmp_path / "cache")
    out = ws / "out"
    en_pages = {p.relative_to(src / "en").with_suffix("").as_posix() for p in (src / "en").rglob("*.md")}
    only = page(out, "de/nur-deutsch/index.html")
    codes = {n.attributes["hreflang"] for n in only.css("[hreflang]")}
    assert codes == {"de"}  # en and es have no such page
    for file in (out / "de").rglob("index.html"):
        doc = page(out, file.relative_to(out).as_posix())
        for href in alternates(doc):
            if href.startswith("https://docs.example.org/"):
                rel = href.removeprefix("https://docs.example.org/")
            else:
                rel = (file.parent / href).resolve().relative_to(out.resolve()).as_posix() + "/"
            lang, _, rest = rel.partition("/")
            rest = rest.rstrip("/")
            name = (rest or "index") if not rest.endswith("index") else rest
            if lang == "de":
                assert (out / rel / "index.html").is_file() or (out / rel).is_file(), (file, href)
            else:  # another language (built in its own job) has exactly the source pages
                assert name in en_pages or f"{name}/index" in en_pages, (file, href)


@pytest.mark.parametrize("lang", ["ar", "he"])
async def test_rtl_languages(tmp_path: Path, lang: str) -> None:
    src = source_tree(tmp_path, {f"{lang}/index.md": "# " + ("مرحبا" if lang == "ar" else "שלום") + "\n\nText.\n"})
    ws = tmp_path / "ws"
    site = {**SITE, "languages": ["en", lang]}
    states = {"index.md": "translated", "about.md": "stale", "getting-started/install.md": "machine"}
    await render(src, ws, lang, translate_result(ws, lang, states, {"getting-started/install.md": MACHINE_PAGE}),
                 cache=tmp_path / "cache", site=site)
    out = ws / "out"
    stale = page(out, f"{lang}/about/index.html")
    assert (attr(stale, "html", "lang"), attr(stale, "html", "dir")) == (lang, "rtl")
    assert attr(stale, "main", "dir") == "ltr"  # the English text lays out left to right
    cls, nlang, ndir, text = notice(stale) or ("", "", "", "")
    assert (cls, nlang, ndir) == ("fallback-note", lang, "rtl") and text.startswith(theme.NOTICES[lang]["stale"])
    _, _, ndir, text = notice(page(out, f"{lang}/guide/index.html")) or ("", "", "", "")
    assert ndir == "rtl" and text.startswith(theme.NOTICES[lang]["missing"])
    assert notice(page(out, f"{lang}/getting-started/install/index.html")) == (
        "machine-note", lang, "rtl", theme.NOTICES[lang]["machine"])


async def test_a_page_changing_state_is_rendered_again(tmp_path: Path, snapshot_of: Any) -> None:
    src = source_tree(tmp_path)
    ws = tmp_path / "ws"
    cache = tmp_path / "cache"
    fresh = {**DE_STATES, "about.md": "translated"}
    first = await render(src, ws, "de", translate_result(ws, "de", fresh, DE_OVERLAY), cache=cache)
    assert notice(page(ws / "out", "de/about/index.html")) is None
    again = await render(src, ws, "de", translate_result(ws, "de", fresh, DE_OVERLAY), cache=cache)
    assert again.counts["rendered"] == 0 and again.counts["assembled"] == 0
    steps: list[tuple[str, dict[str, str], dict[str, str]]] = [
        ("about goes stale", DE_STATES, DE_OVERLAY),
        ("the machine page is dropped", {**DE_STATES, "getting-started/install.md": "missing"},
         {"guide/writing-pages.md": PO_PAGE}),
        ("back to the first state", fresh, DE_OVERLAY),
    ]
    for n, (name, states, overlay) in enumerate(steps):
        inc = await render(src, ws, "de", translate_result(ws, "de", states, overlay), cache=cache)
        assert 0 < inc.counts["rendered"] < inc.counts["pages"], name
        clean_ws = tmp_path / f"clean{n}"
        await render(src, clean_ws, "de", translate_result(clean_ws, "de", states, overlay), cache=tmp_path / f"c{n}")
        assert snapshot_of(ws / "out") == snapshot_of(clean_ws / "out"), name
    stale = await render(src, ws, "de", translate_result(ws, "de", DE_STATES, DE_OVERLAY), cache=cache)
    assert stale.counts["rendered"] >= 1
    got = notice(page(ws / "out", "de/about/index.html"))
    assert got is not None and got[3].startswith(theme.NOTICES["de"]["stale"])
    assert first.counts["pages"] == stale.counts["pages"]


async def test_overlay_pages_are_cached_across_job_workspaces(tmp_path: Path) -> None:
    """Each translate job has its own workspace: the same overlay page in another job's folder
    is the same page to the cache."""
    src = source_tree(tmp_path)
    cache = tmp_path / "cache"
    ws1, ws2 = tmp_path / "jobs" / "a", tmp_path / "jobs" / "b"
    await render(src, ws1, "de", translate_result(ws1, "de", DE_STATES, DE_OVERLAY), cache=cache)
    second = await render(src, ws2, "de", translate_result(ws2, "de", DE_STATES, DE_OVERLAY), cache=cache)
    assert second.counts["rendered"] == 0


def test_notice_strings_cover_the_site_languages() -> None:
    for lang in ("en", "es", "de", "zh", "fr", "pt", "ja", "ru", "ar", "he", "it"):
        texts = theme.NOTICES[lang]
        assert set(texts) == {"missing", "stale", "machine", "original"} and "{language}" in texts["original"]
        assert lang == "en" or texts["missing"] != theme.NOTICES["en"]["missing"]
    assert theme.notice("xx", "missing", "en") == "This page has not been translated yet. It is shown in the original language (English)."
    assert theme.notice("pt-BR", "machine", "en") == theme.NOTICES["pt"]["machine"]
    assert theme.notice("de", "translated", "en") == ""


async def test_machine_pages_end_to_end_through_the_translate_stage(tmp_path: Path) -> None:
    """The real translate stage with a recording provider stub, then render_html: missing and
    stale pages become machine pages, marked, with their code and links intact."""
    from stages.translate import stage as translate_stage
    from stages.translate.options import TranslateOptions
    from tests.stages.translate_stub import Stub, stub_server

    src = source_tree(tmp_path)
    ws = tmp_path / "ws"
    async with stub_server(Stub()) as stub:
        ctx = local_context(src, ws / "out", workspace=ws, site=SITE, language="de",
                            options=TranslateOptions(machine=True, provider=stub.url))
        result = await translate_stage.run(ctx)
    assert result.outputs["machine"] == result.outputs["missing"] + result.outputs["stale"] + result.outputs["machine"] > 0
    for s in stub.received:
        assert not any(bad in s for bad in ("://", "`", "{*", "](", "<", "weight", "hl_lines")), s
    built = await render(src, ws, "de", result, cache=tmp_path / "cache")
    states = {p["src"]: p["translation"] for p in built.outputs["languages"]["de"]["pages"]}
    assert states["guide/code-and-includes.md"] == "machine" and states["index.md"] == "translated"
    code = page(ws / "out", "de/guide/code-and-includes/index.html")
    assert notice(code) == ("machine-note", "de", "ltr", theme.NOTICES["de"]["machine"])
    assert "DE CODE BLOCKS ARE HIGHLIGHTED" in main_text(code)
    assert "example-config.toml" in main_text(code)  # the include still resolved
    overlay = (ws / "translate/de/guide/code-and-includes.md").read_text(encoding="utf-8")
    original = (src / "en/guide/code-and-includes.md").read_text(encoding="utf-8")
    for line in original.splitlines():
        if line.startswith(("```", "{*", "    ", "def ", "print(", "echo ")):
            assert line in overlay.splitlines(), line
    assert notice(page(ws / "out", "de/index.html")) is None


async def test_hugo_tree_with_an_rtl_language(tmp_path: Path) -> None:
    """A Hugo site (content/<lang>/) built for Arabic alone: states from the translate stage,
    notices right to left, the English text left to right, only ar/ published."""
    src = Path(shutil.copytree(SAMPLES.parent / "tests/sites/hugo-rtl", tmp_path / "hugo"))
    ws = tmp_path / "ws"
    over = ws / "translate/ar/distributed-systems"
    over.mkdir(parents=True)
    (over / "replication.md").write_text("---\ntitle: النسخ المتماثل\nmachine_translated: true\n---\n\nنص مترجم آليًا.\n",
                                         encoding="utf-8")
    pages = {"_index.md": "translated", "getting-started.md": "stale", "distributed-systems/consensus.md": "missing",
             "distributed-systems/replication.md": "machine"}
    result = StageResult(outputs={"language": "ar", "source_language": "en", "overlay_dir": "translate/ar",
                                  "pages": {s: {"state": st, "origin": "none", "path": s} for s, st in pages.items()}})
    built = await render(src, ws, "ar", result, cache=tmp_path / "cache", site={})
    out = ws / "out"
    assert "en" not in {p.name for p in out.iterdir()} and (out / "ar").is_dir()
    states = {p["src"]: p["translation"] for p in built.outputs["languages"]["ar"]["pages"]}
    assert {s: states[s] for s in pages} == pages
    stale = page(out, "ar/getting-started/index.html")
    assert (attr(stale, "html", "dir"), attr(stale, "main", "lang"), attr(stale, "main", "dir")) == ("rtl", "en", "ltr")
    got = notice(stale)
    assert got is not None and got[:3] == ("fallback-note", "ar", "rtl") and got[3].startswith(theme.NOTICES["ar"]["stale"])
    machine = page(out, "ar/distributed-systems/replication/index.html")
    assert notice(machine) == ("machine-note", "ar", "rtl", theme.NOTICES["ar"]["machine"])
    assert "نص مترجم آليًا." in main_text(machine) and attr(machine, "main", "dir") is None
    en_pages = {urls.page_url(p.relative_to(src / "content/en").as_posix(), True).rstrip("/")
                for p in (src / "content/en").rglob("*.md")}
    for file in (out / "ar").rglob("index.html"):  # no link to a page the source does not have
        doc = page(out, file.relative_to(out).as_posix())
        for href in alternates(doc):
            rel = href.removeprefix("https://docs.example.org/handbook/") if href.startswith("https://") else \
                (file.parent / href).resolve().relative_to(out.resolve()).as_posix()
            lang, _, rest = rel.partition("/")
            if lang == "ar":
                assert (out / rel / "index.html").is_file() or (out / rel).is_file(), (file, href)
            else:
                assert rest.rstrip("/") in en_pages, (file, href)
