"""A Hugo content tree builds the way ``hugo`` builds it, through ``pressroom build``.

The sample (tests/sites/hugo-rtl) has what real Hugo sites have: ``hugo.toml`` with languages,
per-language ``contentDir`` and a ``baseURL`` under a path; ``_index.md`` section pages; a draft;
``Title:``/``Weight:`` in capitals; root-absolute and ``/<lang>/`` links; ``ref``/``relref``,
``figure``, ``highlight``, note/warning callouts and shortcodes nobody renders; an RTL language
(``ar``) with a page that falls back to English; archetypes and layouts that are not pages.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from urllib.parse import urljoin

from stages.markdown import shortcodes
from stages.site import frontmatter, hugo
from tests.stages.conftest import SITES, pressroom_build


def sample(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    return Path(shutil.copytree(SITES / "hugo-rtl", repo / "hugo-rtl"))


def sidebar(page: str) -> list[tuple[str, str]]:
    nav = re.search(r'<nav id="sidebar".*?</nav>', page, re.S)
    assert nav
    return re.findall(r'<a [^>]*href="([^"]+)"[^>]*>([^<]+)', nav.group(0))


def internal_targets(out: Path, file: Path) -> list[Path]:
    """Every relative href/src of a built page, as the file it names."""
    page = file.read_text()
    base = file.relative_to(out).as_posix()
    found = []
    for url in re.findall(r'(?:href|src)="([^"#]+)', page):
        if re.match(r"^[a-z]+:", url):
            continue
        found.append(out / urljoin(base, url))
    return found


def test_a_hugo_tree_builds_like_hugo(tmp_path: Path) -> None:
    site = sample(tmp_path)
    out = tmp_path / "out"
    done = pressroom_build(str(site), "--out", str(out), "--stages", "render_html,linkcheck", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    text = " ".join(done.stdout.split())
    # the language root's _index.md is the home page; the site root leads to it
    home = (out / "en/index.html").read_text()
    assert "<title>Field Handbook</title>" in home  # `Title:` in capitals, and hugo.toml's title
    assert '<meta http-equiv="refresh" content="0; url=en/">' in (out / "index.html").read_text()
    # a language's own title ([languages.ar] title) heads its pages; English keeps the site's
    assert '<a class="site-title" href="../ar/">دليل الميدان</a>' in (out / "ar/index.html").read_text()
    assert '<a class="site-title" href="../en/">Field Handbook</a>' in home
    assert (out / "ar/index.html").is_file() and (out / "en/distributed-systems/index.html").is_file()
    # nav: sections and pages by weight then title; no _index, template, layout or draft
    assert [t for _, t in sidebar(home)] == ["Field Handbook", "Getting started", "Distributed systems",
                                             "Consensus", "Replication"]
    built = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html"))
    assert not [p for p in built if "_index" in p or "wip" in p or "archetypes" in p or "layouts" in p], built
    assert "Unfinished" not in "".join((out / p).read_text() for p in built)
    # shortcodes: the common ones render; unknown ones are gone with a warning naming them
    start = (out / "en/getting-started/index.html").read_text()
    assert '<div class="admonition note ">' in start and '<p class="admonition-title">Careful</p>' in start
    assert 'data-lang="bash"' in start and "make" in start
    assert '<figure><img src="../img/ring.svg" alt="A ring"><figcaption>The ring</figcaption></figure>' in start
    assert "Tabbed text stays." in start and "youtube" not in start and "dQw4w9WgXcQ" not in start
    assert "shortcode 'youtube' is not supported" in text and "shortcode 'unknowncode' is not supported" in text
    assert "Unknown text stays." in start and "shortcode 'tabs'" not in text  # a tab set's wrapper is known
    # theme shortcodes: tab (hugo-book "title", Docsy header=), mermaid, expand
    assert '<div class="tab"><div class="tab-label">macOS</div>' in start and '<div class="tab-label">Linux</div>' in start
    assert '<pre class="mermaid">graph LR; A--&gt;B\n</pre>' in start and "assets/mermaid/mermaid.min.js" in start
    assert "<summary>More</summary>" in start and "Hidden details." in start
    for name in built:  # no raw shortcode anywhere; the escaped one is shown as text in its code block
        page = (out / name).read_text()
        assert "{{<" not in page and "{{%" not in page, name
    assert start.count("{{&lt; note &gt;}}") == 1
    # root-absolute, /<lang>/, ref and relref links point at built pages, relative to the page
    consensus = (out / "en/distributed-systems/consensus/index.html").read_text()
    assert 'href="../../getting-started/#install"' in consensus and 'href="../../../ar/"' in consensus
    assert 'href="../consensus/#leaders"' in (out / "en/distributed-systems/replication/index.html").read_text()
    assert '<a href="../distributed-systems/consensus/">consensus notes</a>' in start  # {{< ref >}} without .md
    for file in out.rglob("*.html"):
        if file.name != "404.html":
            missing = [t for t in internal_targets(out, file) if not (t.is_file() or (t / "index.html").is_file())]
            assert not missing, (file, missing)
    assert "broken=0" in text
    # canonical and hreflang use baseURL
    assert '<link rel="canonical" href="https://docs.example.org/handbook/en/">' in home


def test_rtl_fallback_pages_and_the_language_switcher(tmp_path: Path) -> None:
    site = sample(tmp_path)
    (site / "content/ar/only-arabic.md").write_text("---\ntitle: صفحة عربية\n---\n\nنص.\n")
    out = tmp_path / "out"
    done = pressroom_build(str(site), "--out", str(out), "--stages", "render_html", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    fallback = (out / "ar/distributed-systems/consensus/index.html").read_text()
    assert '<html lang="ar" dir="rtl">' in fallback
    assert '<main id="content" lang="en" dir="ltr">' in fallback  # the English text lays out LTR
    assert '<p class="fallback-note" lang="ar" dir="rtl">لم تُترجم هذه الصفحة بعد' in fallback
    # a page only the Arabic edition has: no English link, no English hreflang
    only = (out / "ar/only-arabic/index.html").read_text()
    assert 'hreflang="en"' not in only and not (out / "en/only-arabic").exists()
    for file in out.rglob("index.html"):
        page = file.read_text()
        for href in re.findall(r'<a href="([^"]+)" hreflang=', page):
            target = file.parent / href
            assert (target / "index.html").is_file() or target.is_file(), (file, href)


def test_drafts_only_with_the_flag_and_broken_root_links_fail_the_check(tmp_path: Path) -> None:
    site = sample(tmp_path)
    (site / "content/en/getting-started.md").write_text(
        (site / "content/en/getting-started.md").read_text() + "\nSee [nowhere](/no-such-section/).\n")
    out = tmp_path / "out"
    done = pressroom_build(str(site), "--out", str(out), "--stages", "render_html,linkcheck", "--drafts", cwd=tmp_path)
    assert (out / "en/wip/index.html").is_file()  # --drafts builds the draft
    assert done.returncode != 0  # the root-absolute link to nothing is a broken internal link
    assert "no-such-section" in " ".join(done.stdout.split()) + done.stderr


def test_shortcodes_keep_lines_and_resolve_refs(tmp_path: Path) -> None:
    docs = tmp_path / "content"
    (docs / "guide").mkdir(parents=True)
    (docs / "guide/_index.md").write_text("# Guide\n")
    (docs / "guide/setup.md").write_text("# Setup\n")
    env: dict[str, object] = {"page_src": "guide/_index.md", "docs_dir": str(docs), "pretty": True}
    text = ('{{< ref "setup" >}} {{< relref "/guide#top" >}} {{< ref "missing" >}}\n'
            "{{< mystery a=1 >}}\n{{% note %}}\nx\n{{% /note %}}\n`{{</* ref \"x\" */>}}`\n")
    got = shortcodes.expand(text, env)
    assert got.split("\n")[0] == "/guide/setup.md /guide/_index.md#top /guide/missing.md"
    assert got.count("\n") == text.count("\n")  # line numbers of findings stay true
    assert "/// note\nx\n///" in got and '`{{< ref "x" >}}`' in got and "mystery" not in got
    assert env["findings"] == [(2, None, "unknown-shortcode", "warning",
                                "shortcode 'mystery' is not supported: removed from the page (its inner text kept)")]


def test_front_matter_keys_any_case_and_config_detection(tmp_path: Path) -> None:
    meta, _, err, _ = frontmatter.split("---\nTitle: T\nWeight: 3\nDraft: true\n---\n")
    assert err is None and meta["title"] == "T" and meta["weight"] == 3 and meta["Title"] == "T"
    assert frontmatter.peek_title("---\nTitle: T\nWeight: 3\n---\n") == ("T", 3.0)
    (tmp_path / "content").mkdir()
    (tmp_path / "config.toml").write_text('[site]\ntitle = "pressroom config, not Hugo"\n')
    assert hugo.find(tmp_path) is None  # pressroom's own config.toml is not a Hugo config
    (tmp_path / "config.toml").write_text('baseURL = "https://x.org/"\ntitle = "H"\n')
    conf = hugo.find(tmp_path)
    assert conf is not None and conf.title == "H" and conf.languages == ["en"] and conf.base_path == "/"


def test_search_text_keeps_soft_line_breaks_as_spaces(tmp_path: Path) -> None:
    site = sample(tmp_path)
    out = tmp_path / "out"
    done = pressroom_build(str(site), "--out", str(out), "--stages", "render_html", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    index = json.loads((out / "en/search_index.json").read_text())
    text = next(p["text"] for p in index["pages"] if p["url"] == "en/distributed-systems/replication/")
    assert "heavy load rather than" in text and "loadrather" not in text
    script = (out / "en/search_index.js").read_text()
    assert script.startswith('(window.pressroomSearch=window.pressroomSearch||{})["en"]={')


def test_hugo_yaml_is_read_as_hugo_reads_it(tmp_path: Path) -> None:
    """YAML 1.2 as Hugo has it: Docsy's example site names Norwegian ``no``, which PyYAML's 1.1
    rules turn into ``False`` (and the build into a config error)."""
    (tmp_path / "content/no").mkdir(parents=True)
    (tmp_path / "content/en").mkdir(parents=True)
    cfg = tmp_path / "hugo.yaml"
    cfg.write_text("baseURL: https://example.org/\ndefaultContentLanguage: en\nenableGitInfo: yes\nbuildDrafts: false\n"
                   "languages:\n  en: {contentDir: content/en}\n  no: {contentDir: content/no, title: Gulldoks}\n")
    data = hugo.load(cfg)
    assert set(data["languages"]) == {"en", "no"}
    assert data["enablegitinfo"] == "yes" and data["builddrafts"] is False  # only true/false are booleans
    found = hugo.find(tmp_path)
    assert found is not None and set(found.languages) == {"en", "no"}


def test_param_reads_the_page_then_the_sites_params(tmp_path: Path) -> None:
    """Hugo's built-in ``param`` (Docsy's example site uses it for its repository link and version)."""
    (tmp_path / "content/en").mkdir(parents=True)
    (tmp_path / "content/fa").mkdir(parents=True)
    (tmp_path / "hugo.yaml").write_text(
        "baseURL: https://example.org/\ndefaultContentLanguage: en\n"
        "params:\n  version: 0.16.1-dev\n  GitHub_Repo: https://github.com/x/y\n  links: {user: [a, b], chat: https://chat}\n"
        "languages:\n  en: {contentDir: content/en}\n  fa: {contentDir: content/fa, params: {version: '۰.۱۶'}}\n")
    conf = hugo.find(tmp_path)
    assert conf is not None and conf.params["en"]["version"] == "0.16.1-dev" and conf.params["fa"]["version"] == "۰.۱۶"
    assert conf.params["fa"]["github_repo"] == "https://github.com/x/y"  # a language's params lie over the site's
    env: dict[str, object] = {"page_meta": {"Version": "page-1"}, "site_params": conf.params["en"]}
    text = 'v{{% param version %}} <a href="{{< param "github_repo" >}}">{{< param name="Links.Chat" >}}</a> [{{% param nope %}}]'
    assert shortcodes.expand(text, env) == 'vpage-1 <a href="https://github.com/x/y">https://chat</a> []'
    assert env["findings"] == [(1, None, "unknown-param", "warning",
                                "param 'nope' is in neither the page's front matter nor the site's params: left empty")]
    env = {"site_params": {"q": 'a"<b>'}}
    assert shortcodes.expand("{{< param q >}}", env) == "a&quot;&lt;b&gt;"  # a value is text, never markup


def test_toml_and_json_front_matter_as_hugo_reads_them(tmp_path: Path) -> None:
    """``+++`` TOML is Hugo's own default front matter (``hugo new`` writes it); JSON starts with ``{``."""
    meta, body, err, n = frontmatter.split('+++\nTitle = "Install"\nweight = 3\ndraft = true\ndate = 2024-01-02\n+++\n\n# Body\n')
    assert err is None and n == 6 and meta["title"] == "Install" and meta["weight"] == 3 and meta["date"] == "2024-01-02"
    assert body.count("\n") == 8 and body.endswith("# Body\n")  # line numbers kept
    meta, _, err, _ = frontmatter.split('{\n  "title": "From JSON",\n  "weight": 2\n}\n\nText\n')
    assert err is None and meta == {"title": "From JSON", "weight": 2}
    _, _, err, _ = frontmatter.split("+++\ntitle = \n+++\nText\n")
    assert err is not None and err.startswith("front matter is not valid TOML")
    assert frontmatter.split('{"x": 1} is a sentence\n')[0] == {}
    page = tmp_path / "draft.md"
    page.write_text('+++\ntitle = "WIP"\ndraft = true\n+++\nUnfinished\n')
    assert hugo.is_draft(page)
    assert frontmatter.peek_title('+++\ntitle = "Ordered"\nweight = 7\n+++\n') == ("Ordered", 7.0)


