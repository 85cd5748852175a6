"""Who is calling and what they may do: bearer tokens with scopes, per-job read tokens, the
dashboard's sign-in sessions, CSRF checks for cookie callers, and token-bucket rate limits.

Scopes: ``read`` sees, ``submit`` submits (and reads), ``admin`` does everything (approve,
replay, raise priority, submit local paths). With ``[server] auth = "none"`` every caller is an
anonymous admin: meant for ``make run`` on loopback, and the dashboard says so in a banner.

Every handler starts with :func:`require` (or :func:`principal` where any caller will do), so the
answer to "who is this" is computed in one place for tokens, job tokens and cookies alike.

Sessions: the sign-in cookie holds a random session ID, never an API token. A token in a cookie
is a token anywhere the cookie goes, for as long as it is valid, and nothing can end it short of
rotating the token everywhere. A session ID is random, stored only as its SHA-256 in the store,
expires (``[server] session_days``, absolute), ends at sign-out, can be listed and revoked by an
admin (``pipeline/api/sessions.py``), and is checked on every request against the token it was
opened with: remove that token from the config and its sessions stop working at once.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp import web

from pipeline import config as config_mod
from pipeline import errors
from pipeline.api.keys import auth_key, config_key, store_key

IMPLIED = {"admin": {"admin", "submit", "read"}, "submit": {"submit", "read"}, "read": {"read"}}


@dataclass(frozen=True)
class Principal:
    name: str
    scopes: frozenset[str]
    job_id: str | None = None
    """Set for a per-job read token: it may read this job only."""

    def allows(self, scope: str, job_id: str | None = None) -> bool:
        if self.job_id is not None:
            return scope == "read" and job_id == self.job_id
        return scope in self.scopes


ANONYMOUS_ADMIN = Principal("anonymous", frozenset(IMPLIED["admin"]))


def parse_tokens_env(value: str) -> list[tuple[str, str, frozenset[str]]]:
    """``name:token:scope+scope,name2:token2:read`` -> [(name, token, scopes)]."""
    out = []
    for item in filter(None, (p.strip() for p in value.split(","))):
        parts = item.split(":")
        if len(parts) != 3:
            raise ValueError(f"PRESSROOM_TOKENS entry {item.split(':')[0]!r}: expected name:token:scopes")
        name, token, scopes = parts
        expanded: set[str] = set()
        for s in scopes.split("+"):
            if s not in IMPLIED:
                raise ValueError(f"PRESSROOM_TOKENS entry {name!r}: unknown scope {s!r}")
            expanded |= IMPLIED[s]
        out.append((name, token, frozenset(expanded)))
    return out


@dataclass
class Bucket:
    rate: float
    capacity: float
    tokens: float
    stamp: float = field(default_factory=time.monotonic)

    def take(self) -> float:
        """0 when allowed, else the seconds until a token is available."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate

    def wait(self) -> float:
        """Like :meth:`take` without spending a token: 0 when one is available."""
        now = time.monotonic()
        tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate


MAX_FAILURE_BUCKETS = 4096
"""Remote addresses whose bad-token allowance is tracked; past it, those not locked out are forgotten."""


