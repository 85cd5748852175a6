"""``pressroom linkcheck``: a drop-in for the ``linkchecker`` command in CI.

Option names, output types and exit codes are LinkChecker's (0 = no errors, 1 = errors or
printed warnings, 2 = the program itself failed), so a CI job swaps the command name and keeps
everything that reads the output. Options LinkChecker lacks are marked "(pressroom)".
"""

from __future__ import annotations

import asyncio
import configparser
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

import click

from stages.linkcheck import checker, files, output, urls
from stages.linkcheck.model import CheckConfig

EXIT_OK, EXIT_BROKEN, EXIT_PROGRAM_ERROR = 0, 1, 2
_EXTENSIONS = {"text": "txt", "csv": "csv", "html": "html", "json": "json"}


@dataclass(frozen=True)
class FileOutput:
    """One ``-F TYPE[/ENCODING][/FILENAME]``."""

    fmt: str
    encoding: str
    path: Path

    @classmethod
    def parse(cls, spec: str) -> FileOutput:
        fmt, _, rest = spec.partition("/")
        fmt = fmt.lower()
        if fmt not in output.FORMATS or fmt == "none":
            raise click.BadParameter(f"unknown output type {fmt!r}; choose text, csv, html or json")
        encoding, _, filename = rest.partition("/")
        return cls(fmt, encoding or "utf-8", Path(filename or f"linkchecker-out.{_EXTENSIONS[fmt]}"))


def read_linkcheckerrc(path: Path, config: CheckConfig) -> CheckConfig:
    """Take the settings we share from a LinkChecker config file (``-f``), so a CI job's
    existing ``linkcheckerrc`` keeps meaning the same thing."""
    parser = configparser.RawConfigParser()
    if not parser.read(path, encoding="utf-8"):
        raise click.BadParameter(f"cannot read config file {path}")
    changes: dict[str, object] = {}
    ints = {"threads": "concurrency", "timeout": "timeout", "recursionlevel": "recursion_level",
            "maxnumurls": "max_urls"}
    if parser.has_section("checking"):
        for key, field in ints.items():
            if parser.has_option("checking", key):
                changes[field] = parser.getint("checking", key)
        if parser.has_option("checking", "useragent"):
            changes["user_agent"] = parser.get("checking", "useragent")
    if parser.has_section("filtering"):
        for key, field in (("ignore", "ignore"), ("nofollow", "no_follow")):
            if parser.has_option("filtering", key):
                lines = [x.strip() for x in parser.get("filtering", key).splitlines() if x.strip()]
                changes[field] = tuple(lines) + getattr(config, field)
        if parser.has_option("filtering", "checkextern"):
            changes["check_extern"] = parser.getboolean("filtering", "checkextern")
    return replace(config, **changes)  # type: ignore[arg-type]


def start_urls(args: tuple[str, ...], base_url: str | None) -> tuple[list[str], files.SiteRoot | None]:
    """URLs to start from, and the site folder when the argument is one."""
    if len(args) == 1 and Path(args[0]).is_dir():
        site = files.SiteRoot.create(Path(args[0]), base_url)
        return [site.page_url(p) for p in files.html_files(site.root)], site
    starts = []
    for arg in args:
        if urls.scheme_of(arg) in ("http", "https", "file", "mailto") or urls.scheme_of(arg) and not Path(arg).exists():
            starts.append(arg)
        elif Path(arg).exists():
            starts.append(Path(arg).resolve().as_uri())
        elif arg.startswith("www."):
            starts.append("http://" + arg)
        else:
            starts.append(Path(arg).resolve().as_uri())
    return starts, None


def run(args: tuple[str, ...], config: CheckConfig, *, base_url: str | None = None) -> checker.Report:
    """The plain function behind the command (tests and the nightly audit call it too)."""
    starts, site = start_urls(args, base_url)
    return asyncio.run(checker.Checker(config, site=site).run(starts))


def exit_code(report: checker.Report, *, warnings: bool) -> int:
    if report.stats.errors or (warnings and report.stats.warnings):
        return EXIT_BROKEN
    return EXIT_OK


def _write(report: checker.Report, fmt: str, stream: TextIO, verbose: bool, warnings: bool,
           every: bool) -> None:
    output.writer_for(fmt)(report, stream, verbose=verbose, warnings=warnings, every=every)


