"""How often a translate run parses the site's config: once, however many calls need it.

Language detection and discovery both start from mkdocs.yml (or Hugo's config); a translate run
used to parse it three times per language. Counted here by wrapping the parsers, on a
three-language FastAPI-shaped site (``docs/<lang>/mkdocs.yml``, ``docs/<lang>/docs/``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stages.context import local_context
from stages.site import hugo, siteconfig
from stages.site.layout import discover
from stages.site.options import SiteOptions
from stages.site.siteconfig import ConfigReads
from stages.translate import inventory, stage, workflow
from stages.translate.options import TranslateOptions
from tests.conftest import make_tree

MKDOCS = "site_name: S\ndocs_dir: docs\nnav:\n  - index.md\n  - guide.md\n  - {extra}\n"


def _site(root: Path) -> Path:
    return make_tree(root, {
        "docs/en/mkdocs.yml": MKDOCS.format(extra="api.md"),
        "docs/en/docs/index.md": "# Home\n", "docs/en/docs/guide.md": "# Guide\n", "docs/en/docs/api.md": "# API\n",
        "docs/de/docs/index.md": "# Start\n", "docs/de/docs/guide.md": "---\nsource_hash: \"0\"\n---\n# Anleitung\n",
        "docs/es/docs/index.md": "# Inicio\n",
    })


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every mkdocs.yml and Hugo config file parsed, in order."""
    seen: list[Path] = []
    load_mkdocs, load_hugo = siteconfig.load_mkdocs_yml, hugo.load

    def counted_mkdocs(path: Path, root: Path | None = None) -> dict[str, Any]:
        seen.append(path)
        return load_mkdocs(path, root)

    def counted_hugo(path: Path) -> dict[str, Any]:
        seen.append(path)
        return load_hugo(path)

    monkeypatch.setattr(siteconfig, "load_mkdocs_yml", counted_mkdocs)
    monkeypatch.setattr(hugo, "load", counted_hugo)
    return seen


async def test_a_translate_stage_run_parses_mkdocs_yml_once(tmp_path: Path, parses: list[Path]) -> None:
    site = _site(tmp_path / "site")
    for lang in ("de", "es"):
        ws = tmp_path / f"ws-{lang}"
        ws.mkdir()
        parses.clear()
        result = await stage.run(local_context(site, ws / "out", workspace=ws, options=TranslateOptions(), language=lang))
        assert result.status == "passed"
        assert [p.name for p in parses] == ["mkdocs.yml"], lang
    assert result.counts == {"source_pages": 3, "translated": 1, "stale": 0, "missing": 2, "machine": 0}


def test_one_reads_serves_every_language_of_a_command(tmp_path: Path, parses: list[Path]) -> None:
    """``pressroom translate status`` takes each language's inventory with one ConfigReads: one
    parse for the three languages, and the same states as separate takes."""
    site = _site(tmp_path / "site")
    reads = ConfigReads()
    default, targets = workflow.other_languages(site, SiteOptions(), reads=reads)
    shared = [inventory.take(site, SiteOptions(), lang, reads=reads) for lang in (default, *targets)]
    assert (default, targets) == ("en", ["de", "es"])
    assert len(parses) == 1
    alone = [inventory.take(site, SiteOptions(), lang) for lang in (default, *targets)]
    assert len(parses) == 1 + 3  # without a shared one: one parse per take, no longer three
    assert [{s: p.to_dict() for s, p in inv.pages.items()} for inv in shared] == \
        [{s: p.to_dict() for s, p in inv.pages.items()} for inv in alone]
    de = shared[1]
    assert {s: p.state for s, p in de.pages.items()} == {"index.md": "translated", "guide.md": "stale", "api.md": "missing"}


def test_a_rewritten_mkdocs_yml_is_parsed_again(tmp_path: Path, parses: list[Path]) -> None:
    """The memo is keyed by the file's stat: what the file says now wins, even within one run."""
    site = _site(tmp_path / "site")
    reads = ConfigReads()
    assert list(inventory.take(site, SiteOptions(), "de", reads=reads).pages) == ["index.md", "guide.md", "api.md"]
    assert len(parses) == 1
    (site / "docs/en/mkdocs.yml").write_text("site_name: S\nnav:\n  - api.md\n  - index.md\n")
    assert list(inventory.take(site, SiteOptions(), "de", reads=reads).pages) == ["api.md", "index.md"]
    assert len(parses) == 2


def test_mark_parses_once(tmp_path: Path, parses: list[Path]) -> None:
    site = _site(tmp_path / "site")
    report = workflow.mark(site, SiteOptions(), "de", ["guide.md"])
    assert [src for src, _rel, _digest in report.marked] == ["guide.md"]
    assert len(parses) == 1


def test_a_hugo_config_is_parsed_once_per_take(tmp_path: Path, parses: list[Path]) -> None:
    site = make_tree(tmp_path / "hugo", {
        "hugo.toml": 'title = "S"\ndefaultContentLanguage = "en"\n[languages.en]\nweight = 1\n[languages.he]\n'
                     'weight = 2\n[languages.fr]\nweight = 3\n',
        "content/_index.md": "# Home\n", "content/_index.he.md": "# בית\n", "content/guide.md": "# Guide\n",
        "content/guide.fr.md": "# Guide\n",
    })
    he = inventory.take(site, SiteOptions(), "he")
    assert [p.name for p in parses] == ["hugo.toml"]
    assert {s: p.state for s, p in he.pages.items()} == {"_index.md": "translated", "guide.md": "missing"}


def test_several_languages_in_one_discover_are_the_separate_ones(tmp_path: Path) -> None:
    site = _site(tmp_path / "site")
    together = discover(site, SiteOptions(), ["en", "de", "es"])
    assert list(together.trees) == ["en", "de", "es"]
    for lang in ("en", "de", "es"):
        assert together.trees[lang] == discover(site, SiteOptions(), lang).trees[lang], lang
