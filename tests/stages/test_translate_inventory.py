"""Where each language stands, on trees shaped like real sites: content-samples, the FastAPI
docs (MkDocs, docs/<lang>/docs), a Hugo site with an RTL language, mkdocs-static-i18n layouts,
PO catalogs and git history."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from stages.site.gitdates import collect
from stages.site.layout import discover, site_languages
from stages.site.options import SiteOptions
from stages.translate import inventory, po
from stages.translate.hashes import source_hash
from tests.conftest import CORPUS, SAMPLES, make_tree
from tests.stages.conftest import SITES


def test_source_hash_ignores_line_endings_and_trailing_blanks() -> None:
    assert source_hash("# T  \r\nbody\t\r\n") == source_hash("# T\nbody\n")
    assert source_hash("# T\nbody\n") != source_hash("# T\nbody changed\n")
    assert len(source_hash("x")) == 16


def test_content_samples_languages_and_the_stale_german_page() -> None:
    assert site_languages(SAMPLES, SiteOptions()) == ("en", ["en", "de", "es"])
    de = inventory.take(SAMPLES, SiteOptions(), "de")
    assert de.source_language == "en"
    about = de.pages["about.md"]
    assert (about.state, about.origin, about.path) == ("stale", "folder", "de/about.md")
    assert "15dfd049b557efb6" in about.reason
    assert de.counts() == {"source_pages": 13, "translated": 2, "stale": 1, "missing": 10, "machine": 0}
    assert de.completion == 15.4
    assert de.pages["index.md"].state == "translated"
    assert de.pages["reference/cli.md"].to_dict() == {"state": "missing", "origin": "none", "path": "en/reference/cli.md"}
    rules = {(f.rule, f.severity) for f in de.state_findings()}
    assert rules == {("translation-stale", "warning"), ("translation-missing", "info")}
    es = inventory.take(SAMPLES, SiteOptions(), "es")
    assert es.counts() == {"source_pages": 13, "translated": 4, "stale": 0, "missing": 9, "machine": 0}
    assert es.completion == 30.8


def test_explicit_site_languages_win_over_the_tree() -> None:
    assert site_languages(SAMPLES, SiteOptions(languages=["en", "es"])) == ("en", ["en", "es"])
    assert site_languages(SAMPLES, SiteOptions(default_language="de", languages=["en"])) == ("de", ["de", "en"])


@pytest.fixture(scope="module")
def fastapi(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not CORPUS.is_dir():
        pytest.fail(f"the FastAPI corpus is missing at {CORPUS}")
    dest = tmp_path_factory.mktemp("fastapi") / "fastapi-docs"
    shutil.copytree(CORPUS / "docs", dest / "docs")
    for path in (dest / "docs").rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return dest


def test_fastapi_corpus_completion_per_language(fastapi: Path) -> None:
    """151 pages in en's nav (4 of its 155 pages are not in the nav); es, de and zh translate
    120 of them each, with no record of staleness (no source_hash, no git history)."""
    site = SiteOptions()
    assert site_languages(fastapi, site) == ("en", ["en", "de", "es", "zh"])
    results = {lang: inventory.take(fastapi, site, lang) for lang in ("es", "de", "zh")}
    for lang, inv in results.items():
        assert inv.counts() == {"source_pages": 151, "translated": 120, "stale": 0, "missing": 31, "machine": 0}, lang
        assert inv.completion == 79.5
        assert inv.pages["tutorial/body.md"].path == f"docs/{lang}/docs/tutorial/body.md"
        assert inv.pages["release-notes.md"].state == "missing"
    assert "_llm-test.md" not in results["es"].pages  # a page of the translation only, not a source page


def test_fastapi_corpus_a_marked_page_turns_stale_when_its_source_changes(fastapi: Path, tmp_path: Path) -> None:
    tree = tmp_path / "site"
    shutil.copytree(fastapi, tree)
    from stages.translate import workflow

    report = workflow.mark(tree, SiteOptions(), "de", ["tutorial/body.md", "docs/de/docs/features.md"])
    assert [m[0] for m in report.marked] == ["tutorial/body.md", "features.md"] and not report.unknown
    source = tree / "docs/en/docs/tutorial/body.md"
    source.write_text(source.read_text() + "\nOne more paragraph.\n")
    de = inventory.take(tree, SiteOptions(), "de")
    assert de.pages["tutorial/body.md"].state == "stale"
    assert de.pages["features.md"].state == "translated"
    assert de.counts()["translated"] == 119 and de.completion == 78.8


def test_hugo_site_with_a_right_to_left_language(tmp_path: Path) -> None:
    site = shutil.copytree(SITES / "hugo-rtl", tmp_path / "hugo")
    assert site_languages(site, SiteOptions()) == ("en", ["en", "ar"])
    ar = inventory.take(site, SiteOptions(), "ar")
    assert sorted(ar.pages) == ["_index.md", "distributed-systems/_index.md", "distributed-systems/consensus.md",
                                "distributed-systems/replication.md", "getting-started.md"]  # wip.md is a draft
    assert ar.counts() == {"source_pages": 5, "translated": 2, "stale": 0, "missing": 3, "machine": 0}
    assert ar.completion == 40.0
    assert ar.pages["getting-started.md"].path == "content/ar/getting-started.md"
    page = site / "content/ar/getting-started.md"
    page.write_text(page.read_text(encoding="utf-8").replace("---\n", '---\nsource_hash: "0000000000000000"\n', 1),
                    encoding="utf-8")
    ar = inventory.take(site, SiteOptions(), "ar")
    assert ar.pages["getting-started.md"].state == "stale" and ar.completion == 20.0


def test_hugo_suffix_translations(tmp_path: Path) -> None:
    make_tree(tmp_path, {
        "hugo.toml": 'title = "S"\ndefaultContentLanguage = "en"\n[languages.en]\nweight = 1\n[languages.he]\nweight = 2\n',
        "content/_index.md": "# Home\n", "content/_index.he.md": "# בית\n", "content/guide.md": "# Guide\n",
    })
    assert site_languages(tmp_path, SiteOptions()) == ("en", ["en", "he"])
    he = inventory.take(tmp_path, SiteOptions(), "he")
    assert he.pages["_index.md"].to_dict() == {"state": "translated", "origin": "suffix", "path": "content/_index.he.md"}
    assert he.pages["guide.md"].state == "missing" and he.completion == 50.0


MKDOCS_I18N = """site_name: S
plugins:
  - search
  - i18n:
      docs_structure: {structure}
      languages:
        - locale: en
          default: true
          name: English
        - locale: fr
          name: Français
        - locale: ja
          name: 日本語
          build: false