@click.command("linkcheck", context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option("0.1.0", "-V", "--version", prog_name="pressroom linkcheck",
                      message="%(prog)s %(version)s (LinkChecker 10.x compatible)")
@click.argument("url", nargs=-1, required=True)
@click.option("-r", "--recursion-level", type=int, default=-1, show_default=True,
              help="Check recursively all links up to given depth; a negative depth is unlimited.")
@click.option("--check-extern", is_flag=True, help="Check external URLs (never recursed into).")
@click.option("--no-robots", is_flag=True, help="Ignore robots.txt.")
@click.option("-t", "--threads", type=click.IntRange(1, 1024), default=None,
              help="Requests in flight at once (default 64).")
@click.option("--timeout", type=float, default=None, help="Seconds per request (default 20).")
@click.option("--ignore-url", "ignore_url", multiple=True, metavar="REGEX",
              help="Only check syntax of URLs matching REGEX (repeatable).")
@click.option("--no-follow-url", "no_follow_url", multiple=True, metavar="REGEX",
              help="Check but do not recurse into URLs matching REGEX (repeatable).")
@click.option("-o", "--output", "output_type", default="text", metavar="TYPE[/ENCODING]",
              help="Output type on stdout: text, csv, html, json or none.")
@click.option("-F", "--file-output", "file_outputs", multiple=True, metavar="TYPE[/ENCODING][/FILENAME]",
              help="Also write a report file (repeatable).")
@click.option("-v", "--verbose", is_flag=True, help="Log all checked URLs, not only errors and warnings.")
@click.option("-q", "--quiet", is_flag=True, help="No output on stdout (same as -o none).")
@click.option("--no-warnings", is_flag=True, help="Do not log warnings, nor count them for the exit code.")
@click.option("--user-agent", default=None, help="User-Agent header to send.")
@click.option("-f", "--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Read shared settings from a LinkChecker config file.")
@click.option("--per-host", type=click.IntRange(1, 1024), default=None,
              help="(pressroom) Requests in flight at once to one host (default 16).")
@click.option("--delay", type=float, default=None,
              help="(pressroom) Seconds between request starts to one host (default 0).")
@click.option("--max-urls", type=click.IntRange(1), default=None,
              help="(pressroom) Stop adding URLs after this many (default 20000).")
@click.option("--retries", type=click.IntRange(0, 10), default=None,
              help="(pressroom) Retries after 429/503 with Retry-After (default 2).")
@click.option("--no-anchors", is_flag=True, help="(pressroom) Do not check #fragment anchors.")
@click.option("--all-parents", is_flag=True,
              help="(pressroom) Log a URL once per page linking to it, not only the first.")
@click.option("--base-url", default=None,
              help="(pressroom) Public URL of a site folder given as URL, for its absolute links.")
def linkcheck(url: tuple[str, ...], recursion_level: int, check_extern: bool, no_robots: bool,
              threads: int | None, timeout: float | None, ignore_url: tuple[str, ...],
              no_follow_url: tuple[str, ...], output_type: str, file_outputs: tuple[str, ...],
              verbose: bool, quiet: bool, no_warnings: bool, user_agent: str | None,
              config_file: Path | None, per_host: int | None, delay: float | None,
              max_urls: int | None, retries: int | None, no_anchors: bool, all_parents: bool,
              base_url: str | None) -> None:
    """Check links of a site: a start URL (crawled) or a built site folder (read from disk)."""
    try:
        config = CheckConfig(recursion_level=recursion_level, check_extern=check_extern,
                             robots=not no_robots, check_anchors=not no_anchors)
        if config_file is not None:
            config = read_linkcheckerrc(config_file, config)
        overrides = {"concurrency": threads, "timeout": timeout, "user_agent": user_agent,
                     "per_host": per_host, "politeness_delay": delay, "max_urls": max_urls, "retries": retries}
        config = replace(config, **{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
        config = replace(config, ignore=config.ignore + ignore_url, no_follow=config.no_follow + no_follow_url)
        stdout_type = "none" if quiet else output_type.partition("/")[0].lower()
        output.writer_for(stdout_type)  # unknown type: fail before checking anything
        targets = [FileOutput.parse(spec) for spec in file_outputs]
        report = run(url, config, base_url=base_url)
        warnings = not no_warnings
        _write(report, stdout_type, sys.stdout, verbose, warnings, all_parents)
        for target in targets:
            with target.path.open("w", encoding=target.encoding, newline="") as handle:
                _write(report, target.fmt, handle, verbose, warnings, all_parents)
    except click.exceptions.Exit:
        raise
    except (click.BadParameter, ValueError, OSError) as exc:
        click.echo(f"linkcheck: error: {exc}", err=True)
        sys.exit(EXIT_PROGRAM_ERROR)
    except Exception as exc:  # LinkChecker's contract: a program error exits 2, never 1
        click.echo(f"linkcheck: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_PROGRAM_ERROR)
    sys.exit(exit_code(report, warnings=warnings))
