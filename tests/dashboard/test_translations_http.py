"""Translations on the dashboard over HTTP: ``GET /api/languages``, the build page's panel, the
languages page, and hostile language codes and page names shown as text."""

from __future__ import annotations

import html
import re
import time
from typing import Any

import pytest
from markupsafe import escape

from pipeline.api.keys import openapi_key, store_key
from pipeline.app import create_app
from pipeline.dashboard import translations
from pipeline.store import Store
from tests.dashboard import translations_seed as ts
from tests.dashboard.helpers import READ_TOKEN, TOKENS
from tests.dashboard.seed import Clock

DAY = 86400.0
HOSTILE_LANG = '<img src=x onerror="alert(1)">'
HOSTILE_PAGE = '"><script>alert("page")</script>.md'


async def seeded_history(store: Store, now: float) -> dict[str, Any]:
    """German over three days (50 -> 60 -> 75 %), Spanish once, French failing after one good run."""
    clock = Clock(now)
    store.clock = clock
    ids: dict[str, Any] = {"de": [], "fr": []}
    for i, (days_ago, translated) in enumerate([(20, 20), (10, 24), (1, 30)]):
        parent = await ts.build(clock=clock, store=store, at=now - days_ago * DAY)
        ids["de"].append(await ts.translation(store, clock, parent, "de", now - days_ago * DAY + 20,
                                              ts.figures(translated, stale=2 + i, missing=18 - i - (translated - 20), machine=0),
                                              live_url="http://127.0.0.1:9/sites/production/de/"))
        if days_ago == 20:
            ids["fr"].append(await ts.translation(store, clock, parent, "fr", now - days_ago * DAY + 40, ts.figures(10, missing=30)))
        if days_ago == 1:
            ids["es"] = await ts.translation(store, clock, parent, "es", now - DAY + 40, ts.figures(36, stale=1, missing=1, machine=2))
            ids["fr"].append(await ts.translation(store, clock, parent, "fr", now - DAY + 60, None, status="FAILED"))
            ids["build"] = parent
    clock.now = now
    return ids


@pytest.fixture
async def open_client(aiohttp_client: Any, make_config: Any) -> Any:
    return await aiohttp_client(create_app(make_config(), run_worker=False))


def _clocked(client: Any) -> tuple[Store, Clock, float]:
    """The app's store on a test clock set to now."""
    store: Store = client.app[store_key]
    now = time.time()
    clock = Clock(now)
    store.clock = clock
    return store, clock, now


@pytest.fixture
async def token_client(aiohttp_client: Any, make_config: Any, tokens_env: None) -> Any:
    return await aiohttp_client(create_app(make_config(server={"auth": "token", "tokens": TOKENS}), run_worker=False))


async def test_languages_api_gives_latest_figures_and_history_oldest_first(open_client: Any) -> None:
    now = time.time()
    ids = await seeded_history(open_client.app[store_key], now)
    resp = await open_client.get("/api/languages")
    assert resp.status == 200
    body = await resp.json()
    langs = body["languages"]
    assert list(langs) == ["de", "es", "fr"]
    de = langs["de"]
    assert [h["completion"] for h in de["history"]] == [50.0, 60.0, 75.0]
    assert [h["job_id"] for h in de["history"]] == ids["de"]
    assert de["history"][0]["at"] < de["history"][-1]["at"]
    assert de["history"][-1] | {"at": None} == {"at": None, "completion": 75.0, "translated": 30, "stale": 4, "missing": 6,
                                                "machine": 0, "job_id": ids["de"][-1]}
    assert de["latest"] == {"translation_id": ids["de"][-1], "build_id": ids["build"], "status": "COMPLETED",
                            "completion": 75.0, "translated": 30, "stale": 4, "missing": 6, "machine": 0,
                            "live_url": "http://127.0.0.1:9/sites/production/de/", "finished_at": de["history"][-1]["at"]}
    es = langs["es"]["latest"]
    assert (es["completion"], es["translated"], es["stale"], es["missing"], es["machine"]) == (90.0, 36, 1, 1, 2)
    fr = langs["fr"]
    assert fr["latest"]["status"] == "FAILED" and fr["latest"]["translation_id"] == ids["fr"][1]
    assert fr["latest"]["completion"] is None and fr["latest"]["translated"] is None
    assert [h["job_id"] for h in fr["history"]] == [ids["fr"][0]], "a failed job counted nothing: not in the trend"


