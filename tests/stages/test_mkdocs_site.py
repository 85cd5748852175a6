"""A folder with mkdocs.yml builds the way ``mkdocs build`` builds it, through ``pressroom build``.

The samples under tests/sites/ are MkDocs-shaped: a ``docs_dir`` that is not ``docs``, includes
from beside the docs folder, ``site_url``, ``extra_css``/``extra_javascript``, ``theme.language``,
``not_in_nav``, ``exclude_docs``, mkdocs-macros with ``extra:`` and ``include_yaml``, mermaid.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stages.markdown import includes
from stages.site import roots
from tests.stages.conftest import SITES, pressroom_build


def sample(tmp_path: Path, name: str) -> Path:
    """A copy of a sample inside its own git work tree (``tmp/repo/.git``), as a user has it."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    return Path(shutil.copytree(SITES / name, repo / name))


def render(site: Path, out: Path, cwd: Path) -> str:
    """``pressroom build --stages render_html`` of ``site`` into ``out``; its output on one line."""
    done = pressroom_build(str(site), "--out", str(out), "--stages", "render_html", cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    return " ".join(done.stdout.split())


def code_lines(block: str) -> list[str]:
    code = re.search(r"<code>(.*?)</code>", block, re.S)
    assert code, block
    return html.unescape(re.sub(r"<[^>]+>", "", code.group(1))).rstrip("\n").split("\n")


def test_an_mkdocs_folder_builds_like_mkdocs_build(tmp_path: Path) -> None:
    site = sample(tmp_path, "mkdocs-basic")
    out = tmp_path / "out"
    text = render(site, out, tmp_path)
    index = (out / "en/index.html").read_text()
    # macros: extra variables, a for loop, YAML data; an unknown variable stays as written
    assert 'id="welcome-to-widget">Welcome to Widget ' in index
    assert "Versions: v1.0 v2.0" in index and "Team: Ada; Linus;" in index
    assert "{{ not_a_variable }}" in index
    # {* ../snippets/app.py ln[1,4:5] hl[4] title["demo/app.py"] *}: 3 lines, line 4 highlighted, the title kept
    block = index.split('<div class="code-title">demo/app.py</div>', 1)[1].split("</div>", 1)[0]
    assert code_lines(block) == ["import os", "def main() -> None:", '    print("five")']
    assert re.findall(r'<span class="hll">(.*?)</span>\n?</span>|<span class="hll">(.*?)\n', block)
    assert re.sub(r"<[^>]+>", "", block.split('class="hll">', 1)[1]).startswith("def main")
    assert "include option 'zz[...]' is not supported" in text  # an unknown option is named
    # --8<-- "snippets/app.py" resolves from the mkdocs.yml folder (pymdownx.snippets base_path ".")
    assert ">line seven <" in index and "include-error" not in index  # (as Markdown, as snippets does)
    # site_url, theme.language, extra_css / extra_javascript
    assert '<link rel="canonical" href="https://widget.example.org/docs/en/">' in index
    assert "https://widget.example.org/docs/en/guide/" in (out / "en/sitemap.xml").read_text()
    assert '<html lang="fr"' in index
    assert '<link rel="stylesheet" href="../en/css/extra.css">' in index
    assert '<script src="../en/js/extra.js" defer></script>' in index
    assert (out / "en/css/extra.css").is_file() and (out / "en/js/extra.js").is_file()
    # mermaid: loaded on the page with a diagram, not on the one without
    assert '<pre class="mermaid">' in index and "assets/mermaid/mermaid.min.js" in index
    guide = (out / "en/guide/index.html").read_text()
    assert "mermaid" not in guide and "Widget guide." in guide
    # full URLs of the site's own pages (under site_url) link inside this build, like /x/ links
    assert '<a href="../#welcome-to-widget">' in guide and '<a href="../hidden/">' in guide
    assert '<a href="./">link in raw HTML</a>' in guide
    assert 'href="https://widget.example.org/docs/search/?q=x"' in guide  # a query asks the live server
    assert 'href="https://example.com/docs/"' in guide
    assert 'href="https://widget.example.org/docs/zh/guide/"' in guide  # a language this build lacks
    assert (out / "assets/mermaid/mermaid.min.js").stat().st_size > 1_000_000
    # exclude_docs: not built, not copied; not_in_nav: built, left out of the nav
    assert not (out / "en/drafts").exists()
    assert (out / "en/hidden/index.html").is_file()
    nav = index.split('id="sidebar"', 1)[1].split("</nav>", 1)[0]
    assert "Guide" in nav and "Hidden page" not in nav
    # a plugin pressroom lacks is named; the ones it provides are not
    assert "plugin 'git-committers' is not supported" in text
    assert "hooks are not run by pressroom (hooks.py)" in text  # hooks.py would exit the build
    assert "plugin 'macros'" not in text and "plugin 'search'" not in text


def test_macros_stay_untouched_without_the_plugin_and_mkdocstrings_is_named(tmp_path: Path) -> None:
    site = sample(tmp_path, "mkdocs-nomacros")
    out = tmp_path / "out"
    text = render(site, out, tmp_path)
    index = (out / "en/index.html").read_text()
    assert "Version {{ version }} stays as written." in index
    assert "template shortcode '{{ version }}'" in text
    assert "mkdocstrings directive ':::" in text


def test_hostile_macros_are_sandboxed(tmp_path: Path) -> None:
    site = sample(tmp_path, "mkdocs-basic")
    (site / "content/index.md").write_text(
        "# Evil\n\n{{ ''.__class__.__mro__[1].__subclasses__() }}\n\n{% for i in range(10**9) %}xxxxxx{% endfor %}\n")
    out = tmp_path / "out"
    text = render(site, out, tmp_path)
    assert "macro-error" in text and "page left as written" in text
    page = (out / "en/index.html").read_text()
    assert "mro" in page and "subclasses" in page and "xxxxxxxxxxxx" not in page  # left as written, not expanded


def test_nothing_outside_the_root_is_read(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    (outer / "secret.txt").parent.mkdir(parents=True)
    (outer / "secret.txt").write_text("TOP-SECRET\n")
    repo = outer / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "mkdocs.yml").write_text("site_name: Root test\n")
    (repo / "docs").mkdir()
    os.symlink(outer / "secret.txt", repo / "docs" / "link.txt")
    (repo / "docs/index.md").write_text(
        "# Root\n\n{* ../secret.txt *}\n\n--8<-- \"docs/link.txt\"\n\n{!../../secret.txt!}\n")
    out = tmp_path / "out"
    done = pressroom_build(str(repo), "--out", str(out), "--stages", "render_html", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    page = (out / "en/index.html").read_text()
    assert "TOP-SECRET" not in page and page.count("include failed") == 3
    assert " ".join(done.stdout.split()).count("include-outside") == 3
    # the same tree with --root naming the folder that holds the file: now it is the site's own
    out2 = tmp_path / "out2"
    wider = pressroom_build(str(repo), "--out", str(out2), "--stages", "render_html", "--root", str(outer), cwd=tmp_path)
    assert wider.returncode == 0, wider.stdout + wider.stderr
    assert "include failed" not in (out2 / "en/index.html").read_text()
    assert (out2 / "en/index.html").read_text().count("TOP-SECRET") >= 3


async def test_the_daemon_root_is_the_submission(runner: object, tmp_path: Path) -> None:
    """The stage with no include root (a daemon job) reads only inside its source."""
    (tmp_path / "secret.txt").write_text("TOP-SECRET\n")
    src = tmp_path / "submission"
    (src / "docs").mkdir(parents=True)
    (src / "mkdocs.yml").write_text("site_name: S\n")
    (src / "docs/index.md").write_text("# S\n\n{* ../secret.txt *}\n\n{* docs/index.md *}\n")
    result = await runner.render(src)  # type: ignore[attr-defined]
    assert "TOP-SECRET" not in (tmp_path / "out/en/index.html").read_text()
    assert [f.rule for f in result.findings if f.rule.startswith("include")] == ["include-outside"]


def test_line_ranges() -> None:
    assert includes._ranges("6,19:20") == [(6, 6), (19, 20)]
    assert includes._ranges("5:10 16, :2, 30:") == [(5, 10), (16, 16), (1, 2), (30, 10**9)]
    assert includes._ranges("x,,") == []


def test_default_root_is_the_git_work_tree_else_the_current_folder(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "docs/en").mkdir(parents=True)
    assert roots.default_root(repo / "docs/en", tmp_path) == repo
    plain = tmp_path / "plain/docs"
    plain.mkdir(parents=True)
    assert roots.default_root(plain, tmp_path) == tmp_path
    assert roots.default_root(plain, repo) == plain  # a cwd that does not hold the source: the source only


@pytest.mark.slow
def test_the_fastapi_corpus_from_its_mkdocs_folder(tmp_path: Path) -> None:
    corpus = (Path(__file__).resolve().parents[3] / "shared/corpus/fastapi-docs").resolve()
    if not corpus.is_dir():
        pytest.fail(f"the FastAPI corpus is missing at {corpus}")
    out = tmp_path / "out"
    cfg = tmp_path / "pressroom-test.toml"
    cfg.write_text(f'data_dir = "{tmp_path / ".pressroom"}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSROOM_")}
    # run from the corpus root, where a user runs it: the include root is the current folder
    done = subprocess.run([sys.executable, "-m", "pipeline", "--config", str(cfg), "build", "docs/en", "--out", str(out),
                           "--stages", "render_html"], capture_output=True, text=True, cwd=corpus, env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    pages = {p: p.read_text() for p in (out / "en").rglob("*.html")}
    failed = sorted({m for h in pages.values() for m in re.findall(r"include failed: <code>([^<]+)</code>", h)})
    # the one include the corpus lacks: FastAPI's own source, not part of the docs corpus
    assert failed == ["../../fastapi/openapi/docs.py"]
    assert not (corpus / "fastapi/openapi/docs.py").exists()
    titles = re.findall(r'<div class="code-title">(app/[^<]+)</div>', "".join(pages.values()))
    assert len(titles) == 13
    stream = pages[out / "en/advanced/stream-data/index.html"]
    blocks = re.findall(r'<div class="code-block"[^>]*>.*?</code></pre></div>', stream, re.S)
    # {* ../../docs_src/stream_data/tutorial002_py310.py ln[6,19:20] hl[20] *}
    three = ["from fastapi.responses import StreamingResponse",
             "class PNGStreamingResponse(StreamingResponse):", '    media_type = "image/png"']
    shown = [b for b in blocks if code_lines(b) == three]
    assert len(shown) == 1 and shown[0].count('class="hll"') == 1  # hl[20]: the file's line 20, shown third
    assert "media_type" in shown[0].split('class="hll"', 1)[1].split("\n", 1)[0]
    with_mermaid = [p for p, h in pages.items() if '<pre class="mermaid">' in h]
    assert len(with_mermaid) >= 8 and all("assets/mermaid/mermaid.min.js" in pages[p] for p in with_mermaid)
    assert all("mermaid.min.js" not in h for p, h in pages.items() if p not in with_mermaid)
    assert '<link rel="canonical" href="https://fastapi.tiangolo.com/en/">' in pages[out / "en/index.html"]
    # its 300 links to its own pages by full URL (site_url) point inside the build, in Markdown and raw HTML
    home = pages[out / "en/index.html"]
    assert 'href="https://fastapi.tiangolo.com/tutorial/"' not in home
    assert re.findall(r'<a href="((?:\.\./en/)?tutorial/)">Tutorial - User Guide</a>', home)


def test_use_directory_urls_false_builds_html_files(tmp_path: Path) -> None:
    site = sample(tmp_path, "mkdocs-basic")
    (site / "mkdocs.yml").write_text((site / "mkdocs.yml").read_text() + "use_directory_urls: false\n")
    out = tmp_path / "out"
    render(site, out, tmp_path)
    assert (out / "en/guide.html").is_file() and not (out / "en/guide/index.html").exists()
    index = (out / "en/index.html").read_text()
    assert 'href="guide.html"' in index and 'href="guide/"' not in index  # the nav links the .html pages
    assert (out / "en/hidden.html").is_file()


def test_lint_resolves_links_as_the_render_does(tmp_path: Path) -> None:
    """site_url's path (/docs/) starts root-absolute links in lint too, and the files every build
    writes (sitemap.xml, robots.txt) are there to link to; a missing image still is not."""
    site = sample(tmp_path, "mkdocs-basic")
    guide = site / "content/guide.md"
    guide.write_text(guide.read_text() + "\n[Sitemap](/docs/sitemap.xml), [robots](https://widget.example.org/docs/robots.txt), "
                     "![gone](/docs/img/nothing.png)\n")
    done = pressroom_build(str(site), "--out", str(tmp_path / "out"), "--stages", "lint,render_html", cwd=tmp_path)
    text = " ".join(done.stdout.split())
    assert done.returncode == 1, text  # lint failed: one missing image
    assert "img/nothing.png" in text and "sitemap.xml, which" not in text and "robots.txt, which" not in text
    assert "lint found 1 errors" in text, text


def test_inherit_merges_the_parent_config_inside_the_root(tmp_path: Path) -> None:
    """``INHERIT: ../en/mkdocs.yml``: how a translated MkDocs site shares its config (FastAPI's
    docs/<lang>/mkdocs.yml do). Tables merge key by key, other values are replaced; the parent
    must lie inside the root, so a submitted config cannot make pressroom read outside it."""
    from stages.base import StageError
    from stages.site.siteconfig import load_mkdocs_yml

    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "docs/en/docs").mkdir(parents=True)
    (repo / "docs/es/docs").mkdir(parents=True)
    (repo / "docs/en/mkdocs.yml").write_text("site_name: Widget\nsite_url: https://w.example/\nextra: {a: 1, b: 2}\n"
                                             "markdown_extensions:\n  - pymdownx.tabbed\n")
    (repo / "docs/es/mkdocs.yml").write_text("INHERIT: ../en/mkdocs.yml\nsite_name: Widget ES\nextra: {b: 3}\n")
    (repo / "docs/es/docs/index.md").write_text('# Hola\n\n=== "uno"\n\n    primero\n')
    conf = load_mkdocs_yml(repo / "docs/es/mkdocs.yml", repo)
    assert conf["site_name"] == "Widget ES" and conf["site_url"] == "https://w.example/" and conf["extra"] == {"a": 1, "b": 3}
    out = tmp_path / "out"
    render(repo / "docs/es", out, tmp_path)
    home = next(out.glob("*/index.html")).read_text()
    assert '<div class="tab-label">uno</div>' in home and "Widget ES" in home  # the parent's extension, the child's name
    (repo / "docs/es/mkdocs.yml").write_text("INHERIT: ../../../outside.yml\n")
    (tmp_path / "outside.yml").write_text("site_name: stolen\n")
    with pytest.raises(StageError, match="INHERIT '../../../outside.yml' leads outside the source folder"):
        load_mkdocs_yml(repo / "docs/es/mkdocs.yml", repo)
    (repo / "docs/es/mkdocs.yml").write_text("INHERIT: mkdocs.yml\n")
    with pytest.raises(StageError, match="inherits itself"):
        load_mkdocs_yml(repo / "docs/es/mkdocs.yml", repo)
    for i in range(20):  # a chain of 20 configs, each inheriting the next
        (repo / f"c{i}.yml").write_text(f"INHERIT: c{i + 1}.yml\n")
    (repo / "c20.yml").write_text("site_name: deep\n")
    with pytest.raises(StageError, match="is more than 8 configs deep"):
        load_mkdocs_yml(repo / "c0.yml", repo)