class Auth:
    def __init__(self, cfg: config_mod.ServerConfig, env: dict[str, str] | None = None) -> None:
        env = dict(os.environ) if env is None else env
        self.open = cfg.auth == "none"
        self.tokens: list[tuple[str, Principal]] = []
        for t in cfg.tokens:
            value = env.get(t.token_env)
            if value:
                scopes: set[str] = set()
                for s in t.scopes:
                    scopes |= IMPLIED[s]
                self.tokens.append((value, Principal(t.name, frozenset(scopes))))
        if env.get(cfg.tokens_env):
            for name, token, env_scopes in parse_tokens_env(env[cfg.tokens_env]):
                self.tokens.append((token, Principal(name, env_scopes)))
        self.per_token_rate = cfg.rate_limit_per_token
        self.overall = Bucket(cfg.rate_limit_overall, cfg.rate_limit_overall * 2, cfg.rate_limit_overall * 2)
        self.buckets: dict[str, Bucket] = {}
        self.failure_limit = float(cfg.auth_failures_per_minute)
        self.failures: dict[str, Bucket] = {}

    def lookup(self, token: str) -> Principal | None:
        for value, principal in self.tokens:
            if hmac.compare_digest(value.encode(), token.encode()):
                return principal
        return None

    def check_failures(self, remote: str) -> None:
        """429 while ``remote`` has spent its bad-token allowance, whatever token it sends now.

        Checked before the token is looked at: if a correct guess got through during the lockout,
        the answer would still tell a guesser when they hit.
        """
        bucket = self.failures.get(remote)
        wait = bucket.wait() if bucket is not None else 0.0
        if wait:
            raise errors.RateLimited(wait)

    def record_failure(self, remote: str) -> None:
        bucket = self.failures.get(remote)
        if bucket is None:
            if len(self.failures) >= MAX_FAILURE_BUCKETS:
                for key in [k for k, b in self.failures.items() if not b.wait()]:  # keep only locked-out ones
                    del self.failures[key]
            bucket = self.failures[remote] = Bucket(self.failure_limit / 60.0, self.failure_limit, self.failure_limit)
        bucket.take()

    def lookup_digest(self, digest: str) -> Principal | None:
        """The principal of a configured token by :func:`token_digest` (a session's token)."""
        for value, principal in self.tokens:
            if hmac.compare_digest(token_digest(value).encode(), digest.encode()):
                return principal
        return None

    def rate_check(self, key: str) -> None:
        wait = self.overall.take()
        if wait:
            raise errors.RateLimited(wait)
        bucket = self.buckets.get(key)
        if bucket is None:
            rate = self.per_token_rate
            bucket = self.buckets[key] = Bucket(rate, rate * 2, rate * 2)
        wait = bucket.take()
        if wait:
            raise errors.RateLimited(wait)


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.query.get("token") or None  # the dashboard's cookie holds a session ID, not a token


# -- CSRF for cookie sessions (the dashboard) ------------------------------------------------
# A browser sends the session cookie with any request, whoever made the page that sends it; a
# bearer header it never adds by itself. So only requests authenticated by the cookie need proof
# that they come from our own pages: a token derived from the random session ID (never from an
# API token: the cookie holds no token, see the sessions below), which a foreign page cannot
# read or compute. Header and query tokens are unaffected.

SESSION_COOKIE = "pressroom_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(session_id: str) -> str:
    """Stateless (any daemon can check it) and one-way (it does not reveal the session ID)."""
    return hmac.new(session_id.encode(), b"pressroom-csrf-v2", hashlib.sha256).hexdigest()


def token_digest(token: str) -> str:
    """What a session keeps of the token it was opened with: enough to tell that the token is still
    configured (removing it ends the session), useless for signing in."""
    return hashlib.sha256(b"pressroom-session-token:" + token.encode()).hexdigest()


def from_cookie(request: web.Request) -> bool:
    """True when the caller is identified by the session cookie (no bearer header or query token)."""
    if request.headers.get("Authorization", "").lower().startswith("bearer "):
        return False
    return not request.query.get("token") and bool(request.cookies.get(SESSION_COOKIE))


async def check_csrf(request: web.Request, session_id: str) -> None:
    """Refuse a state-changing request authenticated by cookie without the matching CSRF token, or
    one the browser marks as coming from another origin (the sites origin is same-site with the
    dashboard when only the port differs, so SameSite alone would let it through)."""
    if request.method in SAFE_METHODS or not from_cookie(request):
        return
    check_same_origin(request)
    given = request.headers.get(CSRF_HEADER, "")
    if not given and request.content_type == "application/x-www-form-urlencoded":
        given = str((await request.post()).get(CSRF_FIELD) or "")
    if not given or not hmac.compare_digest(given.encode(), csrf_token(session_id).encode()):
        raise errors.CsrfFailed("this form or request lacks a valid CSRF token; reload the page and try again")


