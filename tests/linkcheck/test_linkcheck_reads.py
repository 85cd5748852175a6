"""What an incremental check costs: each page read and hashed once, the page cache this process
wrote not decoded again, the site's origin test without URL parsing giving urlsplit's answer."""

from __future__ import annotations

import collections
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from test_linkcheck_incremental import PAGES, context, page, write

from stages.linkcheck import checker, files, pages, stage


def site(tmp_path: Path) -> None:
    write(tmp_path, {f"en/p{n}/index.html": page(n) for n in range(PAGES)})
    write(tmp_path, {"en/index.html": '<a href="p0/">start</a>', "assets/logo.png": "png",
                     "assets/site.css": "body { background: url(logo.png) }"})


async def test_each_page_is_read_and_hashed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site(tmp_path)
    cache = tmp_path / "cache"
    await stage.run(context(tmp_path, cache, tmp_path / "ws", None))  # the cache knows every page
    write(tmp_path, {"en/p4/index.html": page(4, extra="<p>edited</p>")})
    hashed: collections.Counter[int] = collections.Counter()
    crawled: list[str] = []
    digest, check_site_file = pages.digest, files.check_site_file

    def counting_digest(body: bytes) -> str:
        hashed[hash(body)] += 1
        return digest(body)

    def counting_check(root: files.SiteRoot, url: str, **kwargs: Any) -> Any:
        path, _ = root.resolve(url)
        crawled.append(path.name if path is not None else "(missing)")
        return check_site_file(root, url, **kwargs)

    monkeypatch.setattr(pages, "digest", counting_digest)
    monkeypatch.setattr(files, "check_site_file", counting_check)
    result = await stage.run(context(tmp_path, cache, tmp_path / "ws", None))
    assert result.counts["pages_parsed"] == 1 and result.counts["reused"] == PAGES
    assert sum(hashed.values()) == PAGES + 1 and set(hashed.values()) == {1}, "one hash per page"
    assert crawled, "links to files that are not pages still go to the disk"
    assert not [name for name in crawled if name.endswith(".html")], "the crawl read pages again"


async def test_the_page_cache_this_process_wrote_is_not_decoded_again(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    site(tmp_path)
    cache = tmp_path / "cache"
    await stage.run(context(tmp_path, cache, tmp_path / "ws", None))
    loads: list[Path] = []
    load_json = pages.load_json

    def counting_load(path: Path, *args: Any) -> Any:
        loads.append(path)
        return load_json(path, *args)

    monkeypatch.setattr(pages, "load_json", counting_load)
    again = await stage.run(context(tmp_path, cache, tmp_path / "ws", None))
    assert loads == [] and again.counts["reused"] == PAGES + 1
    # another process (or a restored backup) rewrote the file: it is read, and still understood
    (written,) = (cache / "linkcheck").glob("pages-*.json")
    written.write_bytes(written.read_bytes() + b"\n")
    third = await stage.run(context(tmp_path, cache, tmp_path / "ws", None))
    assert loads == [written] and third.counts["reused"] == PAGES + 1 and third.counts["pages_parsed"] == 0


async def test_only_the_changed_page_is_planned_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site(tmp_path)
    cache = tmp_path / "cache"
    await stage.run(context(tmp_path, cache, tmp_path / "ws", None))
    planned: list[str] = []
    plan_page = checker.Checker._plan_page

    def counting(self: checker.Checker, page: Any, page_url: str, *args: Any) -> Any:
        planned.append(page_url)
        return plan_page(self, page, page_url, *args)

    monkeypatch.setattr(checker.Checker, "_plan_page", counting)
    write(tmp_path, {"en/p4/index.html": page(4, extra="<p>edited</p>")})
    await stage.run(context(tmp_path, cache, tmp_path / "ws", None))
    assert [u.rsplit("/", 2)[-2] for u in planned] == ["p4"]
    # another cache folder (another site or language) plans its own pages
    await stage.run(context(tmp_path, tmp_path / "other-cache", tmp_path / "ws2", None))
    assert len(planned) == 1 + PAGES + 1


@pytest.mark.parametrize("url", [
    "https://docs.example/", "https://docs.example", "HTTPS://DOCS.EXAMPLE/en/", "https://docs.example?q",
    "https://docs.example#top", "https://docs.example:443/", "https://docs.example.org/", "https://user@docs.example/",
    "http://docs.example/", "https://docs.exampl/", "https:docs.example/", "https:///docs.example/", "//docs.example/",
    " https://docs.example/", "\thttps://docs.example/", "https://docs.\nexample/", "https://docs.example[/",
    "https://\u212a.example/", "https://\u0130docs.example/", "mailto:a@docs.example", "", "/en/", "#top",
])
def test_the_origin_test_agrees_with_urlsplit(url: str) -> None:
    root = files.SiteRoot.create(Path("."), "https://docs.example/")
    try:
        parts = urllib.parse.urlsplit(url)
        expected = (parts.scheme.lower(), parts.netloc.lower()) == ("https", "docs.example")
    except ValueError:
        expected = False
    assert root.contains(url) is expected
    kelvin = files.SiteRoot.create(Path("."), "https://k.example/")
    kelvin_url = "https://\u212a.example/x"  # the Kelvin sign lower-cases to an ASCII k
    assert kelvin.contains(kelvin_url) == (urllib.parse.urlsplit(kelvin_url).netloc.lower() == "k.example")


def test_the_resolve_below_the_root_is_path_resolve(tmp_path: Path) -> None:
    root = tmp_path / "site"
    (root / "en" / "guide").mkdir(parents=True)
    (root / "en" / "guide" / "index.html").write_text("guide")
    (root / "outside.html").write_text("x")
    (tmp_path / "secret").mkdir()
    (root / "en" / "alias").symlink_to(root / "en" / "guide")
    (root / "en" / "escape").symlink_to(tmp_path / "secret")
    (root / "en" / "page.html").symlink_to(root / "outside.html")
    site = files.SiteRoot.create(root)
    for rel in ["", "en", "en/", "en/guide/", "en//guide/index.html", "en/alias/", "en/alias/index.html",
                "en/escape/", "en/escape/x.html", "en/page.html", "en/missing/deeper/x", "en/guide/../alias/",
                "./en/guide", "/etc/passwd", "en/guide/index.html/x"]:
        assert site._real(rel) == (site.root / rel).resolve(), rel
