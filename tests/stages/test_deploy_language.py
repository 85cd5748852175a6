"""One language's folder of a release: its diff against the live one and composing it onto it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stages.base import StageError
from stages.deploy import language
from tests.conftest import make_tree


def _page(text: str) -> str:
    return f"<html><body><nav>menu</nav><main id=\"content\"><p>{text}</p></main></body></html>"


def test_diff_covers_only_the_language_and_its_home_page(tmp_path: Path) -> None:
    live = make_tree(tmp_path / "live", {"index.html": _page("root"), "en/index.html": _page("Hello"),
                                         "de/index.html": _page("Hallo"), "de/old/index.html": _page("Alt")})
    held = make_tree(tmp_path / "held", {"index.html": _page("other root"), "en/index.html": _page("Changed"),
                                         "de/index.html": _page("Hallo Welt"), "de/new/index.html": _page("Neu")})
    preview = language.diff_language(held, live, "de")
    assert preview.added == ["de/new/"] and preview.removed == ["de/old/"]
    assert preview.changed_urls == ["de/"] and preview.unchanged == 0
    assert language.diff_language(held, None, "de").added == ["de/", "de/new/"]


def test_compose_keeps_every_other_language_and_links_files(tmp_path: Path) -> None:
    live = make_tree(tmp_path / "live", {"index.html": "root", "assets/site.css": "css", "en/index.html": "en",
                                         "es/index.html": "es", "de/index.html": "old de", "de/gone/index.html": "x"})
    held = make_tree(tmp_path / "held", {"de/index.html": "new de", "de/guide/index.html": "guide",
                                         "en/index.html": "stale en from when the translation was built"})
    dest = tmp_path / "out"
    count = language.compose(live, held, "de", dest)
    files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert files == ["assets/site.css", "de/guide/index.html", "de/index.html", "en/index.html", "es/index.html",
                     "index.html"]
    assert count == len(files)
    assert (dest / "en/index.html").read_text() == "en" and (dest / "de/index.html").read_text() == "new de"
    assert os.stat(dest / "es/index.html").st_ino == os.stat(live / "es/index.html").st_ino
    assert os.stat(dest / "de/index.html").st_ino == os.stat(held / "de/index.html").st_ino


def test_compose_onto_nothing_live_and_refuses_an_empty_language(tmp_path: Path) -> None:
    held = make_tree(tmp_path / "held", {"de/index.html": "de"})
    assert language.compose(None, held, "de", tmp_path / "a") == 1
    with pytest.raises(StageError) as exc:
        language.compose(None, held, "fr", tmp_path / "b")
    assert exc.value.code == "deploy_check_failed" and not (tmp_path / "b").exists()
