"""Intake integrity (tree IDs, credentials, trigger, idempotency, metrics, archive and field limits), against the real daemon over HTTP.

One daemon (``python -m pipeline serve``, token auth, real SQLite) serves the whole module; each
test uses its own content so content dedupe never links two tests. Every test here failed before
its fix: the comment on each says what the daemon answered then.
"""

from __future__ import annotations

import base64
import io
import json
import re
import sqlite3
import subprocess
import tarfile
import threading
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipeline.intake import hookrun
from pipeline.testing import DaemonProcess, until
from tests.conftest import tar_gz
from tests.intake import helpers

pytestmark = pytest.mark.slow

WRITER = "writer-token-for-tests"
READER = "reader-token-for-tests"
TOKENS = """
[[server.tokens]]
name = "writer"
token_env = "PR_TEST_WRITER"
scopes = ["submit"]
[[server.tokens]]
name = "reader"
token_env = "PR_TEST_READER"
scopes = ["read"]
"""
GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "Ada Writer", "GIT_AUTHOR_EMAIL": "ada@example.com",
           "GIT_COMMITTER_NAME": "Ada Writer", "GIT_COMMITTER_EMAIL": "ada@example.com"}


class Http:
    """urllib with a bearer token; answers (status, JSON or text, headers) and never raises on 4xx."""

    def __init__(self, base: str) -> None:
        self.base = base

    def call(self, method: str, path: str, body: bytes | None = None, *, token: str | None = WRITER,
             headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                status, raw, hdrs = r.status, r.read(), dict(r.headers)
        except urllib.error.HTTPError as exc:
            status, raw, hdrs = exc.code, exc.read(), dict(exc.headers)
        try:
            return status, json.loads(raw), hdrs
        except ValueError:
            return status, raw.decode("utf-8", "replace"), hdrs

    def post_json(self, doc: dict[str, Any], **kw: Any) -> tuple[int, Any, dict[str, str]]:
        h = {"Content-Type": "application/json", **kw.pop("headers", {})}
        return self.call("POST", "/api/builds", json.dumps(doc).encode(), headers=h, **kw)

    def post_archive(self, data: bytes, query: str = "", **kw: Any) -> tuple[int, Any, dict[str, str]]:
        h = {"Content-Type": "application/gzip", **kw.pop("headers", {})}
        return self.call("POST", "/api/builds" + query, data, headers=h, **kw)

    def status(self, job_id: str) -> dict[str, Any]:
        code, doc, _ = self.call("GET", f"/api/builds/{job_id}/status", token=READER)
        assert code == 200, doc
        return dict(doc)

    def finished(self, job_id: str) -> dict[str, Any]:
        return until(lambda: (st := self.status(job_id))["finished_at"] and st, f"job {job_id} to finish", 60)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DaemonProcess, Http]]:
    root = tmp_path_factory.mktemp("hardening")
    daemon = DaemonProcess(root, workers=2, extra=TOKENS, env={
        "PR_TEST_WRITER": WRITER, "PR_TEST_READER": READER, "PRESSROOM_GITHUB_SECRET": helpers.GITHUB_SECRET,
        "PRESSROOM_WEBHOOK_SECRET": helpers.GENERIC_SECRET, "GIT_ALLOW_PROTOCOL": "file:http", **GIT_ENV})
    # Token auth: the module's daemon is reached only with the bearer tokens above.
    daemon.config.write_text(daemon.config.read_text().replace('auth = "none"', 'auth = "token"'))
    try:
        daemon.start()
        yield daemon, Http(daemon.url)
    finally:
        daemon.stop()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> helpers.Repos:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    return helpers.make_repos(tmp_path)


def _hook_upload(http: Http, archive: bytes, facts: dict[str, Any], token: str = WRITER) -> tuple[int, Any, dict[str, str]]:
    return http.call("POST", "/hooks/commit", archive, token=token,
                     headers={"Content-Type": "application/gzip", hookrun.HEADER: hookrun.encode_facts(facts)})


def _git_archive(repo: Path) -> bytes:
    return subprocess.run(["git", "archive", "--format=tar.gz", "HEAD"], cwd=repo, capture_output=True, check=True).stdout