"""


def test_mkdocs_static_i18n_suffix_layout(tmp_path: Path) -> None:
    make_tree(tmp_path, {
        "mkdocs.yml": MKDOCS_I18N.format(structure="suffix"),
        "docs/index.md": "# Home\n", "docs/index.fr.md": "# Accueil\n",
        "docs/guide.en.md": "# Guide\n", "docs/setup.md": "# Setup\n", "docs/setup.ja.md": "# 設定\n",
    })
    assert site_languages(tmp_path, SiteOptions()) == ("en", ["en", "fr"])
    layout = discover(tmp_path, SiteOptions(), "en")
    assert sorted(layout.trees["en"].pages) == ["guide.md", "index.md", "setup.ja.md", "setup.md"]
    fr = inventory.take(tmp_path, SiteOptions(), "fr")
    assert fr.pages["index.md"].to_dict() == {"state": "translated", "origin": "suffix", "path": "docs/index.fr.md"}
    assert fr.pages["guide.md"].state == "missing" and fr.pages["setup.md"].state == "missing"
    assert fr.counts()["source_pages"] == 4  # setup.ja.md is a page: ja is not built


def test_mkdocs_static_i18n_folder_layout(tmp_path: Path) -> None:
    make_tree(tmp_path, {
        "mkdocs.yml": MKDOCS_I18N.format(structure="folder"),
        "docs/en/index.md": "# Home\n", "docs/en/guide.md": "# Guide\n", "docs/fr/index.md": "# Accueil\n",
    })
    assert site_languages(tmp_path, SiteOptions()) == ("en", ["en", "fr"])
    fr = inventory.take(tmp_path, SiteOptions(), "fr")
    assert {src: p.state for src, p in fr.pages.items()} == {"guide.md": "missing", "index.md": "translated"}
    assert fr.pages["index.md"].path == "docs/fr/index.md"


def test_language_folders_are_language_codes(tmp_path: Path) -> None:
    make_tree(tmp_path, {"en/index.md": "# A\n", "pt-BR/index.md": "# A\n", "img/x.md": "# not a language\n",
                         "includes/x.md": "x", "it/index.md": "# A\n", "nl/readme.txt": "no pages"})
    assert site_languages(tmp_path, SiteOptions()) == ("en", ["en", "it", "pt-BR"])


def _git(repo: Path, *args: str, when: int | None = None) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(repo)}
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{when} +0000"
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def test_git_history_says_which_translation_is_behind(tmp_path: Path) -> None:
    repo = make_tree(tmp_path / "repo", {"en/a.md": "# A\n", "en/b.md": "# B\n", "de/a.md": "# A (de)\n",
                                         "de/b.md": "# B (de)\n"})
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first", when=1_700_000_000)
    (repo / "en/a.md").write_text("# A\n\nNew paragraph.\n")
    _git(repo, "commit", "-q", "-am", "source a changes", when=1_700_000_100)
    (repo / "de/b.md").write_text("# B (de, reviewed)\n")
    _git(repo, "commit", "-q", "-am", "translation b reviewed", when=1_700_000_200)
    dates = collect(repo)
    de = inventory.take(repo, SiteOptions(), "de", git=dates)
    assert de.pages["a.md"].state == "stale" and "committed after" in de.pages["a.md"].reason
    assert de.pages["b.md"].state == "translated"
    assert inventory.take(repo, SiteOptions(), "de").pages["a.md"].state == "translated"  # no record: translated
    (repo / "de/a.md").write_text(f'---\nsource_hash: "{source_hash((repo / "en/a.md").read_text())}"\n---\n# A (de)\n')
    assert inventory.take(repo, SiteOptions(), "de", git=dates).pages["a.md"].state == "translated"  # the hash wins


def test_po_catalogs_translated_stale_missing_and_broken(tmp_path: Path) -> None:
    make_tree(tmp_path, {"en/a.md": "# A\n\nOne.\n", "en/b.md": "# B\n\nTwo.\n", "en/c.md": "# C\n\nThree.\n",
                         "en/d.md": "# D\n", "de/c.md": "# C (de)\n\nDrei.\n"})
    text = {n: (tmp_path / f"en/{n}.md").read_text() for n in "abcd"}
    full, _ = po.extract(text["a"], "a.md", "de")
    for entry in full:
        entry.msgstr = entry.msgid.upper()
    part, _ = po.extract(text["b"], "b.md", "de")
    part[0].msgstr = "B"
    empty, _ = po.extract(text["c"], "c.md", "de")
    for name, cat in (("a", full), ("b", part), ("c", empty)):
        path = po.catalog_path(tmp_path, "locales", "de", f"{name}.md")
        path.parent.mkdir(parents=True, exist_ok=True)
        cat.save(str(path))
    (tmp_path / "locales/de/d.po").write_text('msgid "x"\nmsgstr ""\nnot po at all\n')
    de = inventory.take(tmp_path, SiteOptions(), "de")
    assert de.pages["a.md"].to_dict() == {"state": "translated", "origin": "po", "path": "locales/de/a.po"}
    assert de.pages["b.md"].state == "stale" and de.pages["b.md"].reason == "1 of 2 messages translated and current"
    assert de.pages["c.md"].to_dict() == {"state": "translated", "origin": "folder", "path": "de/c.md"}  # file beats an empty catalog
    assert de.pages["d.md"].state == "missing"
    assert [(f.rule, f.file, f.severity) for f in de.findings] == [("po-invalid", "locales/de/d.po", "warning")]
    assert str(tmp_path) not in de.findings[0].message and "d.po (line 3)" in de.findings[0].message


def test_fastapi_docs_folder_as_the_source(fastapi: Path) -> None:
    """The docs/ folder itself (docs/en/mkdocs.yml becomes <source>/en/mkdocs.yml) gives the same figures."""
    assert site_languages(fastapi / "docs", SiteOptions()) == ("en", ["en", "de", "es", "zh"])
    assert inventory.take(fastapi / "docs", SiteOptions(), "zh").completion == 79.5


def test_hugo_toml_front_matter_is_read_and_marked(tmp_path: Path) -> None:
    from stages.translate import workflow

    make_tree(tmp_path, {
        "hugo.toml": 'defaultContentLanguage = "en"\n[languages.en]\nweight = 1\n[languages.ar]\nweight = 2\n',
        "content/page.md": '+++\ntitle = "Page"\n+++\nText.\n',
        "content/page.ar.md": '+++\ntitle = "صفحة"\nweight = 2\n+++\nنص.\n',
    })
    report = workflow.mark(tmp_path, SiteOptions(), "ar", ["page.md"])
    assert [m[1] for m in report.marked] == ["content/page.ar.md"]
    text = (tmp_path / "content/page.ar.md").read_text(encoding="utf-8")
    assert text == f'+++\ntitle = "صفحة"\nweight = 2\nsource_hash = "{report.marked[0][2]}"\n+++\nنص.\n'
    assert inventory.take(tmp_path, SiteOptions(), "ar").pages["page.md"].state == "translated"
    (tmp_path / "content/page.md").write_text('+++\ntitle = "Page"\n+++\nText, changed.\n')
    assert inventory.take(tmp_path, SiteOptions(), "ar").pages["page.md"].state == "stale"
