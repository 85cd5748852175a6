"""Side by side with the real LinkChecker (PyPI ``linkchecker`` 10.x) on the planted-fault site.

Both run as subprocesses with the same options. Per URL, valid/invalid must agree and the
result must agree in kind (both a 404, both a timeout...). Where we differ on purpose, the
difference is named here and explained in docs/linkcheck.md ("Differences from LinkChecker").
"""

from __future__ import annotations

import re

import pytest
from linkcheck_helpers import (
    FaultSite,
    by_url,
    linkchecker_config,
    parse_csv,
    run_linkchecker,
    run_ours,
)

pytestmark = pytest.mark.slow

# Deliberate differences, by path on the fault site (see docs/linkcheck.md).
MAIL_SYNTAX_ONLY = "mailto:docs@example.com"
"""LinkChecker looks up the mail domain's MX record (and so fails offline); we check syntax only."""
RETRY_AFTER = "/rate-once"
"""LinkChecker reports a 429 as valid with a warning; we wait Retry-After, retry and get 200."""


def kind(result: str | None) -> str:
    """What sort of answer a result text is, in words both tools share."""
    text = (result or "").lower()
    if match := re.match(r"^(\d{3})\b", text):
        return match.group(1)
    for word, name in (("timeout", "timeout"), ("timed out", "timeout"), ("schema", "scheme"),
                       ("scheme", "scheme"), ("redirect", "redirect"), ("ipv6", "syntax"),
                       ("mail address", "mail-syntax"), ("syntax ok", "robots"),
                       ("filtered", "filtered"), ("ignored", "ignored")):
        if word in text:
            return name
    return text


async def _both(fault_site: FaultSite, folder, *args: str):
    config = linkchecker_config(folder, timeout=2)
    theirs = await run_linkchecker(config, "-o", "csv", "-v", *args, fault_site.url("/"))
    ours = await run_ours("-o", "csv", "-v", "--timeout", "2", "--retries", "1", *args, fault_site.url("/"))
    assert theirs.code in (0, 1), theirs.stderr
    assert ours.code in (0, 1), ours.stderr
    return theirs, ours


async def test_same_verdicts_with_check_extern(fault_site: FaultSite, public_dir) -> None:
    theirs, ours = await _both(fault_site, public_dir, "--check-extern")
    their_rows, our_rows = by_url(parse_csv(theirs.stdout)), by_url(parse_csv(ours.stdout))
    assert set(their_rows) == set(our_rows), (set(their_rows) ^ set(our_rows))
    assert len(their_rows) >= 35
    disagreements: list[tuple[object, ...]] = []
    for url, theirs_row in their_rows.items():
        ours_row = our_rows[url]
        if url == MAIL_SYNTAX_ONLY:
            assert ours_row["valid"] == "True" and ours_row["result"] == "Valid mail address syntax"
            continue
        if url.endswith(RETRY_AFTER):
            assert theirs_row["valid"] == ours_row["valid"] == "True"
            assert kind(theirs_row["result"]) == "429" and "Rate limited" in (theirs_row["warningstring"] or "")
            assert kind(ours_row["result"]) == "200" and "Retried after 429" in (ours_row["infostring"] or "")
            continue
        if theirs_row["valid"] != ours_row["valid"] or kind(theirs_row["result"]) != kind(ours_row["result"]):
            disagreements.append((url, theirs_row["valid"], theirs_row["result"], ours_row["valid"], ours_row["result"]))
        # Warnings agree in presence: a missing anchor or a redirect is flagged by both.
        if bool(theirs_row["warningstring"]) != bool(ours_row["warningstring"]):
            disagreements.append((url, "warnings", theirs_row["warningstring"], ours_row["warningstring"]))
        # Same occurrence logged (same parent page): same position, name, level, base, final URL.
        if theirs_row["parentname"] == ours_row["parentname"]:
            for column in ("line", "column", "name", "level", "base", "url"):
                if theirs_row[column] != ours_row[column] and theirs_row["url"]:
                    disagreements.append((url, column, theirs_row[column], ours_row[column]))
    assert not disagreements, disagreements
    # The same file shape: three comment lines, the same header, the same closing comment.
    for text in (theirs.stdout, ours.stdout):
        lines = text.splitlines()
        assert [line.startswith("#") for line in lines[:4]] == [True, True, True, False]
        assert lines[-1].startswith("# Stopped checking at ")
    assert theirs.stdout.splitlines()[3] == ours.stdout.splitlines()[3]
    # The faults are really there: spot-check a few verdicts.
    origin = fault_site.origin
    assert our_rows[f"{origin}/missing.html"]["result"] == "404 Not Found"
    assert our_rows[f"{origin}/gone"]["result"] == "410 Gone"
    assert "Anchor `absent'" in (our_rows[f"{origin}/ok.html#absent"]["warningstring"] or "")
    assert our_rows[f"{origin}/private/secret.html"]["result"] == "syntax OK"
    assert our_rows[f"{fault_site.external}/ext-missing.html"]["valid"] == "False"
    assert theirs.code == ours.code == 1