# -- 3. tree-ID spoofing ----------------------------------------------------------------------


def test_a_claimed_tree_id_must_be_the_uploaded_tree(served: tuple[DaemonProcess, Http], repo: helpers.Repos) -> None:
    """Before: a ``submit`` token claimed the tree of a commit not yet pushed with other content,
    and the real, signed push of that tree answered ``duplicate: true`` with the attacker's job."""
    _, http = served
    sha, tree = repo.commit({"docs/index.md": "# Real release notes\n"}, "release notes")
    repo.push()
    forged = tar_gz({"docs/index.md": "# Attacker content\n", "mkdocs.yml": "site_name: t\n"})
    code, doc, _ = _hook_upload(http, forged, {"sha": sha, "tree": tree, "branch": "main"})
    assert code == 400 and doc["error"]["code"] == "tree_mismatch", doc
    assert tree in doc["error"]["message"]

    body = helpers.dumps(helpers.github_push(repo, "main", sha, tree))
    code, pushed, _ = http.call("POST", "/hooks/github", body, token=None, headers=helpers.github_headers(body))
    assert code == 202 and pushed["duplicate"] is False, pushed
    assert http.finished(pushed["job_id"])["status"] == "COMPLETED"

    # The honest hook upload of the same commit (git archive HEAD) is accepted and folds into
    # the push's job: the daemon computed the same tree ID git did.
    code, hooked, _ = _hook_upload(http, _git_archive(repo.clone), {"sha": sha, "tree": tree, "branch": "main"})
    assert code == 202 and hooked["duplicate"] is True and hooked["job_id"] == pushed["job_id"], hooked


def test_the_hook_job_takes_the_tree_the_daemon_computed(served: tuple[DaemonProcess, Http], repo: helpers.Repos) -> None:
    _, http = served
    sha, tree = repo.commit({"docs/hooked.md": "# Hooked first\n"}, "hook first")
    code, hooked, _ = _hook_upload(http, _git_archive(repo.clone), {"sha": sha, "tree": tree, "branch": "main"})
    assert code == 202 and hooked["duplicate"] is False, hooked
    repo.push()
    body = helpers.dumps(helpers.github_push(repo, "main", sha, tree))
    code, pushed, _ = http.call("POST", "/hooks/github", body, token=None, headers=helpers.github_headers(body))
    assert code == 202 and pushed["job_id"] == hooked["job_id"] and pushed["duplicate"] is True


def test_a_push_naming_another_tree_fails_after_the_fetch(served: tuple[DaemonProcess, Http], repo: helpers.Repos) -> None:
    """A webhook's tree ID is trusted only as far as the worker's fetch confirms it."""
    _, http = served
    sha, _tree = repo.commit({"docs/other.md": "# Other\n"}, "other")
    repo.push()
    wrong = "0123456789abcdef0123456789abcdef01234567"
    body = helpers.dumps(helpers.github_push(repo, "main", sha, wrong))
    code, pushed, _ = http.call("POST", "/hooks/github", body, token=None, headers=helpers.github_headers(body))
    assert code == 202, pushed
    st = http.finished(pushed["job_id"])
    assert st["status"] == "FAILED" and st["error"]["code"] == "tree_mismatch", st["error"]


# -- 4. credentials in git URLs ---------------------------------------------------------------


class _GitAuthServer(BaseHTTPRequestHandler):
    """Asks for Basic auth, records what git sends, then answers 404 (no repository here)."""

    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        auth = self.headers.get("Authorization")
        if auth is None:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.end_headers()
            return
        type(self).seen.append(auth)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


