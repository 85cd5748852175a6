"""Token probing, per-job tokens, bad-token rate limits, deliveries' scope and deep
JSON, each against the real daemon process over HTTP with ``auth = "token"``."""

from __future__ import annotations

import base64
import io
import json
import tarfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.testing import DaemonProcess
from tests.intake.helpers import GENERIC_SECRET, generic_headers

pytestmark = pytest.mark.slow

TOKENS = {"read": "tok-read-0123456789", "submit": "tok-submit-0123456789", "admin": "tok-admin-0123456789"}
TOKEN_TABLES = "".join(f'\n[[server.tokens]]\nname = "{s}-user"\ntoken_env = "T_{s.upper()}"\nscopes = ["{s}"]\n'
                       for s in TOKENS)
ENV = {**{f"T_{s.upper()}": v for s, v in TOKENS.items()}, "PRESSROOM_WEBHOOK_SECRET": GENERIC_SECRET}


def token_daemon(root: Path, server: str = "") -> DaemonProcess:
    """The test daemon with token auth (DaemonProcess writes ``auth = "none"``; flip it here)."""
    root.mkdir(parents=True, exist_ok=True)
    d = DaemonProcess(root, workers=1, extra=TOKEN_TABLES, env=ENV)
    text = d.config.read_text().replace('auth = "none"', f'auth = "token"\n{server}')
    d.config.write_text(text)
    d.start()
    return d


def call(d: DaemonProcess, method: str, path: str, *, token: str | None = None, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any], dict[str, str]]:
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(d.url + path, data=body, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null"), dict(r.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null"), dict(exc.headers)


def tar_gz(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def submit(d: DaemonProcess, text: str) -> dict[str, Any]:
    status, doc, _ = call(d, "POST", "/api/builds?force=1", token=TOKENS["submit"], body=tar_gz({"en/index.md": text}),
                          headers={"Content-Type": "application/gzip"})
    assert status == 202, doc
    return doc


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    d = token_daemon(tmp_path_factory.mktemp("abuse"))
    yield d
    d.stop()


def test_a_bad_token_cannot_probe_job_ids(daemon: DaemonProcess) -> None:
    """Before: a wrong token on a missing job answered 404 job_not_found, on an existing one 401."""
    real = submit(daemon, "# Probe\n")["job_id"]
    for job_id in (real, "build_doesnotexist00000000"):
        for path in (f"/api/builds/{job_id}/status", f"/api/builds/{job_id}/log"):
            status, doc, headers = call(daemon, "GET", path, token="not-a-token")
            assert (status, doc["error"]["code"]) == (401, "unauthorized"), (path, doc)
            assert headers["WWW-Authenticate"].startswith("Bearer")
    status, doc, _ = call(daemon, "GET", "/api/builds/build_doesnotexist00000000/status", token=TOKENS["read"])
    assert (status, doc["error"]["code"]) == (404, "job_not_found")


def test_a_read_token_of_another_job_is_403(daemon: DaemonProcess) -> None:
    """Before: 401 (the token was only compared with the job in the URL); docs/api.md says 403."""
    a, b = submit(daemon, "# A\n"), submit(daemon, "# B\n")
    assert call(daemon, "GET", a["status_url"], token=a["read_token"])[0] == 200
    status, doc, _ = call(daemon, "GET", b["status_url"], token=a["read_token"])
    assert (status, doc["error"]["code"]) == (403, "forbidden")
    assert a["job_id"] in doc["error"]["message"]
    status, doc, _ = call(daemon, "GET", "/api/builds", token=a["read_token"])
    assert (status, doc["error"]["code"]) == (403, "forbidden")


def test_deliveries_need_admin(daemon: DaemonProcess) -> None:
    """Before: any ``read`` token listed deliveries (recipients' addresses and channels)."""
    for scope in ("read", "submit"):
        status, doc, _ = call(daemon, "GET", "/api/deliveries", token=TOKENS[scope])
        assert (status, doc["error"]["code"]) == (403, "forbidden"), scope
        status, doc, _ = call(daemon, "GET", "/api/builds?kind=deliver", token=TOKENS[scope])
        assert (status, doc["error"]["code"]) == (403, "forbidden"), scope
    status, doc, _ = call(daemon, "GET", "/api/deliveries", token=TOKENS["admin"])
    assert status == 200 and doc["deliveries"] == []
    status, doc, _ = call(daemon, "POST", "/api/deliveries/deliver_nope/retry", token=TOKENS["submit"])
    assert status == 403


def _nested(levels: int) -> bytes:
    return b'{"source": {"git": "file:///x", "x": ' + b"[" * levels + b"]" * levels + b"}}"


def test_deeply_nested_json_is_a_400(daemon: DaemonProcess) -> None:
    """Before: 500 internal_error (RecursionError in json.loads) on the API and on signed webhooks."""
    for levels in (100_000, 200):
        body = _nested(levels)
        status, doc, _ = call(daemon, "POST", "/api/builds", token=TOKENS["submit"], body=body,
                              headers={"Content-Type": "application/json"})
        assert (status, doc["error"]["code"]) == (400, "invalid_json"), doc
        assert "nested deeper than 64 levels" in doc["error"]["message"]
        status, doc, _ = call(daemon, "POST", "/hooks/generic", body=body, headers=generic_headers(body))
        assert (status, doc["error"]["code"]) == (400, "invalid_json"), doc
    # The post-commit hook's facts header (base64url JSON) is bounded by the header size, but a few
    # thousand levels still fit in it.
    facts = base64.urlsafe_b64encode(b"[" * 2500 + b"]" * 2500).decode()
    status, doc, _ = call(daemon, "POST", "/hooks/commit", token=TOKENS["submit"], body=b"x",
                          headers={"X-Pressroom-Commit": facts, "Content-Type": "application/gzip"})
    assert (status, doc["error"]["code"]) == (400, "bad_request"), doc
    assert call(daemon, "GET", "/healthz")[0] == 200


def test_bad_tokens_are_rate_limited_per_address(tmp_path: Path) -> None:
    """Before: a guesser could try tokens as fast as the daemon answered, all 401, never 429."""
    d = token_daemon(tmp_path, "auth_failures_per_minute = 3")
    try:
        for i in range(3):
            status, doc, _ = call(d, "GET", "/api/builds", token=f"guess-{i}")
            assert status == 401, doc
        status, doc, headers = call(d, "GET", "/api/builds", token="guess-3")
        assert (status, doc["error"]["code"]) == (429, "rate_limited")
        assert int(headers["Retry-After"]) >= 1
        # While locked out, even the right token gets 429: a hit must look like a miss.
        status, doc, headers = call(d, "GET", "/api/builds", token=TOKENS["read"])
        assert status == 429 and "Retry-After" in headers
    finally:
        d.stop()