async def test_same_verdicts_without_check_extern(fault_site: FaultSite, public_dir) -> None:
    theirs, ours = await _both(fault_site, public_dir)
    their_rows, our_rows = by_url(parse_csv(theirs.stdout)), by_url(parse_csv(ours.stdout))
    assert set(their_rows) == set(our_rows), (set(their_rows) ^ set(our_rows))
    for url, theirs_row in their_rows.items():
        if url.endswith(RETRY_AFTER):
            continue
        ours_row = our_rows[url]
        assert theirs_row["valid"] == ours_row["valid"], (url, theirs_row["result"], ours_row["result"])
    external = f"{fault_site.external}/ext-missing.html"
    assert their_rows[external]["result"] == our_rows[external]["result"] == "filtered"
    # Without --check-extern neither tool contacted the other server.
    assert our_rows[external]["valid"] == "True"


async def test_same_exit_codes_for_warnings(fault_site: FaultSite, public_dir) -> None:
    """A redirect is a warning: exit 1 for both, and 0 for both with --no-warnings."""
    config = linkchecker_config(public_dir, timeout=2)
    start = fault_site.url("/r301")
    theirs = await run_linkchecker(config, "-r", "0", "-o", "csv", start)
    ours = await run_ours("-r", "0", "-o", "csv", start)
    assert theirs.code == ours.code == 1
    [their_row], [our_row] = parse_csv(theirs.stdout), parse_csv(ours.stdout)
    assert their_row["warningstring"] == our_row["warningstring"]
    assert their_row["url"] == our_row["url"] == fault_site.url("/ok.html")
    theirs = await run_linkchecker(config, "-r", "0", "--no-warnings", "-o", "csv", start)
    ours = await run_ours("-r", "0", "--no-warnings", "-o", "csv", start)
    assert theirs.code == ours.code == 0
    assert parse_csv(theirs.stdout) == parse_csv(ours.stdout) == []


SPACE_IN_HOST = "http://exa mple.com/"
"""LinkChecker calls a host with a space "filtered" (not checked) unless --check-extern; we report
it as invalid syntax always, since no setting makes it a working link."""


async def test_same_verdicts_on_malformed_urls(fault_site: FaultSite, public_dir) -> None:
    config = linkchecker_config(public_dir, timeout=2)
    start = fault_site.url("/malformed")
    theirs = await run_linkchecker(config, "-r", "1", "-v", "-o", "csv", start)
    ours = await run_ours("-r", "1", "-v", "-o", "csv", start)
    their_rows = {r["urlname"]: r for r in parse_csv(theirs.stdout)}
    our_rows = {r["urlname"]: r for r in parse_csv(ours.stdout)}
    assert set(their_rows) == set(our_rows)
    for name, their_row in their_rows.items():
        if name == SPACE_IN_HOST:
            assert (their_row["valid"], our_rows[name]["valid"]) == ("True", "False")
            continue
        assert their_row["valid"] == our_rows[name]["valid"], name
        if their_row["valid"] == "False":
            assert kind(their_row["result"]) == kind(our_rows[name]["result"]), name
    assert theirs.code == ours.code == 1


DIRECTORY_LISTING = "a directory URL"
"""LinkChecker turns a ``file:`` directory into a generated listing and checks every file in it;
we serve the directory's ``index.html``, as the web server will, and check only real links."""
ENCODED_FILE_NAME = "caf%C3%A9.html"
"""LinkChecker decodes a percent-encoded UTF-8 file name as Latin-1 and reports the file missing;
we find it."""


async def test_same_verdicts_on_a_folder(public_dir) -> None:
    site = public_dir / "site"
    files = {
        "index.html": '<link rel="stylesheet" href="style.css"><a href="a/">folder</a>'
                      '<a href="a/page.html#there">ok</a><a href="a/page.html#nope">bad anchor</a>'
                      '<a href="missing.html">missing</a><img src="img/none.png" alt="x">'
                      f'<a href="a/b/deep.html">deep</a><a href="{ENCODED_FILE_NAME}">unicode</a>',
        "a/index.html": "<p>a</p>",
        "a/page.html": '<p id="there">x</p><a href="../index.html">up</a>',
        "a/b/deep.html": '<a href="../../missing2.html">m2</a><a href="../page.html">p</a>',
        "café.html": "<p>café</p>",
        "style.css": "body { background: url(img/bg.png) }",
    }
    for rel, text in files.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for folder in [site, *[p for p in site.rglob("*") if p.is_dir()]]:
        folder.chmod(0o755)
    config = linkchecker_config(public_dir, timeout=2)
    start = str(site / "index.html")
    theirs = await run_linkchecker(config, "-v", "-o", "csv", start)
    ours = await run_ours("-v", "-o", "csv", start)
    their_rows, our_rows = by_url(parse_csv(theirs.stdout)), by_url(parse_csv(ours.stdout))
    listed = {u for u, r in their_rows.items() if (r["parentname"] or "").endswith("/")}
    assert listed, DIRECTORY_LISTING  # LinkChecker's listing entries: a/page.html, a/index.html...
    assert set(their_rows) - listed <= set(our_rows)
    for url, their_row in their_rows.items():
        if url in listed or url not in our_rows:
            continue
        our_row = our_rows[url]
        if url.endswith(ENCODED_FILE_NAME):
            assert (their_row["valid"], our_row["valid"]) == ("False", "True")
            continue
        assert their_row["valid"] == our_row["valid"], url
        assert bool(their_row["warningstring"]) == bool(our_row["warningstring"]), url
    broken = {u.rsplit("/", 1)[-1] for u, r in our_rows.items() if r["valid"] == "False"}
    assert broken == {"missing.html", "none.png", "bg.png", "missing2.html"}
    assert theirs.code == ours.code == 1