def test_credentials_in_a_git_url_are_used_but_never_shown_or_stored(served: tuple[DaemonProcess, Http]) -> None:
    """Before: ``https://ci:s3cret@…`` was in the status, ``/api/builds``, the dashboard and the DB."""
    daemon, http = served
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GitAuthServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://ci:s3cret-value@127.0.0.1:{server.server_address[1]}/acme/docs.git"
        code, doc, _ = http.post_json({"source": {"git": url, "ref": "main"}, "branch": "creds"})
        assert code == 202, doc
        st = http.finished(doc["job_id"])
        assert st["status"] == "FAILED" and st["error"]["code"] == "source_fetch_failed"
        # The worker did fetch with the credentials...
        assert "Basic " + base64.b64encode(b"ci:s3cret-value").decode() in _GitAuthServer.seen
    finally:
        server.shutdown()
    # ...and nothing shows or stores them.
    shown = json.dumps(st) + json.dumps(http.call("GET", "/api/builds?limit=200", token=READER)[1])
    shown += http.call("GET", f"/api/builds/{doc['job_id']}/log", token=READER)[1]
    assert "s3cret" not in shown
    assert f"http://127.0.0.1:{server.server_address[1]}/acme/docs.git" in json.dumps(st["trigger"])
    with sqlite3.connect(daemon.root / "data" / "pressroom.db") as db:
        dumped = "\n".join(db.iterdump())
    assert "s3cret" not in dumped and doc["job_id"] in dumped
    assert "s3cret" not in daemon.log.read_text()
    secret = daemon.root / "data" / "jobs" / doc["job_id"] / "git-url.secret"
    assert secret.read_text() == url and (secret.stat().st_mode & 0o777) == 0o600


# -- 5. forged audit trail ----------------------------------------------------------------------


def test_the_trigger_is_the_servers_and_a_client_may_add_only_a_note(served: tuple[DaemonProcess, Http],
                                                                     repo: helpers.Repos) -> None:
    """Before: ``"trigger": {"kind": "schedule", "token": "admin"}`` was recorded as sent."""
    _, http = served
    src = {"source": {"git": repo.url, "ref": "main"}}
    code, doc, _ = http.post_json({**src, "trigger": {"kind": "schedule", "token": "admin"}})
    assert code == 400 and doc["error"]["code"] == "bad_request" and "trigger.kind" in doc["error"]["message"]
    code, doc, _ = http.post_json({**src, "trigger": {"note": "x" * 501}})
    assert code == 400 and doc["error"]["code"] == "field_too_long"
    code, doc, _ = http.post_json({**src, "branch": "audit", "trigger": {"note": "release 2.1, ticket DOC-7"}})
    assert code == 202, doc
    assert http.status(doc["job_id"])["trigger"] == {"kind": "api", "token": "writer", "note": "release 2.1, ticket DOC-7",
                                                     "branch": "audit", "repository": repo.url, "sha": "main"}
    code, doc, _ = http.post_archive(tar_gz({"index.md": "# noted\n"}), "?note=from+curl")
    assert code == 202 and http.status(doc["job_id"])["trigger"] == {"kind": "api", "token": "writer", "note": "from curl"}


# -- 6. idempotency key after a dedupe hit --------------------------------------------------------


def test_an_idempotency_key_is_recorded_when_the_request_deduped(served: tuple[DaemonProcess, Http]) -> None:
    """Before: the key was not recorded on a dedupe hit, so the same key with another body got 202."""
    _, http = served
    first = tar_gz({"index.md": "# Idempotency, first\n"})
    code, created, _ = http.post_archive(first)
    assert code == 202 and created["duplicate"] is False
    key = {"Idempotency-Key": "client-retry-7"}
    code, deduped, _ = http.post_archive(first, headers=key)
    assert code == 202 and deduped["duplicate"] is True and deduped["job_id"] == created["job_id"]
    code, again, _ = http.post_archive(first, headers=key)
    assert code == 202 and again["job_id"] == created["job_id"]
    code, conflict, _ = http.post_archive(tar_gz({"index.md": "# Idempotency, other body\n"}), headers=key)
    assert code == 409 and conflict["error"]["code"] == "idempotency_conflict", conflict


# -- 7. duration histograms ---------------------------------------------------------------------------


def _sample(metrics: str, name: str, **labels: str) -> float:
    for line in metrics.splitlines():
        m = re.match(rf"{name}\{{(.*)\}} (\S+)$", line)
        if m and all(f'{k}="{v}"' in m.group(1) for k, v in labels.items()):
            return float(m.group(2))
    return 0.0


