"""render_html: the built site's contract, incremental builds and bad input."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from stages.base import StageError
from stages.context import process_pool

SAMPLES = Path(__file__).resolve().parents[2] / "content-samples"
SAMPLE_SITE = {"languages": ["en", "es", "de"], "title": "Pressroom sample docs",
               "base_url": "https://docs.example.org/", "edit_url": "https://git.example/edit/{path}"}


async def test_content_samples_build_in_a_process_pool(runner: Any, tmp_path: Path) -> None:
    progress: list[float] = []
    with process_pool(2) as pool:
        runner.executor = pool
        from stages.context import local_context
        from stages.render_html import stage
        from stages.render_html.options import Options

        ctx = local_context(SAMPLES, tmp_path / "out", cache_dir=runner.cache, site=SAMPLE_SITE, options=Options(),
                            executor=pool, progress=lambda p, m: progress.append(p))
        result = await stage.run(ctx)
        first_progress = list(progress)
        # a second build with the same (already forked) pool must not wait on a lock the
        # workers inherited from the first one
        again = await stage.run(ctx)
    assert again.counts["rendered"] == 0
    assert result.status == "passed" and result.findings == []
    assert first_progress == sorted(first_progress) and first_progress[-1] == 100
    out = tmp_path / "out"
    langs = result.outputs["languages"]
    assert set(langs) == {"en", "es", "de"} and result.outputs["site_dir"] == "out"
    assert result.artifacts == {"site": "out"}
    en = langs["en"]["pages"]
    assert en[0] == {"src": "index.md", "file": "en/index.html", "url": "en/", "title": "Pressroom sample docs",
                     "level": 0, "section": [], "hash": en[0]["hash"], "fallback": False}
    assert [p["src"] for p in en][:4] == ["index.md", "getting-started/index.md", "getting-started/install.md",
                                         "getting-started/first-build.md"]
    install = next(p for p in en if p["src"] == "getting-started/install.md")
    assert install["file"] == "en/getting-started/install/index.html" and install["section"] == ["Getting started"]
    es = {p["src"]: p for p in langs["es"]["pages"]}
    assert es["guide/navigation.md"]["fallback"] and not es["getting-started/install.md"]["fallback"]
    for name in ("index.html", "404.html", "sitemap.xml", "robots.txt", "assets/style.css", "assets/site.js",
                 "en/search_index.json", "en/img/logo.svg", "de/img/pipeline.png", "es/sitemap.xml"):
        assert (out / name).is_file(), name
    assert result.counts["pages"] == 39 and result.counts["rendered"] == 39

    html = (out / "es/guide/navigation/index.html").read_text()
    assert len(re.findall(r"<main id=\"content\"[ >]", html)) == 1 and html.count("</main>") == 1
    assert '<main id="content" lang="en" dir="ltr">' in html  # fallback content is English
    main = html[html.index('<main id="content"'):html.index("</main>")]
    assert '<h1 id="navigation">Navigation' in main
    assert '<html lang="es" dir="ltr">' in html
    assert re.search(r'<meta name="generator" content="pressroom \d+\.\d+">', html)
    assert '<link rel="canonical" href="https://docs.example.org/es/guide/navigation/">' in html
    assert 'class="fallback-note"' in html and 'href="https://git.example/edit/en/guide/navigation.md"' in html
    assert 'aria-current="page" href="../../../es/guide/navigation/"' in html
    assert 'rel="prev"' in html and 'rel="next"' in html and 'hreflang="de"' in html
    assert 'href="../writing-pages/#front-matter"' in html
    about = (out / "en/about/index.html").read_text()
    assert "<h1>About this site</h1>" in about and '<time datetime="2026-11-01">' in about
    home = (out / "en/index.html").read_text()
    assert '<meta name="description" content="A small documentation site used to test the pressroom build pipeline.">' in home
    install_html = (out / "en/getting-started/install/index.html").read_text()
    assert '<meta name="description" content="Install pressroom into a virtual environment.">' in install_html
    code = (out / "en/guide/code-and-includes/index.html").read_text()
    assert "example-config.toml" in code and 'class="hll"' in code
    index = json.loads((out / "en/search_index.json").read_text())
    assert index["lang"] == "en" and {p["url"] for p in index["pages"]} >= {"en/", "en/guide/navigation/"}
    assert "<loc>https://docs.example.org/en/guide/</loc>" in (out / "en/sitemap.xml").read_text()
    assert "https://docs.example.org/de/sitemap.xml" in (out / "sitemap.xml").read_text()
    assert 'url=en/' in (out / "index.html").read_text()
    assert "Sitemap: https://docs.example.org/sitemap.xml" in (out / "robots.txt").read_text()


async def test_no_change_rebuild_renders_and_writes_nothing(runner: Any, tmp_path: Path) -> None:
    first = await runner.render(SAMPLES, site=SAMPLE_SITE)
    out = tmp_path / "out"
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    second = await runner.render(SAMPLES, site=SAMPLE_SITE)
    assert second.counts["rendered"] == 0 and second.counts["assembled"] == 0 and second.counts["skipped"] == 39
    assert all(not lang["changed"] for lang in second.outputs["languages"].values())
    after = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert second.outputs["languages"]["en"]["pages"] == first.outputs["languages"]["en"]["pages"]


async def test_new_output_folder_is_filled_from_the_cache(runner: Any, tmp_path: Path, snapshot_of: Any) -> None:
    await runner.render(SAMPLES, tmp_path / "job1" / "out", site=SAMPLE_SITE)
    second = await runner.render(SAMPLES, tmp_path / "job2" / "out", site=SAMPLE_SITE)
    assert second.counts["rendered"] == 0 and second.counts["assembled"] == 0
    assert snapshot_of(tmp_path / "job2" / "out") == snapshot_of(tmp_path / "job1" / "out")


def _site(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    shutil.copytree(SAMPLES, src)
    return src


async def test_one_page_change_renders_that_page_and_its_dependents(runner: Any, tmp_path: Path) -> None:
    src = _site(tmp_path)
    site = {"languages": ["en"]}
    await runner.render(src, site=site)
    page = src / "en/guide/navigation.md"
    page.write_text(page.read_text() + "\nOne more paragraph.\n")
    r = await runner.render(src, site=site)
    assert (r.counts["rendered"], r.counts["assembled"]) == (1, 1)
    assert r.outputs["languages"]["en"]["changed"] == ["en/guide/navigation/index.html"]

    page.write_text(page.read_text().replace("# Navigation", "# Finding your way"))
    r = await runner.render(src, site=site)
    assert r.counts["rendered"] == 1 and r.counts["assembled"] == 13  # the nav title is on every page
    assert "Finding your way" in (tmp_path / "out/en/guide/writing-pages/index.html").read_text()

    inc = src / "includes/example-config.toml"
    inc.write_text(inc.read_text() + 'base_url = "https://x"\n')
    r = await runner.render(src, site=site)
    assert (r.counts["rendered"], r.counts["assembled"]) == (1, 1)
    assert "https://x" in (tmp_path / "out/en/guide/code-and-includes/index.html").read_text()


async def test_incremental_output_is_byte_identical_to_a_clean_build(runner: Any, tmp_path: Path, write_tree: Any, snapshot_of: Any) -> None:
    src = _site(tmp_path)
    out = tmp_path / "out"
    site = {"languages": ["en", "es", "de"]}

    def edit_body() -> None:
        p = src / "en/reference/cli.md"
        p.write_text(p.read_text() + "\nAnother line.\n")

    def rename() -> None:
        (src / "en/guide/navigation.md").rename(src / "en/guide/nav.md")
        p = src / "en/guide/writing-pages.md"
        p.write_text(p.read_text())

    def delete() -> None:
        (src / "es/getting-started/install.md").unlink()
        (src / "de/about.md").unlink()

    def retitle_and_image() -> None:
        p = src / "en/guide/index.md"
        p.write_text(p.read_text().replace("# User guide", "# Handbook"))
        (src / "en/img/logo.svg").write_text((src / "en/img/logo.svg").read_text().replace("#0b6bcb", "#222"))
        (src / "en/img/pipeline.png").unlink()

    def add_page_and_include_change() -> None:
        write_tree(src, {"en/guide/new.md": "---\nweight: 0\n---\n\n# Brand new\n\nSee [cli](../reference/cli.md).\n"})
        inc = src / "includes/example-config.toml"
        inc.write_text(inc.read_text().replace("Pressroom", "Press"))

    await runner.render(src, out, site=site)
    for step, change in enumerate([edit_body, rename, delete, retitle_and_image, add_page_and_include_change]):
        change()
        inc = await runner.render(src, out, site=site)
        assert inc.counts["rendered"] < inc.counts["pages"], change.__name__
        clean = await runner.render(src, tmp_path / f"clean{step}", site=site, cache=tmp_path / f"cache{step}")
        assert snapshot_of(out) == snapshot_of(tmp_path / f"clean{step}"), change.__name__
        for lang in site["languages"]:
            assert inc.outputs["languages"][lang]["pages"] == clean.outputs["languages"][lang]["pages"]
    assert not (out / "en/guide/navigation").exists() and (out / "en/guide/nav/index.html").is_file()
    assert "fallback-note" in (out / "es/getting-started/install/index.html").read_text()
    assert not (out / "en/img/pipeline.png").exists()


async def test_bad_input_becomes_findings_not_tracebacks(runner: Any, tmp_path: Path, write_tree: Any) -> None:
    src = write_tree(tmp_path / "src", {
        "en/index.md": "# Home\n\n{* ../../outside.py *}\n\n--8<-- \"loop.md\"\n",
        "en/loop.md": "# Loop\n\n--8<-- \"loop.md\"\n",
        "en/latin1.md": "# Caf\xe9\n".encode("latin-1"),
        "en/list.md": "---\n- not\n- a map\n---\n\n# List\n",
        "en/big.md": "# Big\n\n" + "x " * 1_100_000,
        "en/headings.md": "".join(f"## H{i}\n\n" for i in range(10_000)),
    })
    write_tree(tmp_path, {"outside.py": "print()\n"})
    r = await runner.render(src, site={"nav": ["index.md", "loop.md", "gone.md", "latin1.md", "list.md", "big.md",
                                               "headings.md"]})
    assert r.status == "passed"
    got = {(f.file, f.rule) for f in r.findings}
    assert got >= {("en/index.md", "include-outside"), ("en/loop.md", "include-cycle"), ("en/latin1.md", "bad-encoding"),
                   ("en/list.md", "bad-front-matter"), ("en/big.md", "page-too-large"), ("config.toml", "nav-missing"),
                   ("en/headings.md", "no-title")}
    assert all(f.line for f in r.findings if f.rule.startswith("include"))
    assert (tmp_path / "out/en/big/index.html").is_file() and (tmp_path / "out/en/headings/index.html").is_file()


async def test_aliases_and_drafts(runner: Any, tmp_path: Path, write_tree: Any) -> None:
    src = write_tree(tmp_path / "src", {
        "en/index.md": "# Home\n",
        "en/new.md": "---\naliases: [old/page/, legacy.md, index.md]\n---\n\n# New\n",
        "en/wip.md": "---\ndraft: true\n---\n\n# Work in progress\n",
    })
    r = await runner.render(src)
    old = (tmp_path / "out/en/old/page/index.html").read_text()
    assert 'content="0; url=../../new/"' in old and 'rel="canonical" href="http://127.0.0.1:8081/sites/staging/en/new/"' in old
    assert (tmp_path / "out/en/legacy/index.html").is_file()
    assert [(f.rule, f.file) for f in r.findings] == [("bad-alias", "en/new.md")]
    assert '<meta name="robots" content="noindex">' in (tmp_path / "out/en/wip/index.html").read_text()
    assert "wip" not in (tmp_path / "out/en/sitemap.xml").read_text()
    assert "wip" not in (tmp_path / "out/en/search_index.json").read_text()
    (src / "en/new.md").write_text("# New\n")
    await runner.render(src)
    assert not (tmp_path / "out/en/old").exists()


async def test_cancelled_build_releases_the_cache(runner: Any, tmp_path: Path, write_tree: Any) -> None:
    from stages.base import Cancelled
    from stages.context import local_context
    from stages.render_html import stage
    from stages.render_html.options import Options

    src = write_tree(tmp_path / "src", {"en/index.md": "# Home\n", "en/a.md": "# A\n"})
    calls = iter([False])  # the second check (after the first pages are rendered) cancels
    ctx = local_context(src, tmp_path / "out", cache_dir=runner.cache, options=Options(),
                        should_cancel=lambda: next(calls, True))
    with pytest.raises(Cancelled):
        await stage.run(ctx)
    r = await runner.render(src)
    assert r.counts["pages"] == 2 and (tmp_path / "out/en/a/index.html").is_file()


async def test_empty_site_is_a_stage_error(runner: Any, tmp_path: Path) -> None:
    (tmp_path / "src/en").mkdir(parents=True)
    with pytest.raises(StageError, match="no markdown pages") as err:
        await runner.render(tmp_path / "src")
    assert err.value.code == "empty_site"


async def test_right_to_left_languages_and_one_language_builds(runner: Any, tmp_path: Path, write_tree: Any) -> None:
    src = write_tree(tmp_path / "src", {"en/index.md": "# Home\n", "ar/index.md": "# الصفحة\n"})
    r = await runner.render(src, site={"languages": ["en", "ar"]}, language="ar")
    assert set(r.outputs["languages"]) == {"ar"}
    assert '<html lang="ar" dir="rtl">' in (tmp_path / "out/ar/index.html").read_text()


async def test_theme_override_and_plain_urls(runner: Any, tmp_path: Path, write_tree: Any) -> None:
    src = write_tree(tmp_path / "src", {
        "en/index.md": "# Home\n\n[b](sub/b.md)\n", "en/sub/b.md": "# B\n",
        "theme/page.html": '<html lang="{{ lang }}"><main id="content">CUSTOM {{ content }}</main></html>\n',
        "theme/assets/extra.css": "body{}\n",
    })
    r = await runner.render(src, site={"pretty_urls": False})
    assert [p["file"] for p in r.outputs["languages"]["en"]["pages"]] == ["en/index.html", "en/sub/b.html"]
    home = (tmp_path / "out/en/index.html").read_text()
    assert "CUSTOM" in home and 'href="sub/b.html"' in home
    assert (tmp_path / "out/assets/extra.css").is_file() and (tmp_path / "out/assets/style.css").is_file()


async def test_mkdocs_layout_uses_its_nav(runner: Any, tmp_path: Path, write_tree: Any) -> None:
    src = write_tree(tmp_path / "src", {
        "docs/en/mkdocs.yml": "site_name: X\nnav:\n  - Start: index.md\n  - '':\n    - part/index.md\n    - part/b.md\n",
        "docs/en/docs/index.md": "# Start page\n", "docs/en/docs/part/index.md": "# Part\n",
        "docs/en/docs/part/b.md": "# Bee\n\n{* ../../docs_src/x.py *}\n", "docs/en/docs/orphan.md": "# Orphan\n",
        "docs_src/x.py": "x = 1\n",
    })
    r = await runner.render(src, site={"languages": ["en"]})
    pages = r.outputs["languages"]["en"]["pages"]
    assert [(p["src"], p["level"], p["section"]) for p in pages] == [
        ("index.md", 0, []), ("part/index.md", 1, ["Part"]), ("part/b.md", 1, ["Part"]), ("orphan.md", 0, [])]
    assert r.findings == []
    b = (tmp_path / "out/en/part/b/index.html").read_text()
    assert 'data-lang="python"' in b and "<title>Bee - X</title>" in b
