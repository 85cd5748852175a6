"""The checker engine against the planted-fault site, in-process (no LinkChecker involved)."""

from __future__ import annotations

from pathlib import Path

import linkcheck_faultsite as faultsite
from linkcheck_helpers import FaultSite

from stages.linkcheck import checker
from stages.linkcheck.cache import ResultCache
from stages.linkcheck.model import CheckConfig, Row


async def check(*starts: str, cache: ResultCache | None = None, **settings: object) -> checker.Report:
    config = CheckConfig(**{"timeout": 2.0, "retries": 1, **settings})  # type: ignore[arg-type]
    return await checker.Checker(config, cache=cache).run(list(starts))


def row(report: checker.Report, url: str) -> Row:
    matches = [r for r in report.rows if r.requested == url]
    assert matches, f"{url} not in {[r.requested for r in report.rows]}"
    return matches[0]


async def test_each_url_is_fetched_once(fault_site: FaultSite) -> None:
    report = await check(fault_site.url("/"), check_extern=True)
    hits = fault_site.app[faultsite.HITS]
    # ok.html is linked six times (three with fragments) from four pages: one request, plus
    # one at the end of the /r301 -> /r302 chain (a redirect target is requested by its chain).
    assert sum(1 for r in report.rows if r.outcome.url == fault_site.url("/ok.html")) >= 6
    assert hits["/ok.html"] == 2
    assert hits["/img/ok.png"] == 1
    assert hits["/robots.txt"] == 1
    assert report.stats.urls_checked == report.stats.urls_known


async def test_fault_verdicts(fault_site: FaultSite) -> None:
    report = await check(fault_site.url("/"), check_extern=True)
    o = fault_site.origin
    assert row(report, f"{o}/missing.html").outcome.result == "404 Not Found"
    assert row(report, f"{o}/error").outcome.result == "500 Internal Server Error"
    chain = row(report, f"{o}/r301")
    assert chain.valid and chain.url == f"{o}/ok.html"
    assert [t for t, _ in chain.warnings] == ["http-redirected", "http-redirected"]
    assert not row(report, f"{o}/loop-a").valid
    slow = row(report, f"{o}/slow")
    assert not slow.valid and slow.outcome.result.startswith("ReadTimeout")
    assert [t for t, _ in row(report, f"{o}/ok.html#absent").warnings] == ["url-anchor-not-found"]
    assert not row(report, f"{o}/ok.html#named").warnings
    assert not row(report, f"{o}/img/missing-2x.png").valid  # from srcset
    assert not row(report, f"{o}/img/bg-missing.png").valid  # from CSS url()
    assert row(report, f"{o}/base/nothere.html").link.base == f"{o}/base/"
    assert not row(report, f"{o}/a/missing-rel.html").valid
    assert row(report, f"{o}/unicode/caf%C3%A9.html").valid
    assert not row(report, f"{o}/to-js").valid
    assert not row(report, f"{fault_site.external}/ext-missing.html").valid


async def test_retry_after_is_honoured_per_url(fault_site: FaultSite) -> None:
    report = await check(fault_site.url("/rate-once"), fault_site.url("/unavailable-once"), retries=2)
    hits = fault_site.app[faultsite.HITS]
    rate = row(report, fault_site.url("/rate-once"))
    assert rate.valid and rate.outcome.result == "200 OK" and hits["/rate-once"] == 2
    assert row(report, fault_site.url("/unavailable-once")).outcome.result == "200 OK"
    assert hits["/unavailable-once"] == 2


async def test_retry_after_longer_than_the_limit_is_reported_not_waited(fault_site: FaultSite) -> None:
    report = await check(fault_site.url("/rate-long"), max_retry_after=5)
    rate = row(report, fault_site.url("/rate-long"))
    assert rate.valid and rate.outcome.result.startswith("429")
    assert rate.warnings == [("http-rate-limited", "Rate limited (Retry-After: 3600)")]
    assert fault_site.app[faultsite.HITS]["/rate-long"] == 1


async def test_robots_txt_is_honoured_unless_disabled(fault_site: FaultSite) -> None:
    secret = fault_site.url("/private/secret.html")
    report = await check(secret)
    assert row(report, secret).outcome.result == "syntax OK"
    assert fault_site.app[faultsite.HITS]["/private/secret.html"] == 0
    report = await check(secret, robots=False)
    assert row(report, secret).outcome.result == "200 OK"