def test_job_and_stage_durations_reach_metrics(served: tuple[DaemonProcess, Http]) -> None:
    """Before: both histograms were declared but never observed (no samples at all)."""
    _, http = served
    code, doc, _ = http.post_archive(tar_gz({"index.md": "# Metrics\n"}))
    assert code == 202
    assert http.finished(doc["job_id"])["status"] == "COMPLETED"
    code, text, _ = http.call("GET", "/metrics", token=None)
    assert code == 200
    assert _sample(text, "pressroom_job_duration_seconds_count", kind="build", status="COMPLETED") >= 1
    assert _sample(text, "pressroom_job_duration_seconds_sum", kind="build", status="COMPLETED") > 0
    assert _sample(text, "pressroom_stage_duration_seconds_count", stage="noop", status="passed") >= 1
    assert _sample(text, "pressroom_job_duration_seconds_bucket", kind="build", status="COMPLETED", le="+Inf") >= 1


# -- 8. archive member limit, and the file-name and field-size low items --------------------------------


def _many_members(n: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("x")
        for i in range(n):
            info.name = f"d/{i}"
            tar.addfile(info)
    return buf.getvalue()


def test_an_archive_with_too_many_members_is_refused_while_streaming(served: tuple[DaemonProcess, Http]) -> None:
    """Before: every header was read into memory first (1M members: ~18 s and ~460 MB), then ``invalid_archive``."""
    daemon, http = served
    code, doc, _ = http.post_archive(_many_members(300_000))
    assert code == 413 and doc["error"]["code"] == "too_many_members", doc
    assert not any((daemon.root / "data" / "jobs").glob("*/source/d")), "nothing of the refused archive stays"


def test_a_zip_announcing_too_many_entries_is_refused_before_its_directory_is_read(served: tuple[DaemonProcess, Http]) -> None:
    _, http = served
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("index.md", "# zip\n")
    data = bytearray(buf.getvalue())
    end = data.rfind(b"PK\x05\x06")
    data[end + 8:end + 12] = (0xFFFF).to_bytes(2, "little") * 2  # 65,535 entries, on disk and in all
    data[end + 12:end + 16] = (200_000 * 46).to_bytes(4, "little")  # a directory big enough for 200,000
    code, doc, _ = http.call("POST", "/api/builds", bytes(data), headers={"Content-Type": "application/zip"})
    assert code == 413 and doc["error"]["code"] == "too_many_members", doc


@pytest.mark.parametrize("name", ["docs/line\nbreak.md", "docs/" + "n" * 300 + ".md"])
def test_bad_member_names_get_one_clear_error_without_server_paths(served: tuple[DaemonProcess, Http], name: str) -> None:
    """Before: a newline gave 27 link findings; a 300-character name an error with the server's path."""
    daemon, http = served
    code, doc, _ = http.post_archive(tar_gz({"docs/index.md": "# ok\n", name: "# bad\n"}))
    assert code == 400 and doc["error"]["code"] == "bad_member_name", doc
    message = doc["error"]["message"]
    assert str(daemon.root) not in message and "/jobs/" not in message and name[:12].replace("\n", "\\n") in message


@pytest.mark.parametrize(("doc", "field"), [
    ({"source": {"git": "https://example.com/" + "a" * (4 * 2**20)}}, "source.git"),
    ({"source": {"git": "https://example.com/x.git", "ref": "r" * 256}}, "source.ref"),
    ({"source": {"path": "/" + "p" * 5000}}, "source.path"),
    ({"source": {"git": "https://example.com/x.git"}, "branch": "b" * 201}, "branch"),
])
def test_oversized_source_fields_are_refused(served: tuple[DaemonProcess, Http], doc: dict[str, Any], field: str) -> None:
    """Before: a 4 MB git URL was accepted, stored and shown in every status."""
    _, http = served
    code, body, _ = http.post_json(doc)
    assert code == 400 and body["error"]["code"] == "field_too_long", body
    assert body["error"]["details"]["field"] == field and len(json.dumps(body)) < 2000


def test_a_long_idempotency_key_is_refused(served: tuple[DaemonProcess, Http]) -> None:
    _, http = served
    code, body, _ = http.post_archive(tar_gz({"index.md": "# key\n"}), headers={"Idempotency-Key": "k" * 201})
    assert code == 400 and body["error"]["code"] == "field_too_long"

