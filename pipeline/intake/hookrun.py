"""What the post-commit hook runs: submit HEAD's tree to the daemon and print the job ID.

Standard library only, so the hook costs one interpreter start plus a few git calls. A commit is
never held up by a daemon that is down: the connection gets 0.9 s, and a daemon that accepts but
hangs gets 1.5 s to answer ``/healthz`` before anything is uploaded. Every failure is reported on
one line, and the exit status is always 0 (git ignores it anyway, but scripts around git may not).
Settings come from ``PRESSROOM_SERVER``/``PRESSROOM_TOKEN`` or the repository's git config
(``pressroom.server``, ``pressroom.token``, written by ``pressroom hook install``).

Installed hooks run this module by name (``python -m pipeline.intake.hookrun``, see
:mod:`pipeline.intake.hookinstall`), so its name and place are part of every installed hook.
The commit facts header is encoded here, where it is sent; :mod:`pipeline.intake.hookupload`
decodes it on the daemon's side.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import subprocess
import sys
import urllib.parse
from typing import Any, TextIO

CONNECT_TIMEOUT = 0.9
"""Down (refused or unroutable) costs at most this plus interpreter start: under a second in all."""
ALIVE_TIMEOUT = 1.5
"""A daemon that accepts connections but does not answer ``/healthz`` in this long counts as down."""
ANSWER_TIMEOUT = 60.0
"""Once the daemon answered, the upload and the snapshot may take this long (large repositories)."""
MESSAGE_LIMIT = 1000
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
"""A daemon on this machine gets a plain tar: sending it costs less than compressing it."""
HEADER = "X-Pressroom-Commit"
"""The commit facts travel here as base64url JSON, so the body stays the plain ``git archive``."""


def _git(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], capture_output=True, stdin=subprocess.DEVNULL)


def settings() -> dict[str, str]:
    """``pressroom.*`` from git config, overridden by the environment."""
    found: dict[str, str] = {}
    proc = _git("config", "--get-regexp", r"^pressroom\.")
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(" ")
        found[key] = value
    for env, key in (("PRESSROOM_SERVER", "pressroom.server"), ("PRESSROOM_TOKEN", "pressroom.token")):
        if os.environ.get(env):
            found[key] = os.environ[env]
    return found


def remote_url(branch: str | None) -> str | None:
    """The URL of the branch's upstream remote, else ``origin``'s, without credentials; None without one.

    The daemon maps it to a forge repository to report the build's commit status there.
    ``git remote get-url`` applies ``insteadOf`` rewrites, so short aliases become real URLs.
    """
    names = []
    if branch:
        upstream = _git("config", "--get", f"branch.{branch}.remote").stdout.decode("utf-8", "replace").strip()
        if upstream and upstream != ".":
            names.append(upstream)
    names.append("origin")
    for name in names:
        proc = _git("remote", "get-url", name)
        url = proc.stdout.decode("utf-8", "replace").strip()
        if proc.returncode == 0 and url:
            return strip_credentials(url)
    return None


def strip_credentials(url: str) -> str:
    """``https://user:token@host/x`` -> ``https://host/x``: a token in a remote never leaves the machine."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparseable url>" if "@" in url else url
    if not parts.scheme or "@" not in parts.netloc:
        return url  # scp-like ``git@host:org/repo``: the user is not a secret
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def commit_facts(conf: dict[str, str]) -> dict[str, Any]:
    proc = _git("log", "-1", "--format=%H%x00%T%x00%an <%ae>%x00%B", "HEAD")
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.decode("utf-8", "replace").strip() or "git log failed")
    sha, tree, author, message = proc.stdout.decode("utf-8", "replace").split("\0", 3)
    branch = _git("symbolic-ref", "-q", "--short", "HEAD").stdout.decode().strip() or None
    repository = remote_url(branch) or os.path.basename(os.getcwd())
    return {"sha": sha.strip(), "tree": tree.strip(), "author": author, "message": message.strip()[:MESSAGE_LIMIT],
            "branch": branch, "repository": repository}


def encode_facts(facts: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(facts, separators=(",", ":")).encode()).decode()


