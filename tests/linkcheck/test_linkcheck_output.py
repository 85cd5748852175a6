"""Writers, the CLI's options and exit codes, and the HTML/URL helpers."""

from __future__ import annotations

import io
import json
from pathlib import Path

import click.testing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from linkcheck_helpers import CSV_COLUMNS, FaultSite, parse_csv, run_ours

from stages.linkcheck import checker, cli, extract, output, urls
from stages.linkcheck.model import CheckConfig, Link, Outcome, Row


def sample_report() -> checker.Report:
    start = Row(link=Link(urlname="http://h/"), requested="http://h/",
                outcome=Outcome(url="http://h/", result="200 OK", size=10, dltime=0.1, content_type="text/html"))
    broken = Row(link=Link(urlname="x.html", parent="http://h/", line=3, column=5, name="X", level=1),
                 requested="http://h/x.html", outcome=Outcome(url="http://h/x.html", valid=False,
                                                               result="404 Not Found", size=14))
    anchor = Row(link=Link(urlname="y.html#a", parent="http://h/", line=4, column=1, level=1),
                 requested="http://h/y.html#a", fragment="a",
                 outcome=Outcome(url="http://h/y.html", result="200 OK"),
                 extra_warnings=[("url-anchor-not-found", "Anchor `a' (decoded: `a') not found. Available anchors: -.")])
    again = Row(link=Link(urlname="x.html", parent="http://h/y.html", line=9, column=2, level=2),
                requested="http://h/x.html", outcome=broken.outcome)
    report = checker.Report(config=CheckConfig(), rows=[start, broken, anchor, again])
    report.stats.started, report.stats.finished = 1_700_000_000.0, 1_700_000_002.5
    report.stats.errors, report.stats.warnings, report.stats.links, report.stats.urls_checked = 1, 1, 4, 3
    return report


def test_csv_is_linkcheckers_format() -> None:
    buffer = io.StringIO()
    output.write_csv(sample_report(), buffer, verbose=True)
    lines = buffer.getvalue().splitlines()
    assert [line[:2] for line in lines[:3]] == ["# "] * 3
    assert lines[3] == ";".join(CSV_COLUMNS)
    assert lines[-1].startswith("# Stopped checking at ") and lines[-1].endswith("(2 seconds)")
    # the start URL has no line/column: LinkChecker leaves both fields out
    assert lines[4] == "http://h/;;;200 OK;;;True;http://h/;;0.1;10;0.0;0;0;"
    assert lines[5] == "x.html;http://h/;;404 Not Found;;;False;http://h/x.html;3;5;X;-1;14;0.0;0;1;"
    rows = parse_csv(buffer.getvalue())
    assert [r["urlname"] for r in rows] == ["http://h/", "x.html", "y.html#a"]  # each URL once
    assert rows[2]["url"] == "http://h/y.html#a" and rows[2]["valid"] == "True"


def test_csv_without_verbose_logs_errors_and_warnings_and_every_parent_on_request() -> None:
    buffer = io.StringIO()
    output.write_csv(sample_report(), buffer)
    assert [r["urlname"] for r in parse_csv(buffer.getvalue())] == ["x.html", "y.html#a"]
    buffer = io.StringIO()
    output.write_csv(sample_report(), buffer, warnings=False, every=True)
    assert [r["parentname"] for r in parse_csv(buffer.getvalue())] == ["http://h/", "http://h/y.html"]


def test_text_html_and_json() -> None:
    text, html, data = io.StringIO(), io.StringIO(), io.StringIO()
    output.writer_for("text")(sample_report(), text)
    output.writer_for("html")(sample_report(), html)
    output.writer_for("json")(sample_report(), data)
    assert "URL        `x.html'\n" in text.getvalue()
    assert "Parent URL http://h/, line 3, col 5\n" in text.getvalue()
    assert "Result     Error: 404 Not Found\n" in text.getvalue()
    assert "Warning    [url-anchor-not-found] Anchor `a'" in text.getvalue()
    assert "That's it. 4 links in 3 URLs checked. 1 warning found. 1 error found." in text.getvalue()
    assert html.getvalue().startswith("<!DOCTYPE html>") and "404 Not Found" in html.getvalue()
    document = json.loads(data.getvalue())
    assert document["stats"]["errors"] == 1
    assert [r["url"] for r in document["results"]] == ["http://h/x.html", "http://h/y.html#a"]
    with pytest.raises(ValueError):
        output.writer_for("xml")


def make_site(root: Path, broken: bool) -> Path:
    (root / "a").mkdir(parents=True)
    (root / "index.html").write_text('<a href="a/">a</a><a href="/a/#top">top</a>')
    (root / "a/index.html").write_text('<h1 id="top">A</h1>' + ('<a href="../nope.html">x</a>' if broken else ""))
    return root