def check_same_origin(request: web.Request) -> None:
    """With ``auth = "none"`` there is no cookie to protect, but a foreign web page could still make
    the browser POST to the open daemon; refuse unsafe requests a browser marks as cross-origin."""
    if request.method in SAFE_METHODS or request.headers.get("Authorization"):
        return
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        if site not in ("same-origin", "none"):
            raise errors.CsrfFailed("cross-origin request refused")
        return
    origin = request.headers.get("Origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.host:
        raise errors.CsrfFailed("cross-origin request refused")


# -- Who is calling ---------------------------------------------------------------------------


async def principal(request: web.Request) -> Principal:
    """Who is calling, with rate limiting per token. Raises 401 for a missing or unknown token."""
    auth = request.app[auth_key]
    token = bearer(request)
    if auth.open:
        check_same_origin(request)
        auth.rate_check(token or request.remote or "anonymous")
        return ANONYMOUS_ADMIN
    remote = request.remote or "unknown"
    auth.check_failures(remote)
    if not token:
        session = await resolve_session(request)  # the dashboard's cookie: a session ID, not a token
        if session is None:
            raise errors.Unauthorized("a bearer token is required (Authorization: Bearer <token>)")
        who, session_id = session
        await check_csrf(request, session_id)
        auth.rate_check(who.name)
        return who
    found = auth.lookup(token) or await _job_token(request, token)
    if found is None:
        if not from_cookie(request):  # a stale sign-in cookie is not a guess
            auth.record_failure(remote)
        raise errors.Unauthorized("the bearer token is not valid")
    auth.rate_check(found.name)
    return found


async def _job_token(request: web.Request, token: str) -> Principal | None:
    """A per-job read token, checked before the job in the URL is loaded so that a bad token on a
    missing job is a 401 like any other (job IDs cannot be probed), and a token of another job is
    recognised as valid but not for this job (403)."""
    store = request.app[store_key]
    job_id = request.match_info.get("job_id")
    if job_id:
        try:
            job = await store.get(job_id)
        except errors.JobNotFound:
            job = None
        if job is not None and job.read_token and hmac.compare_digest(job.read_token.encode(), token.encode()):
            return Principal(f"job:{job_id}", frozenset({"read"}), job_id=job_id)
    owner = await store.job_of_read_token(token)
    return Principal(f"job:{owner}", frozenset({"read"}), job_id=owner) if owner else None


async def require(request: web.Request, scope: str, job_id: str | None = None) -> Principal:
    """The caller, if they may use ``scope`` (on ``job_id``); else 401 or 403."""
    who = await principal(request)
    if not who.allows(scope, job_id):
        if who.job_id is not None:
            raise errors.Forbidden(f"this per-job read token reads job {who.job_id} only")
        raise errors.Forbidden(f"this action needs the {scope!r} scope")
    return who


# -- Dashboard sessions -----------------------------------------------------------------------

SESSION_TOUCH_EVERY = 60.0
"""Seconds between two writes of a session's ``last_seen_at`` (a read per request, not a write)."""


def session_digest(session_id: str) -> str:
    """What the store keeps of a session ID: a copy of the table signs nobody in."""
    return hashlib.sha256(session_id.encode()).hexdigest()


async def open_session(request: web.Request, token: str, who: Principal) -> str:
    """Store a new session for ``who`` (signed in with ``token``); returns the cookie's value."""
    store = request.app[store_key]
    session_id = secrets.token_urlsafe(32)
    await store.create_session(id_hash=session_digest(session_id), handle=secrets.token_hex(8), principal=who.name,
                               token_hash=token_digest(token),
                               expires_at=store.clock() + request.app[config_key].server.session_days * 86400,
                               user_agent=request.headers.get("User-Agent"), remote=request.remote)
    return session_id


async def resolve_session(request: web.Request) -> tuple[Principal, str] | None:
    """The principal and session ID behind the request's cookie; None when there is no live session."""
    session_id = request.cookies.get(SESSION_COOKIE, "")
    if not session_id or len(session_id) > 200:
        return None
    store = request.app[store_key]
    row = await store.session(session_digest(session_id))
    if row is None:
        return None
    who = request.app[auth_key].lookup_digest(row["token_hash"])
    if who is None:  # the token was removed from the config: its sessions end with it
        await store.delete_session(session_digest(session_id))
        return None
    if store.clock() - row["last_seen_at"] > SESSION_TOUCH_EVERY:
        await store.touch_session(session_digest(session_id))
    return who, session_id


async def close_session(request: web.Request) -> None:
    """Sign-out: the session is deleted, so a copy of the cookie is worthless from now on."""
    session_id = request.cookies.get(SESSION_COOKIE, "")
    if session_id:
        await request.app[store_key].delete_session(session_digest(session_id))
