"""The benchmark site: 300 pretty-URL pages, ~310 distinct URLs plus anchors, served from memory.

Planted, so every checker has the same verdicts to find: 5 missing pages, a missing background
image (in CSS), and a missing anchor on every 50th page. Optionally one slow page, to measure how
close the whole run gets to its slowest response.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web

PAGES = 300
LINKS_PER_PAGE = 8
SLOW_PATH = "/docs/slow/"


@dataclass
class BenchSite:
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)
    """Paths that answer 404."""
    missing_anchors: set[str] = field(default_factory=set)
    """``path#fragment`` links whose anchor does not exist."""

    @property
    def distinct_urls(self) -> int:
        """Distinct URLs without fragments (pages, assets, broken ones): what every tool checks."""
        return len(self.files) + len(self.broken)


def page_path(i: int) -> str:
    return f"/docs/p{i:03d}/"


def generate(*, slow: bool = False) -> BenchSite:
    site = BenchSite()
    for i in range(PAGES):
        links = ['<a href="/">home</a>']
        for step in range(1, LINKS_PER_PAGE + 1):
            j = (i + step * 7) % PAGES
            anchor = f"#s{step % 3 + 1}" if step % 2 else ""
            links.append(f'<a href="../p{j:03d}/{anchor}">page {j}</a>')
        if i % 50 == 0:
            target = page_path((i + 1) % PAGES)
            links.append(f'<a href="{target}#nope">missing anchor</a>')
            site.missing_anchors.add(f"{target}#nope")
        if i % 60 == 0:
            missing = f"/docs/missing-{i}/"
            links.append(f'<a href="{missing}">missing page</a>')
            site.broken.add(missing)
        if slow and i == 0:
            links.append(f'<a href="{SLOW_PATH}">slow page</a>')
        sections = "".join(f'<h2 id="s{k}">Section {k}</h2><p>{"text " * 40}</p>' for k in (1, 2, 3))
        body = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Page {i}</title>'
                '<link rel="stylesheet" href="/assets/site.css"><script src="/assets/app.js"></script>'
                f'</head><body><img src="/assets/logo.png" alt="logo"><nav>{"".join(links)}</nav>'
                f"{sections}</body></html>")
        site.files[page_path(i)] = (body.encode(), "text/html")
    index = "".join(f'<a href="{page_path(i)}">{i}</a>' for i in range(PAGES))
    site.files["/"] = (f"<!DOCTYPE html><html><body>{index}</body></html>".encode(), "text/html")
    site.files["/assets/site.css"] = (b"body{background:url(bg.png)} h1{background:url(logo.png)}", "text/css")
    site.files["/assets/app.js"] = (b"console.log('docs')", "application/javascript")
    site.files["/assets/logo.png"] = (b"\x89PNG\r\n\x1a\n" + b"\0" * 200, "image/png")
    site.broken.add("/assets/bg.png")
    if slow:
        site.files[SLOW_PATH] = (b"<html><body>slow</body></html>", "text/html")
    return site


async def serve(site: BenchSite, *, linkchecker_header: bool, slow_seconds: float = 0.0) -> tuple[web.AppRunner, str]:
    """Serve ``site`` on 127.0.0.1 with a large listen backlog (``http.server``'s 5 drops
    connections under 50+ concurrent clients and shows up as false broken links)."""
    headers = {"LinkChecker": "1"} if linkchecker_header else {}

    async def handle(request: web.Request) -> web.StreamResponse:
        path = request.path
        if path == SLOW_PATH and slow_seconds:
            await asyncio.sleep(slow_seconds)
        if path == "/robots.txt":
            return web.Response(text="User-agent: *\nDisallow:\n", headers=headers)
        found = site.files.get(path)
        if found is None:
            raise web.HTTPNotFound(headers=headers)
        body, content_type = found
        return web.Response(body=body, content_type=content_type, headers=headers)

    app = web.Application()
    app.router.add_route("GET", "/{path:.*}", handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
    await tcp.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"