def test_cli_exit_codes_and_file_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = click.testing.CliRunner()
    clean = make_site(tmp_path / "clean", broken=False)
    result = runner.invoke(cli.linkcheck, [str(clean)])
    assert result.exit_code == 0, result.output
    broken = make_site(tmp_path / "broken", broken=True)
    result = runner.invoke(cli.linkcheck, ["-o", "none", "-F", "csv", "-F", f"json/utf-8/{tmp_path}/r.json", str(broken)])
    assert result.exit_code == 1 and result.output == ""
    [row] = parse_csv((tmp_path / "linkchecker-out.csv").read_text())
    assert row["urlname"] == "../nope.html" and row["line"] == "1"
    assert json.loads((tmp_path / "r.json").read_text())["stats"]["errors"] == 1
    assert runner.invoke(cli.linkcheck, ["-o", "xml", str(clean)]).exit_code == 2
    assert runner.invoke(cli.linkcheck, ["--ignore-url", "(", str(clean)]).exit_code == 2
    assert runner.invoke(cli.linkcheck, ["--bogus", str(clean)]).exit_code == 2


def test_linkcheckerrc_settings_are_read(tmp_path: Path) -> None:
    rc = tmp_path / "linkcheckerrc"
    rc.write_text("[checking]\nthreads=7\ntimeout=3\n[filtering]\nignore=\n  ^mailto:\n  /private/\ncheckextern=1\n")
    config = cli.read_linkcheckerrc(rc, CheckConfig())
    assert (config.concurrency, config.timeout, config.check_extern) == (7, 3, True)
    assert config.ignore == ("^mailto:", "/private/")


async def test_python_m_runs_against_a_server(fault_site: FaultSite) -> None:
    run = await run_ours("-r", "1", "-o", "text", fault_site.url("/basepage.html"))
    assert run.code == 1
    assert "Result     Error: 404 Not Found" in run.stdout


def test_extract_links_anchors_base_and_names() -> None:
    page = extract.parse_html("""<html><head><base href="/docs/"><link href="s.css" rel="stylesheet">
<link rel="preconnect" href="https://fonts.example"><script src="a.js"></script></head>
<body><a href="x.html" title="T"></a><a href="y.html">  Why <b>bold</b> </a><a name="n1"></a>
<img src="i.png" srcset="i-1.png 1x, i-2.png 2x" alt="pic"><iframe src="f.html"></iframe>
<div id="d1" style="background: url('bg.png')"></div><p <<< broken <a href=z.html>z
<meta http-equiv="refresh" content="5; url=next.html"></body></html>""")
    found = [(link.url, link.name) for link in page.links]
    assert found == [("s.css", ""), ("a.js", ""), ("x.html", "T"), ("y.html", "Why bold"),
                     ("i.png", "pic"), ("i-1.png", "pic"), ("i-2.png", "pic"), ("f.html", ""),
                     ("bg.png", ""), ("next.html", "")]
    assert page.anchors == {"n1", "d1"} and page.base == "/docs/"
    assert page.links[2].line == 3


def test_css_and_srcset() -> None:
    assert extract.css_urls("a{b:url(x.png)}\n/* url(no.png) */c{d:url( \"y z.png\" )}") == [
        ("x.png", 1, 8), ("y z.png", 2, 9)]  # columns after comments are removed, as LinkChecker
    assert extract.parse_srcset("a.png 1x,b.png 2x, c,d.png 3x") == ["a.png", "b.png", "c,d.png"]


@pytest.mark.parametrize(("address", "error"), [
    ("mailto:a@example.com", None),
    ("mailto:a@example.com,b@example.org?subject=hi", None),
    ("mailto:?subject=hi", None),
    ("mailto:bad@@", "Missing domain part of mail address `bad@@'."),
    ("mailto:nobody", "Missing `@' in mail address `nobody'."),
    ("mailto:.a@example.com", "Local part of mail address `.a@example.com' may not start with a dot."),
    ("mailto:a@exa_mple.com", "Invalid domain part of mail address `a@exa_mple.com'."),
])
def test_mailto_syntax(address: str, error: str | None) -> None:
    assert urls.mailto_error(address) == error


def test_normalize_and_intern_pattern() -> None:
    assert urls.normalize("HTTP://Example.COM:80/caf\u00e9.html#x") == "http://example.com/caf%C3%A9.html"
    assert urls.normalize("http://h/caf%C3%A9.html") == "http://h/caf%C3%A9.html"
    assert urls.normalize("http://h") == "http://h/"
    pattern = urls.intern_pattern("http://www.h.org/docs/index.html")
    assert pattern.match("https://h.org/docs/a.html") and not pattern.match("http://h.org/blog/")
    assert urls.join("http://h/a/b/c.html", "../../d.html") == "http://h/d.html"
    assert urls.syntax_error("http://h:99999/") == "URL host 'h:99999' has invalid port"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/=\"' \n&#;:?%[]@.abchrefsilytp-")), max_size=200))
def test_bad_html_and_urls_never_raise(text: str) -> None:
    page = extract.parse_html(text)
    for link in page.links:
        for url in (link.url, urls.join("http://h/a/", link.url)):
            urls.normalize(url)
            urls.syntax_error(url)
            urls.mailto_error(url)
    extract.parse_css(text)
    extract.parse_srcset(text)