def test_a_config_directory_is_read_as_hugo_merges_it(tmp_path: Path) -> None:
    """``config/_default/``: the root keys in hugo.toml, each other file the key it is named after."""
    conf_dir = tmp_path / "config/_default"
    conf_dir.mkdir(parents=True)
    (conf_dir / "hugo.toml").write_text('baseURL = "https://example.org/docs/"\ntitle = "Split"\ndefaultContentLanguage = "en"\n')
    (conf_dir / "languages.toml").write_text('[en]\nweight = 1\n[de]\nweight = 2\ntitle = "Geteilt"\n')
    (conf_dir / "params.yaml").write_text("version: 2.1\n")
    (tmp_path / "content").mkdir()
    found = hugo.find(tmp_path)
    assert found is not None and found.base_url == "https://example.org/docs/" and found.title == "Split"
    assert found.languages == ["en", "de"] and found.titles == {"de": "Geteilt"} and found.params["de"]["version"] == 2.1
    (conf_dir / "hugo.toml").unlink()
    (conf_dir / "languages.toml").unlink()
    assert hugo.find(tmp_path) is not None  # params alone is a Hugo key
    (conf_dir / "params.yaml").unlink()
    (conf_dir / "other.yaml").write_text("x: 1\n")
    assert hugo.find(tmp_path) is None  # nothing Hugo would read


