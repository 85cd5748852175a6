"""Dashboard sessions: the cookie holds a random session ID that expires, is listed and
revocable by an admin, ends at sign-out, and ends when its token leaves the config."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from pipeline.api import auth as auth_mod
from pipeline.app import create_app
from pipeline.store import Store
from tests.dashboard.helpers import ADMIN_TOKEN, READ_TOKEN, TOKENS


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def clocked(make_config: Callable[..., Any], tokens_env: None) -> AsyncIterator[tuple[Any, Store, Clock]]:
    cfg = make_config(server={"auth": "token", "tokens": TOKENS, "session_days": 14})
    clock = Clock()
    store = await Store.open(cfg.store_url, clock=clock)
    yield cfg, store, clock
    await store.close()


async def sign_in(client: Any, token: str) -> tuple[str, str]:
    """Through the form, as a browser; returns (session cookie value, CSRF token)."""
    form = await client.get("/login")
    nonce = form.cookies["pressroom_login"].value
    resp = await client.post("/login", data={"token": token, "csrf_token": nonce, "next": "/"}, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    cookie = resp.cookies[auth_mod.SESSION_COOKIE]
    assert int(cookie["max-age"]) == 14 * 86400
    return cookie.value, auth_mod.csrf_token(cookie.value)


def cookie_only(client: Any, value: str) -> None:
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({auth_mod.SESSION_COOKIE: value})


async def test_the_cookie_is_a_session_id_not_the_token(aiohttp_client: Any, clocked: Any) -> None:
    cfg, store, _ = clocked
    client = await aiohttp_client(create_app(cfg, store=store, run_worker=False))
    sid, _csrf = await sign_in(client, ADMIN_TOKEN)
    assert ADMIN_TOKEN not in sid and len(sid) >= 40
    assert (await client.get("/api/builds")).status == 200  # the cookie works on the API as on pages
    # ...but the session ID is no token: it cannot be used as one, and the store never holds it.
    client.session.cookie_jar.clear()
    assert (await client.get("/api/builds", headers={"Authorization": f"Bearer {sid}"})).status == 401
    rows = [dict(r) for r in await store.list_sessions()]
    assert len(rows) == 1 and sid not in str(rows) and ADMIN_TOKEN not in str(rows)
    # A legacy cookie holding the raw token signs nobody in any more.
    client.session.cookie_jar.update_cookies({"pressroom_token": ADMIN_TOKEN})
    assert (await client.get("/api/builds")).status == 401


async def test_admin_lists_and_revokes_sessions_by_handle(aiohttp_client: Any, clocked: Any) -> None:
    cfg, store, _ = clocked
    client = await aiohttp_client(create_app(cfg, store=store, run_worker=False))
    reader_sid, _ = await sign_in(client, READ_TOKEN)
    assert (await client.get("/api/sessions")).status == 403  # admin only
    admin_sid, csrf = await sign_in(client, ADMIN_TOKEN)
    listed = await (await client.get("/api/sessions")).json()
    by_name = {s["principal"]: s for s in listed["sessions"]}
    assert set(by_name) == {"viewer", "lead"}
    assert by_name["lead"]["current"] is True and by_name["viewer"]["current"] is False
    assert by_name["viewer"]["token_valid"] is True
    text_ = str(listed)
    assert reader_sid not in text_ and admin_sid not in text_ and "id_hash" not in text_

    handle = by_name["viewer"]["handle"]
    assert (await client.delete(f"/api/sessions/{handle}")).status == 403  # cookie DELETE needs the CSRF token
    resp = await client.delete(f"/api/sessions/{handle}", headers={"X-CSRF-Token": csrf})
    assert resp.status == 200 and (await resp.json()) == {"revoked": handle}
    cookie_only(client, reader_sid)
    assert (await client.get("/api/builds")).status == 401
    page = await client.get("/", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"].startswith("/login")
    cookie_only(client, admin_sid)
    again = await client.post(f"/api/sessions/{handle}/revoke", headers={"X-CSRF-Token": csrf})
    assert again.status == 404 and (await again.json())["error"]["code"] == "session_not_found"
    client.session.cookie_jar.clear()
    bearer = await client.get("/api/sessions", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert [s["principal"] for s in (await bearer.json())["sessions"]] == ["lead"]


async def test_sign_out_deletes_the_session(aiohttp_client: Any, clocked: Any) -> None:
    cfg, store, _ = clocked
    client = await aiohttp_client(create_app(cfg, store=store, run_worker=False))
    sid, csrf = await sign_in(client, ADMIN_TOKEN)
    out = await client.post("/logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert out.status == 303
    assert await store.list_sessions() == []
    cookie_only(client, sid)  # a copy of the cookie taken before sign-out
    assert (await client.get("/api/builds")).status == 401


async def test_sessions_expire(aiohttp_client: Any, clocked: Any) -> None:
    cfg, store, clock = clocked
    client = await aiohttp_client(create_app(cfg, store=store, run_worker=False))
    await sign_in(client, READ_TOKEN)
    clock.now += 13 * 86400
    assert (await client.get("/api/builds")).status == 200  # use does not extend it (absolute expiry)
    clock.now += 86400 + 1
    assert (await client.get("/api/builds")).status == 401
    assert await store.list_sessions() == []


async def test_removing_a_token_from_the_config_ends_its_sessions(aiohttp_client: Any, clocked: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    cfg, store, _ = clocked
    client = await aiohttp_client(create_app(cfg, store=store, run_worker=False))
    sid, _ = await sign_in(client, ADMIN_TOKEN)
    monkeypatch.setenv("DASH_TEST_ADMIN", "a-rotated-admin-token")  # the daemon restarts with a new token
    restarted = await aiohttp_client(create_app(cfg, store=store, run_worker=False))
    listed = await (await restarted.get("/api/sessions", headers={"Authorization": "Bearer a-rotated-admin-token"})).json()
    assert [s["token_valid"] for s in listed["sessions"]] == [False]
    cookie_only(restarted, sid)
    assert (await restarted.get("/api/builds")).status == 401
    assert await store.list_sessions() == []


async def test_migration_adds_the_sessions_table_to_an_older_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    await (await Store.open(url)).close()
    engine = create_engine(url)
    with engine.begin() as conn:  # back to a v2 store: no sessions table
        conn.execute(text("DROP TABLE sessions"))
        conn.execute(text("DELETE FROM schema_version WHERE version = 3"))
    engine.dispose()
    store = await Store.open(url)
    try:
        await store.create_session(id_hash="h" * 64, handle="abc", principal="lead", token_hash="t" * 64,
                                   expires_at=store.clock() + 60)
        assert (await store.session("h" * 64) or {}).get("handle") == "abc"
    finally:
        await store.close()


async def test_bad_tokens_at_the_sign_in_form_count_toward_the_guessing_limit(
        aiohttp_client: Any, make_config: Callable[..., Any], tokens_env: None) -> None:
    """The form is a second door for guessing tokens: it spends the same per-address allowance."""
    cfg = make_config(server={"auth": "token", "tokens": TOKENS, "auth_failures_per_minute": 3})
    client = await aiohttp_client(create_app(cfg, run_worker=False))
    statuses = []
    for guess in ("wrong-1", "wrong-2", "wrong-3", ADMIN_TOKEN):
        form = await client.get("/login")
        nonce = form.cookies["pressroom_login"].value
        resp = await client.post("/login", data={"token": guess, "csrf_token": nonce, "next": "/"},
                                 allow_redirects=False)
        statuses.append(resp.status)
    # Three misses spend the allowance; even the right token is refused during the lockout.
    assert statuses == [401, 401, 401, 429]
    # ...and the API from the same address is locked out too.
    api = await client.get("/api/builds", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert api.status == 429 and api.headers.get("Retry-After")
