"""The dashboard over HTTP without a browser: access, CSRF, fragments, the global event stream."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pipeline.api import auth as auth_mod
from pipeline.api.keys import store_key
from pipeline.app import create_app
from pipeline.store import JobSpec
from tests.dashboard.helpers import ADMIN_TOKEN, READ_TOKEN, SUBMIT_TOKEN, TOKENS


@pytest.fixture
async def token_client(aiohttp_client: Any, make_config: Any, tokens_env: None) -> Any:
    app = create_app(make_config(server={"auth": "token", "tokens": TOKENS}), run_worker=False)
    return await aiohttp_client(app)


@pytest.fixture
async def open_client(aiohttp_client: Any, make_config: Any) -> Any:
    return await aiohttp_client(create_app(make_config(), run_worker=False))


async def pending_job(client: Any, **spec: Any) -> str:
    return (await client.app[store_key].submit(JobSpec(kind="build", dedupe=False, **spec))).job.id


async def session(client: Any, token: str) -> str:
    """Log in through the form like a browser; returns the page's CSRF token."""
    form = await client.get("/login")
    nonce = form.cookies["pressroom_login"].value
    resp = await client.post("/login", data={"token": token, "csrf_token": nonce, "next": "/"}, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    cookie = resp.cookies["pressroom_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
    assert token not in cookie.value  # a random session ID, never the token
    return auth_mod.csrf_token(cookie.value)


async def test_pages_need_a_login_and_redirect_back(token_client: Any) -> None:
    for path in ("/", "/reviews", "/health"):
        resp = await token_client.get(path, allow_redirects=False)
        assert resp.status == 303
        assert resp.headers["Location"] == f"/login?next={path}"
    assert (await token_client.get("/api/events")).status == 401


async def test_login_refuses_a_form_from_elsewhere_and_a_bad_token(token_client: Any) -> None:
    resp = await token_client.post("/login", data={"token": ADMIN_TOKEN, "csrf_token": "guess"}, allow_redirects=False)
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "csrf_failed"
    await token_client.get("/login")
    nonce = token_client.session.cookie_jar.filter_cookies(token_client.make_url("/login"))["pressroom_login"].value
    bad = await token_client.post("/login", data={"token": "nope", "csrf_token": nonce}, allow_redirects=False)
    assert bad.status == 401 and "That token is not valid." in await bad.text()


@pytest.mark.parametrize("next_url", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
async def test_login_never_redirects_off_site(token_client: Any, next_url: str) -> None:
    form = await token_client.get("/login")
    nonce = form.cookies["pressroom_login"].value
    resp = await token_client.post("/login", data={"token": READ_TOKEN, "csrf_token": nonce, "next": next_url},
                                   allow_redirects=False)
    assert resp.headers["Location"] == "/"


async def test_cookie_posts_need_the_csrf_token_bearer_posts_do_not(token_client: Any) -> None:
    csrf = await session(token_client, SUBMIT_TOKEN)
    a = await pending_job(token_client)
    forged = await token_client.post(f"/api/builds/{a}/cancel")
    assert forged.status == 403 and (await forged.json())["error"]["code"] == "csrf_failed"
    wrong = await token_client.post(f"/api/builds/{a}/cancel", headers={"X-CSRF-Token": auth_mod.csrf_token("other")})
    assert wrong.status == 403
    assert (await token_client.app[store_key].get(a)).status == "PENDING"
    ok = await token_client.post(f"/api/builds/{a}/cancel", headers={"X-CSRF-Token": csrf})
    assert ok.status == 202 and (await ok.json())["status"] == "CANCELLED"

    b = await pending_job(token_client)
    token_client.session.cookie_jar.clear()
    bearer = await token_client.post(f"/api/builds/{b}/cancel", headers={"Authorization": f"Bearer {SUBMIT_TOKEN}"})
    assert bearer.status == 202


async def test_form_field_carries_the_csrf_token_and_logout_needs_it(token_client: Any) -> None:
    csrf = await session(token_client, ADMIN_TOKEN)
    refused = await token_client.post("/logout", data={}, allow_redirects=False)
    assert refused.status == 403
    out = await token_client.post("/logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert out.status == 303 and out.headers["Location"] == "/login"
    assert (await token_client.get("/", allow_redirects=False)).status == 303


async def test_read_scope_sees_pages_without_buttons(token_client: Any) -> None:
    await session(token_client, READ_TOKEN)
    job_id = await pending_job(token_client)
    await token_client.app[store_key].update_result(job_id, {"review": {"state": "pending", "target": "production",
                                                                         "diff": {"added": ["a.html"]}}})
    for path in ("/", f"/builds/{job_id}", "/reviews", "/health"):
        resp = await token_client.get(path)
        body = await resp.text()
        assert resp.status == 200, path
        assert "data-action=" not in body, path
        assert resp.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert "a.html" in await (await token_client.get("/reviews")).text()


async def test_admin_sees_review_buttons_and_replay(token_client: Any) -> None:
    csrf = await session(token_client, ADMIN_TOKEN)
    job_id = await pending_job(token_client)
    await token_client.app[store_key].update_result(job_id, {"review": {"state": "pending"}})
    page = await (await token_client.get(f"/builds/{job_id}")).text()
    assert 'data-action="approve"' in page and 'data-action="cancel"' in page
    assert f'name="csrf-token" content="{csrf}"' in page


async def test_open_mode_banner_and_cross_origin_posts_refused(open_client: Any) -> None:
    page = await (await open_client.get("/")).text()
    assert "Authentication is off" in page
    job_id = await pending_job(open_client)
    cross = await open_client.post(f"/api/builds/{job_id}/cancel", headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status == 403 and (await cross.json())["error"]["code"] == "csrf_failed"
    other = await open_client.post(f"/api/builds/{job_id}/cancel", headers={"Origin": "http://evil.example"})
    assert other.status == 403
    same = await open_client.post(f"/api/builds/{job_id}/cancel",
                                  headers={"Sec-Fetch-Site": "same-origin", "Origin": str(open_client.make_url("/"))[:-1]})
    assert same.status == 202
    cli = await open_client.post(f"/api/builds/{await pending_job(open_client)}/cancel")
    assert cli.status == 202, "a client without browser headers (the CLI) is unaffected"


async def test_rows_fragment_follows_the_filters(open_client: Any) -> None:
    main = await pending_job(open_client, supersede_key="main", trigger={"kind": "commit", "sha": "abc"})
    other = await pending_job(open_client, supersede_key="release")
    body = await (await open_client.get(f"/fragments/rows?ids={main},{other},missing&branch=main")).json()
    assert body["rows"][other] is None and body["rows"]["missing"] is None
    assert f'id="job-{main}"' in body["rows"][main] and "Pending" in body["rows"][main] and "#1" in body["rows"][main]


async def test_builds_page_filters_and_paginates(open_client: Any) -> None:
    ids = [await pending_job(open_client, supersede_key="main" if i % 2 else "dev") for i in range(55)]
    page = await (await open_client.get("/")).text()
    assert page.count('<tr id="job-') == 50 and "Older →" in page
    assert f'id="job-{ids[-1]}"' in page and f'id="job-{ids[0]}"' not in page
    dev = await (await open_client.get("/?branch=dev")).text()
    assert dev.count('<tr id="job-') == 28


async def test_global_event_stream_resumes_after_an_id(open_client: Any) -> None:
    store = open_client.app[store_key]
    first = await pending_job(open_client)
    after = await store.last_event_id()
    second = await pending_job(open_client)
    async with open_client.get(f"/api/events?after={after}") as resp:
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        text = ""
        async with asyncio.timeout(10):
            while second not in text:
                text += (await resp.content.readany()).decode()
    assert first not in text and "event: status" in text and '"status": "PENDING"' in text
    assert "/api/events" in (await (await open_client.get("/api/openapi.json")).json())["paths"]


async def test_log_tail_continues_from_an_offset(open_client: Any, make_config: Any) -> None:
    job_id = await pending_job(open_client)
    log = make_config().data_path / "jobs" / job_id / "log.txt"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("one\ntwo\n")
    first = await open_client.get(f"/builds/{job_id}/log.txt")
    assert await first.text() == "one\ntwo\n" and first.headers["X-Log-Offset"] == "8"
    with log.open("a") as fh:
        fh.write("three\n")
    more = await open_client.get(f"/builds/{job_id}/log.txt?offset=8")
    assert await more.text() == "three\n" and more.headers["X-Log-Offset"] == "14"


async def test_unknown_build_page_is_a_404_page(open_client: Any) -> None:
    resp = await open_client.get("/builds/bld_nope")
    assert resp.status == 404 and "No such job" in await resp.text()


async def test_review_page_links_point_at_the_staged_site_not_the_dashboard(token_client: Any) -> None:
    """a diff's page links open the staged site on the sites origin."""
    await session(token_client, READ_TOKEN)
    job_id = await pending_job(token_client)
    live = "http://127.0.0.1:9/sites/staging/"
    await token_client.app[store_key].update_result(job_id, {"live_url": live, "review": {
        "state": "pending", "target": "production", "diff": {"changed": [{"url": "en/guide/"}]}}})
    page = await (await token_client.get("/reviews")).text()
    assert f'href="{live}en/guide/"' in page and f'href="{live}" rel="noopener">staging site' in page
