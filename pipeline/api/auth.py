"""Bearer tokens with scopes, per-job read tokens, and token-bucket rate limits.

Scopes: ``read`` sees, ``submit`` submits (and reads), ``admin`` does everything (approve,
replay, raise priority, submit local paths). With ``[server] auth = "none"`` every caller is an
anonymous admin: meant for ``make run`` on loopback, and the dashboard says so in a banner.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp import web

from pipeline import config as config_mod
from pipeline import errors

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


principal_key: web.RequestKey[Principal] = web.RequestKey("principal")


# -- CSRF for cookie sessions (the dashboard) ------------------------------------------------
# A browser sends the session cookie with any request, whoever made the page that sends it; a
# bearer header it never adds by itself. So only requests authenticated by the cookie need proof
# that they come from our own pages: a token derived from the random session ID (never from an
# API token: the cookie holds no token, see pipeline/api/sessions.py), which a foreign page cannot
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