def test_page_urls_are_lower_case_as_hugo_serves_them(tmp_path: Path) -> None:
    """Hugo serves ``functions/css/Build.md`` at ``/functions/css/build/`` (its own docs are named
    so) unless ``disablePathToLower``; links to the page by file lead there too."""
    for lower in (True, False):
        site = tmp_path / f"site-{lower}"
        (site / "content/docs").mkdir(parents=True)
        (site / "hugo.toml").write_text('baseURL = "https://example.org/"\ntitle = "T"\n'
                                        + ("" if lower else "disablePathToLower = true\n"))
        (site / "content/_index.md").write_text("# Home\n")
        (site / "content/docs/Build.md").write_text("---\ntitle: Build\n---\nBuilding.\n")
        (site / "content/docs/other.md").write_text('# Other\n\n[by file](Build.md), [by ref]({{< ref "docs/Build.md" >}}).\n')
        out = tmp_path / f"out-{lower}"
        done = pressroom_build(str(site), "--out", str(out), "--stages", "lint,render_html,linkcheck", cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        name = "build" if lower else "Build"
        assert (out / f"en/docs/{name}/index.html").is_file()
        other = (out / "en/docs/other/index.html").read_text()
        assert f'<a href="../{name}/">by file</a>' in other and f'<a href="../{name}/">by ref</a>' in other


def test_heading_ids_are_goldmarks_in_a_hugo_site(tmp_path: Path) -> None:
    """Hugo's default ``autoHeadingIDType = "github"``: ``People & Body`` is ``#people--body`` (its
    emoji page's links); repeats are ``-1``. ``github-ascii`` drops accents; MkDocs keeps its own."""
    from stages.markdown.engine import parser

    text = "## People & Body\n\n## People & Body\n\n## Café Ünïcode\n"
    ids = {}
    for style in ("github", "github-ascii", ""):
        env = {"slug_style": style}
        parser().render(text, env)
        ids[style] = list(env["ids"])
    assert ids["github"] == ["people--body", "people--body-1", "café-ünïcode"]
    assert ids["github-ascii"][2] == "cafe-unicode"
    assert ids[""] == ["people-body", "people-body_1", "cafe-unicode"]
    (tmp_path / "content").mkdir()
    (tmp_path / "hugo.yaml").write_text("title: T\nmarkup:\n  goldmark:\n    parser:\n      autoHeadingIDType: github-ascii\n")
    found = hugo.find(tmp_path)
    assert found is not None and found.heading_ids == "github-ascii"


def test_headless_sections_and_mounted_content(tmp_path: Path) -> None:
    """Hugo's own docs: content/en mounted as content; _common/ cascades build.render never."""
    (tmp_path / "content/en/_common").mkdir(parents=True)
    (tmp_path / "content/en/bundle").mkdir()
    (tmp_path / "hugo.toml").write_text('title = "T"\n[[module.mounts]]\nsource = "content/en"\ntarget = "content"\n')
    (tmp_path / "content/en/_index.md").write_text("# Home\n")
    (tmp_path / "content/en/page.md").write_text("# Page\n")
    (tmp_path / "content/en/hidden.md").write_text("---\nbuild:\n  render: never\n---\n# Hidden\n")
    (tmp_path / "content/en/_common/_index.md").write_text("---\ncascade:\n  build:\n    render: never\n    list: never\n---\n")
    (tmp_path / "content/en/_common/snippet.md").write_text("A snippet.\n")
    (tmp_path / "content/en/bundle/index.md").write_text("---\nheadless: true\n---\nHeadless bundle.\n")
    conf = hugo.find(tmp_path)
    assert conf is not None and conf.content_dir == tmp_path / "content/en"
    from stages.site.layout import _scan

    pages = hugo.trees(tmp_path, conf, ["en"], False, _scan)["en"].pages
    assert sorted(pages) == ["_index.md", "page.md"]


def test_render_hooks_are_named_not_run(tmp_path: Path) -> None:
    """Hugo's docs resolve ``[term](g)`` in their own link hook: such findings get an explanation."""
    (tmp_path / "content").mkdir()
    (tmp_path / "layouts/_markup").mkdir(parents=True)
    (tmp_path / "layouts/_markup/render-link.html").write_text("{{ .Destination }}")
    (tmp_path / "themes/book/layouts/_default/_markup").mkdir(parents=True)
    (tmp_path / "themes/book/layouts/_default/_markup/render-heading.html").write_text("{{ .Text }}")
    (tmp_path / "hugo.toml").write_text('title = "T"\ntheme = "book"\n')
    found = hugo.find(tmp_path)
    assert found is not None
    assert found.warnings == (
        ("render hook layouts/_markup/render-link.html", "not run by pressroom: links are rendered and checked as written"),
        ("render hook themes/book/layouts/_default/_markup/render-heading.html",
         "not run by pressroom: headings are rendered and checked as written"))
    out = tmp_path / "out"
    (tmp_path / "content/_index.md").write_text("# Home\n")
    done = pressroom_build(str(tmp_path), "--out", str(out), "--stages", "render_html", cwd=tmp_path)
    assert "hugo-option render hook layouts/_markup/render-link.html: not run by pressroom" in " ".join(done.stdout.split())