async def test_per_host_limit_caps_requests_in_flight(fault_site: FaultSite) -> None:
    report = await check(fault_site.url("/conc-index"), per_host=3, concurrency=50)
    assert report.stats.errors == 0 and report.stats.urls_checked == 61
    peak = fault_site.app[faultsite.INFLIGHT][1]
    assert peak >= 1 and peak <= 3


async def test_link_farm_is_bounded_and_reported(fault_site: FaultSite) -> None:
    report = await check(fault_site.url("/farm"), max_urls=200)
    assert report.stats.urls_known == 200
    assert report.stats.truncated == 100_000 - 199
    assert "max_urls=200" in report.stats.notes[0]


async def test_huge_page_is_read_only_up_to_the_limit(fault_site: FaultSite) -> None:
    report = await check(fault_site.url("/huge"), max_page_bytes=256 * 1024)
    huge = row(report, fault_site.url("/huge"))
    assert huge.valid
    assert [t for t, _ in huge.warnings] == ["url-content-size-too-large"]
    assert row(report, fault_site.url("/ok.html")).valid  # the link near the top was found


async def test_bad_input_is_reported_per_url(fault_site: FaultSite) -> None:
    report = await check(fault_site.url("/malformed"), fault_site.url("/garbage"))
    results = {r.link.urlname: r for r in report.rows if r.link.parent}
    for bad in ("http://[bad", "http://", "ht!tp://x", "http://127.0.0.1:99999/", "foo:bar",
                "http://exa mple.com/", "%zz"):
        assert not results[bad].valid, bad
    assert results["javascript:void(0)"].outcome.result == "ignored"
    assert results[""].valid  # an empty href is the page itself, as in a browser
    # a file: link from a web page is outside the site: syntax only, as LinkChecker does
    assert results["file:///definitely/not/here.html"].outcome.result == "filtered"
    assert row(report, fault_site.url("/garbage")).valid


async def test_unreachable_host(unused_tcp_port: int) -> None:
    report = await check(f"http://127.0.0.1:{unused_tcp_port}/")
    [only] = report.rows
    assert not only.valid and only.outcome.result.startswith("ConnectionError")


async def test_file_links_are_checked_on_disk(tmp_path: Path) -> None:
    (tmp_path / "there.txt").write_text("x")
    page = tmp_path / "page.html"
    page.write_text(f'<a href="{(tmp_path / "there.txt").as_uri()}">a</a><a href="gone.txt">b</a>')
    report = await check(page.as_uri())
    assert row(report, (tmp_path / "there.txt").as_uri()).valid
    assert not row(report, (tmp_path / "gone.txt").as_uri()).valid


async def test_good_external_results_are_cached_between_runs(fault_site: FaultSite, tmp_path: Path) -> None:
    start = fault_site.url("/")
    external = f"{fault_site.external}/ext-ok.html"
    report = await check(start, check_extern=True, cache=ResultCache(tmp_path, 3600), recursion_level=1)
    assert not row(report, external).outcome.cached
    report = await check(start, check_extern=True, cache=ResultCache(tmp_path, 3600), recursion_level=1)
    assert row(report, external).outcome.cached and row(report, external).valid
    # A broken external URL is never cached: it is checked again next time.
    assert not row(report, f"{fault_site.external}/ext-missing.html").outcome.cached
    expired = ResultCache(tmp_path, 3600, clock=lambda: 10**12)
    assert expired.get(external) is None


async def test_ignore_and_no_follow(fault_site: FaultSite) -> None:
    report = await check(fault_site.url("/"), ignore=(r"/gone$",), no_follow=(r"/a/b/",))
    assert row(report, fault_site.url("/gone")).outcome.result == "filtered"
    assert row(report, fault_site.url("/a/b/deep.html")).valid
    assert not [r for r in report.rows if r.link.parent == fault_site.url("/a/b/deep.html")]


async def test_recursion_level(fault_site: FaultSite) -> None:
    report = await check(fault_site.url("/"), recursion_level=1)
    assert {r.link.level for r in report.rows} == {0, 1}
    report = await check(fault_site.url("/"), recursion_level=0)
    assert len(report.rows) == 1


async def test_politeness_delay_keeps_verdicts(fault_site: FaultSite) -> None:
    """The delay only spaces request starts to a host; what is found stays the same."""
    fast = await check(fault_site.url("/conc-index"), per_host=4)
    polite = await check(fault_site.url("/conc-index"), per_host=4, politeness_delay=0.001)
    assert [(r.requested, r.valid) for r in polite.rows] == [(r.requested, r.valid) for r in fast.rows]