def _connect(server: str) -> tuple[http.client.HTTPConnection, str]:
    url = urllib.parse.urlsplit(server)
    cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    conn = cls(url.hostname or "127.0.0.1", url.port, timeout=CONNECT_TIMEOUT)
    conn.connect()
    return conn, url.path.rstrip("/")


def _alive(conn: http.client.HTTPConnection, base: str) -> str | None:
    """Ask ``/healthz`` on the open connection; why the daemon cannot take the commit, or None."""
    assert conn.sock is not None
    conn.sock.settimeout(ALIVE_TIMEOUT)
    try:
        conn.request("GET", base + "/healthz")
        resp = conn.getresponse()
        resp.read()
    except OSError as exc:
        return f"no answer within {ALIVE_TIMEOUT:g} s ({exc})"
    except http.client.HTTPException as exc:
        return f"not an HTTP answer ({type(exc).__name__})"
    if resp.status != 200:
        return f"/healthz answered HTTP {resp.status}"
    conn.sock.settimeout(ANSWER_TIMEOUT)
    return None


def submit(out: TextIO) -> int:
    conf = settings()
    server = (conf.get("pressroom.server") or "http://127.0.0.1:8080").rstrip("/")
    facts = commit_facts(conf)
    if facts["branch"] is None:
        print("pressroom: detached HEAD, nothing submitted (only commits on a branch are built)", file=out)
        return 0
    try:
        conn, base = _connect(server)
    except OSError as exc:
        print(f"pressroom: daemon unreachable at {server} ({exc.strerror or exc}); "
              "the commit is saved, no build was started", file=out)
        return 0
    problem = _alive(conn, base)
    if problem is not None:
        conn.close()
        print(f"pressroom: daemon at {server} is not answering: {problem}; "
              "the commit is saved, no build was started", file=out)
        return 0
    local = urllib.parse.urlsplit(server).hostname in LOOPBACK
    # Compressing costs more than sending on loopback (a 19 MB tree: gzip 0.6 s, plain tar 0.1 s).
    archive = _git("archive", "--format=tar", "HEAD") if local else _git("archive", "--format=tar.gz", "-1", "HEAD")
    if archive.returncode != 0:
        conn.close()
        print(f"pressroom: git archive failed: {archive.stderr.decode('utf-8', 'replace').strip()}", file=out)
        return 0
    headers = {"Content-Type": "application/x-tar" if local else "application/gzip", HEADER: encode_facts(facts)}
    if conf.get("pressroom.token"):
        headers["Authorization"] = f"Bearer {conf['pressroom.token']}"
    try:
        conn.request("POST", base + "/hooks/commit", body=archive.stdout, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
    except (OSError, http.client.HTTPException) as exc:
        print(f"pressroom: the daemon at {server} did not answer ({exc}); the commit is saved", file=out)
        return 0
    finally:
        conn.close()
    report(out, server, resp.status, raw, facts)
    return 0


def report(out: TextIO, server: str, status: int, raw: bytes, facts: dict[str, Any]) -> None:
    try:
        doc = json.loads(raw)
    except ValueError:
        doc = {}
    short = facts["sha"][:12]
    if status == 202 and doc.get("ignored"):
        print(f"pressroom: {short} not built: {doc.get('reason')}", file=out)
    elif status == 202 and doc.get("job_id"):
        how = "already queued for this tree" if doc.get("duplicate") else "queued"
        print(f"pressroom: job {doc['job_id']} {how} ({short} on {facts['branch']})", file=out)
        print(f"pressroom: status {server}{doc.get('status_url', '')}", file=out)
    else:
        err = doc.get("error") if isinstance(doc.get("error"), dict) else {}
        print(f"pressroom: the daemon refused {short} (HTTP {status}"
              f"{': ' + str(err.get('code')) + ': ' + str(err.get('message')) if err else ''})", file=out)


def main() -> int:
    try:
        return submit(sys.stdout)
    except Exception as exc:  # a hook must never break the commit it follows
        print(f"pressroom: hook failed: {exc}", file=sys.stdout)
        return 0


if __name__ == "__main__":
    sys.exit(main())