async def test_languages_api_window_is_bounded_and_checked(open_client: Any) -> None:
    now = time.time()
    ids = await seeded_history(open_client.app[store_key], now)
    week = await (await open_client.get("/api/languages?days=7")).json()
    assert [h["job_id"] for h in week["languages"]["de"]["history"]] == ids["de"][-1:]
    assert "fr" in week["languages"] and week["languages"]["fr"]["history"] == []
    fortnight = await (await open_client.get("/api/languages", params={"days": "15"})).json()
    assert len(fortnight["languages"]["de"]["history"]) == 2 and fortnight["days"] == 15
    for bad in ("0", "abc", "367", "-3"):
        resp = await open_client.get("/api/languages", params={"days": bad})
        assert resp.status == 400, bad
        assert (await resp.json())["error"]["code"] == "bad_request"


async def test_languages_api_needs_the_read_scope(token_client: Any) -> None:
    store = token_client.app[store_key]
    await seeded_history(store, time.time())
    assert (await token_client.get("/api/languages")).status == 401
    ok = await token_client.get("/api/languages", headers={"Authorization": f"Bearer {READ_TOKEN}"})
    assert ok.status == 200 and "de" in (await ok.json())["languages"]
    one_job = (await store.list_jobs(kind="translate", limit=1))[0][0]
    per_job = await token_client.get("/api/languages", headers={"Authorization": f"Bearer {one_job.read_token}"})
    assert per_job.status == 403, "a per-job read token reads its own job, not every language"
    page = await token_client.get("/languages", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"].startswith("/login")
    signed = await token_client.get("/languages", headers={"Authorization": f"Bearer {READ_TOKEN}"})
    assert signed.status == 200 and 'id="languages"' in await signed.text()


async def test_openapi_document_lists_the_languages_route_and_the_answer_matches_it(open_client: Any) -> None:
    import jsonschema

    op = open_client.app[openapi_key]["paths"]["/api/languages"]["get"]
    await seeded_history(open_client.app[store_key], time.time())
    answer = await (await open_client.get("/api/languages")).json()
    jsonschema.Draft202012Validator(op["responses"]["200"]["content"]["application/json"]["schema"]).validate(answer)
    assert op["operationId"] == "listLanguages"
    assert op["parameters"][0]["name"] == "days" and op["parameters"][0]["schema"]["default"] == 90
    latest = op["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["languages"][
        "additionalProperties"]["properties"]["latest"]["properties"]
    assert {"translation_id", "build_id", "status", "completion", "translated", "stale", "missing", "machine",
            "live_url", "finished_at"} <= set(latest)


def bars(page: str) -> dict[str, dict[str, str]]:
    """Per language on the build page: its counts as shown in the text legend."""
    out: dict[str, dict[str, str]] = {}
    for lang, body in re.findall(r'<li class="tr-row" data-lang="([^"]*)"(.*?)</li>\s*(?=<li class="tr-row"|</ul>)', page, re.S):
        out[html.unescape(lang)] = dict(re.findall(r'data-count="(\w+)">.*?<span class="n">(\d+)</span>', body, re.S))
    return out


async def test_build_page_shows_one_bar_per_language_with_its_counts(open_client: Any) -> None:
    store = open_client.app[store_key]
    now = time.time()
    ids = await seeded_history(store, now)
    clock = Clock(now)
    store.clock = clock
    running = await ts.translation(store, clock, ids["build"], "zh", now, ts.figures(5, stale=1, missing=34), finish=False)
    page = await (await open_client.get(f"/builds/{ids['build']}")).text()
    assert page.count('class="tr-row"') == 4
    shown = bars(page)
    assert shown["de"] == {"translated": "30", "stale": "4", "missing": "6", "machine": "0"}
    assert shown["es"] == {"translated": "36", "stale": "1", "missing": "1", "machine": "2"}
    assert shown["zh"] == {"translated": "5", "stale": "1", "missing": "34", "machine": "0"}, "a running job shows its stage's counts"
    assert shown["fr"] == {}, "the failed job counted nothing"
    assert "75.0%</strong> complete" in page and "90.0%</strong> complete" in page
    assert f'href="/builds/{ids["de"][-1]}"' in page and f'href="/api/translations/{ids["de"][-1]}/status"' in page
    watched = re.search(r'data-watch="([^"]*)"', page)
    assert watched and running in watched[1].split() and len(watched[1].split()) == 4, "the page follows every language"
    assert 'href="http://127.0.0.1:9/sites/production/de/"' in page
    assert "No figures: this translation stopped before it counted its pages." in page
    fragment = await (await open_client.get(f"/fragments/build/{ids['build']}")).text()
    assert bars(fragment) == shown, "the live redraw shows the same panel"
    own = await (await open_client.get(f"/builds/{ids['es']}")).text()
    assert list(bars(own)) == ["es"], "a translate job's own page shows its bar"


async def test_build_without_translations_has_no_panel(open_client: Any) -> None:
    store = open_client.app[store_key]
    clock = Clock(time.time())
    store.clock = clock
    parent = await ts.build(store, clock, time.time())
    assert 'id="translations"' not in await (await open_client.get(f"/builds/{parent}")).text()


async def test_hostile_language_codes_and_page_names_are_text(open_client: Any) -> None:
    store, clock, now = _clocked(open_client)
    parent = await ts.build(store, clock, now - 100)
    job = await ts.translation(store, clock, parent, HOSTILE_LANG, now - 50, ts.figures(3, stale=1, missing=1),
                               pages={HOSTILE_PAGE: "stale", "guide/ok.md": "missing"},
                               live_url="javascript:alert(1)")
    for path in (f"/builds/{parent}", f"/fragments/build/{parent}", f"/builds/{job}", "/languages"):
        text = await (await open_client.get(path)).text()
        assert "<img src=x" not in text and "<script>alert" not in text, path
        assert "javascript:" not in text, path
        assert str(escape(HOSTILE_LANG)) in text, path
    page = await (await open_client.get(f"/builds/{parent}")).text()
    assert "&lt;script&gt;alert(" in page, "the page name is listed, as text"
    assert bars(page)[HOSTILE_LANG] == {"translated": "3", "stale": "1", "missing": "1", "machine": "0"}
    api = await open_client.get("/api/languages")
    assert api.content_type == "application/json"
    assert HOSTILE_LANG in (await api.json())["languages"]


async def test_languages_page_draws_the_trend_and_the_latest_table(open_client: Any) -> None:
    now = time.time()
    ids = await seeded_history(open_client.app[store_key], now)
    page = await (await open_client.get("/languages")).text()
    assert '<a href="/languages" aria-current="page">Languages</a>' in page
    assert page.count('<tr data-lang="') == 3
    chart = page.split('id="languages-chart"', 1)[1].split("</figure>", 1)[0]
    assert chart.count("<polyline") >= 2 and ">de" in chart and ">es" in chart
    de_row = page.split('<tr data-lang="de">', 1)[1].split("</tr>", 1)[0]
    assert "75.0%" in de_row and f'href="/builds/{ids["de"][-1]}"' in de_row and f'href="/builds/{ids["build"]}"' in de_row
    fr_row = page.split('<tr data-lang="fr">', 1)[1].split("</tr>", 1)[0]
    assert "Failed" in fr_row and "–" in fr_row
    assert 'id="trend-table"' in page and "50.0%" in page and "60.0%" in page


async def test_languages_page_without_translations(open_client: Any) -> None:
    page = await (await open_client.get("/languages?days=nonsense")).text()
    assert "No translate job has finished in this period." in page and "No data in this period." in page


def test_trend_carries_the_last_figure_over_days_without_a_job() -> None:
    now = 1_767_000_000.0  # a fixed instant: days are UTC calendar days
    iso = translations.languages.iso
    view = {"de": {"latest": {}, "history": [{"at": iso(now - 3 * DAY), "completion": 40.0},
                                             {"at": iso(now - 3 * DAY + 60), "completion": 45.0},
                                             {"at": iso(now - DAY), "completion": 60.0}]},
            "es": {"latest": {}, "history": [{"at": iso(now), "completion": 10.0}]}}
    labels, series = translations.completion_trend(view, now, 90)
    assert len(labels) == 4, "the axis starts at the first day with data"
    assert series == [{"name": "de", "values": [45.0, 45.0, 60.0, 60.0]}, {"name": "es", "values": [None, None, None, 10.0]}]
    assert translations.completion_trend({}, now, 90) == ([], [])


def test_figures_fall_back_to_the_stage_outputs_and_compute_completion() -> None:
    fig = translations.languages.figures({"outputs": {"translate": {"translated": 3, "stale": 1, "missing": 0, "machine": 0}}})
    assert fig is not None and fig["completion"] == 75.0 and fig["source_pages"] == 4
    assert translations.languages.figures({}) is None
    stopped = {"translation": {"language": "de", "completion": None, "translated": None, "stale": None, "missing": None,
                               "machine": None, "published": False, "needs_review": False}}
    assert translations.languages.figures(stopped) is None, "a job that stopped before counting has null counts"
    odd = translations.languages.figures({"translation": {"translated": "9", "stale": -1, "missing": True, "machine": 2}})
    assert odd is not None and (odd["translated"], odd["stale"], odd["missing"], odd["machine"]) == (0, 0, 0, 2)


async def test_store_lists_finished_translate_jobs_newest_first_bounded(open_client: Any) -> None:
    store = open_client.app[store_key]
    now = time.time()
    ids = await seeded_history(store, now)
    runs = await store.translation_runs()
    assert [r["finished_at"] for r in runs] == sorted((r["finished_at"] for r in runs), reverse=True)
    assert {r["language"] for r in runs} == {"de", "es", "fr"} and len(runs) == 6
    de = await store.translation_runs(language="de")
    assert [r["id"] for r in de] == ids["de"][::-1] and de[0]["build_id"] == ids["build"]
    assert de[0]["result"]["translation"]["completion"] == 75.0
    assert [r["id"] for r in await store.translation_runs(language="de", since=now - 5 * DAY)] == ids["de"][-1:]
    assert len(await store.translation_runs(limit=2)) == 2
    clock = Clock(now)
    store.clock = clock
    await ts.translation(store, clock, ids["build"], "de", now, ts.figures(1), finish=False)
    assert len(await store.translation_runs(language="de")) == 3, "a running job is not finished"


@pytest.mark.postgres
@pytest.mark.slow
async def test_translation_runs_on_postgresql(pg_server: Any) -> None:
    """The language filter reads the JSON payload differently on PostgreSQL: same answer."""
    now = time.time()
    clock = Clock(now)
    store = await Store.open(pg_server.new_database(), clock=clock, listen=False)
    try:
        ids = await seeded_history(store, now)
        de = await store.translation_runs(language="de", since=now - 15 * DAY)
        assert [r["id"] for r in de] == ids["de"][:0:-1]
        assert translations.languages.languages_view(await store.translation_runs())["de"]["latest"]["completion"] == 75.0
    finally:
        await store.close()


async def test_the_key_lists_each_segment_in_bar_order(open_client: Any) -> None:
    """The panel's colour key comes from the same (state, label) pairs as its bars."""
    store, clock, now = _clocked(open_client)
    parent = await ts.build(store, clock, now - 60)
    await ts.translation(store, clock, parent, "de", now - 30, ts.figures(3, stale=1, missing=1, machine=1))
    page = await (await open_client.get(f"/builds/{parent}")).text()
    key = re.search(r'<p class="tr-key[^"]*"[^>]*>(.*?)</p>', page, re.S)
    assert key is not None
    shown = re.findall(r'<rect class="seg seg-(\w+)"[^>]*/></svg>([^<]*)</span>', key[1])
    assert shown == [("translated", "translated"), ("stale", "stale"), ("missing", "missing"),
                     ("machine", "machine translated")]
    assert tuple(shown) == translations.SEGMENTS
    counted = re.findall(r'data-count="(\w+)">.*?</svg><span class="n">\d+</span> ([^<]*)</span>', page, re.S)
    assert tuple(counted) == translations.SEGMENTS
