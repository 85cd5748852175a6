"""Language keys and content folders named by a submitted site config are hostile: they become
``out/<key>/``, a translate job's workspace folders and ``/<key>/`` of a release. A key that is no
language code, or a content folder outside the tree, is refused before anything is read or written."""

from __future__ import annotations

from pathlib import Path

import pytest

from stages.base import StageError
from stages.site.langcodes import is_safe_code
from stages.site.layout import discover, site_languages
from stages.site.options import SiteOptions
from tests.stages.conftest import pressroom_build


def _hugo(root: Path, config: str) -> Path:
    site = root / "site"
    (site / "content").mkdir(parents=True)
    (site / "content" / "_index.md").write_text("# Home\n")
    (site / "hugo.toml").write_text(config)
    return site


@pytest.mark.parametrize("code", ["en", "pt-br", "zh-Hans", "sr_Latn_RS", "fil"])
def test_language_shaped_keys_are_safe(code: str) -> None:
    assert is_safe_code(code)


@pytest.mark.parametrize("code", ["..", "../../x", "de/../..", "a", "", "en/", "e n", "x" * 30, "en-" + "a" * 9])
def test_anything_else_is_not(code: str) -> None:
    assert not is_safe_code(code)


def test_a_hugo_language_key_that_is_a_path_is_refused(tmp_path: Path) -> None:
    site = _hugo(tmp_path, 'title = "x"\ndefaultContentLanguage = "en"\n[languages.en]\nweight = 1\n'
                           '[languages."../../evil"]\nweight = 2\n')
    for call in (lambda: discover(site, SiteOptions()), lambda: site_languages(site, SiteOptions())):
        with pytest.raises(StageError) as err:
            call()
        assert err.value.code == "config_invalid" and "not a language code" in str(err.value)


def test_a_hugo_content_dir_outside_the_tree_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "key.md").write_text("# private\n")
    site = _hugo(tmp_path, 'title = "x"\ncontentDir = "../secrets"\n')
    with pytest.raises(StageError) as err:
        discover(site, SiteOptions())
    assert err.value.code == "config_invalid" and "contentDir" in str(err.value)
    site2 = _hugo(tmp_path / "b", 'title = "x"\ndefaultContentLanguage = "en"\n[languages.en]\nweight = 1\n'
                                  '[languages.de]\ncontentDir = "../../secrets"\n')
    with pytest.raises(StageError):
        discover(site2, SiteOptions())


def test_an_i18n_locale_that_is_a_path_is_left_out(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Home\n")
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: x\nplugins:\n  - i18n:\n      languages:\n        - locale: en\n          default: true\n"
        "        - locale: ../../evil\n        - locale: fr\n")
    assert site_languages(tmp_path, SiteOptions()) == ("en", ["en", "fr"])


def test_the_command_refuses_the_tree_and_writes_nothing_outside(tmp_path: Path) -> None:
    site = _hugo(tmp_path, 'title = "x"\ndefaultContentLanguage = "en"\n[languages.en]\nweight = 1\n'
                           '[languages."../escaped"]\nweight = 2\n')
    result = pressroom_build(str(site), "--out", str(tmp_path / "out"), "--stages", "render_html", cwd=tmp_path)
    assert result.returncode != 0, result.stdout
    assert "not a language code" in result.stdout + result.stderr
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "out" / "escaped").exists()
