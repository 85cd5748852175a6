"""A small site with planted faults, served by aiohttp on 127.0.0.1, for both checkers.

Every response carries a ``LinkChecker`` header: LinkChecker lifts its per-host rate limit
(about 3 requests per second otherwise) only for servers that send one, so the side-by-side runs
compare checkers, not LinkChecker's politeness. The slow endpoint waits on an Event that the
fixture sets at teardown, so nothing sleeps.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from aiohttp import web

RELEASE = web.AppKey("release", asyncio.Event)
INFLIGHT = web.AppKey("inflight", list)
"""``[now, max]`` requests in flight on the ``/conc/`` endpoints."""
HITS = web.AppKey("hits", Counter)
EXTERNAL = web.AppKey("external", str)

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def page(body: str, head: str = "") -> str:
    return f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">{head}</head>\n<body>\n{body}\n</body></html>\n"


def pages(external: str) -> dict[str, str]:
    """Path -> HTML. ``external`` is the other server's origin (``http://127.0.0.1:PORT``)."""
    index = "\n".join([
        '<a href="ok.html">ok</a>',
        '<a href="missing.html">missing page</a>',
        '<a href="gone">gone 410</a>',
        '<a href="error">server error 500</a>',
        '<a href="r301">301 then 302 chain</a>',
        '<a href="loop-a">redirect loop</a>',
        '<a href="slow">slow past the timeout</a>',
        '<a href="rate-once">429 once, then fine</a>',
        '<a href="ok.html#present">anchor present</a>',
        '<a href="ok.html#absent">anchor missing</a>',
        '<a href="ok.html#named">a name anchor</a>',
        '<img src="img/ok.png" alt="ok image">',
        '<img src="img/broken.png" alt="broken image">',
        '<img src="img/ok.png" srcset="img/ok.png 1x, img/missing-2x.png 2x" alt="srcset">',
        '<script src="app.js"></script>',
        '<iframe src="frame.html"></iframe>',
        '<a href="private/secret.html">forbidden by robots.txt</a>',
        '<a href="unicode/café.html">unicode raw</a>',
        '<a href="unicode/caf%C3%A9.html">unicode encoded</a>',
        '<a href="unicode/na%C3%AFve-missing.html">unicode missing</a>',
        '<a href="a/b/deep.html">deep page</a>',
        '<a href="basepage.html">page with base href</a>',
        '<a href="mailto:docs@example.com">good mail</a>',
        '<a href="mailto:bad@@">bad mail</a>',
        '<a href="to-js">redirect to javascript:</a>',
        '<a href="to-data">redirect to data:</a>',
        '<a href="http://[bad">malformed url</a>',
        f'<a href="{external}/ext-ok.html">external ok</a>',
        f'<a href="{external}/ext-missing.html">external missing</a>',
        '<a href="space%20name.html">percent-encoded space</a>',
    ])
    return {
        "/": page(index, '<link rel="stylesheet" href="style.css">'),
        "/ok.html": page('<h1 id="present">Here</h1><a name="named"></a><a href="./">home</a>'),
        "/frame.html": page("<p>frame</p>"),
        "/unicode/café.html": page('<p id="déjà">unicode</p><a href="../ok.html#present">back</a>'),
        "/a/b/deep.html": page('<a href="../../ok.html">up two</a><a href="../missing-rel.html">up one missing</a>'),
        "/basepage.html": page('<a href="target.html">base target</a><a href="nothere.html">base missing</a>',
                               '<base href="/base/">'),
        "/base/target.html": page("<p>target</p>"),
        "/space name.html": page("<p>space</p>"),
        "/private/secret.html": page("<p>secret</p>"),
    }


def create_app(external: str = "") -> web.Application:
    app = web.Application(middlewares=[_linkchecker_header])
    app[RELEASE] = asyncio.Event()
    app[HITS] = Counter()
    app[EXTERNAL] = external
    app[INFLIGHT] = [0, 0]
    app.router.add_route("GET", "/{path:.*}", _handle)
    return app


@web.middleware
async def _linkchecker_header(request: web.Request, handler: Any) -> web.StreamResponse:
    request.app[HITS][request.path] += 1
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers["LinkChecker"] = "1"
        raise
    response.headers["LinkChecker"] = "1"
    return response


async def _handle(request: web.Request) -> web.StreamResponse:
    path = request.path
    app = request.app
    html = pages(app[EXTERNAL]).get(path)
    if html is not None:
        return web.Response(text=html, content_type="text/html")
    if path == "/robots.txt":
        return web.Response(text="User-agent: *\nDisallow: /private/\n")
    if path == "/style.css":
        return web.Response(text="body { background: url(img/bg-missing.png) }\n.x { background: url('img/ok.png') }\n",
                            content_type="text/css")
    if path == "/app.js":
        return web.Response(text="console.log(1)\n", content_type="application/javascript")
    if path == "/img/ok.png":
        return web.Response(body=PNG, content_type="image/png")
    if path == "/gone":
        raise web.HTTPGone()
    if path == "/error":
        raise web.HTTPInternalServerError()
    if path == "/r301":
        raise web.HTTPMovedPermanently("/r302")
    if path == "/r302":
        raise web.HTTPFound("/ok.html")
    if path == "/loop-a":
        raise web.HTTPFound("/loop-b")
    if path == "/loop-b":
        raise web.HTTPFound("/loop-a")
    if path == "/to-js":
        raise web.HTTPFound("javascript:alert(1)")
    if path == "/to-data":
        raise web.HTTPFound("data:text/html,hello")
    if path == "/rate-once":
        key = f"rate:{request.headers.get('User-Agent', '')}"
        app[HITS][key] += 1
        if app[HITS][key] == 1:
            raise web.HTTPTooManyRequests(headers={"Retry-After": "1"})
        return web.Response(text=page("<p>fine now</p>"), content_type="text/html")
    if path == "/rate-long":
        raise web.HTTPTooManyRequests(headers={"Retry-After": "3600"})
    if path == "/unavailable-once":
        app[HITS]["unavailable"] += 1
        if app[HITS]["unavailable"] == 1:
            raise web.HTTPServiceUnavailable(headers={"Retry-After": "0"})
        return web.Response(text="back", content_type="text/plain")
    if path == "/farm":
        links = "".join(f'<a href="/farm/{i}">{i}</a>\n' for i in range(100_000))
        return web.Response(text=page(links), content_type="text/html")
    if path.startswith("/farm/"):
        return web.Response(text="crop", content_type="text/plain")
    if path == "/huge":
        return await _huge(request)
    if path == "/garbage":
        return web.Response(body=bytes(range(256)) * 64 + b"<a href='<<<>>>' <<<a href=ok.html", content_type="text/html")
    if path == "/malformed":
        bad = ["http://[bad", "http://", "ht!tp://x", "http://exa mple.com/", "%zz", "http://127.0.0.1:99999/",
               "", "javascript:void(0)", "foo:bar", "file:///definitely/not/here.html"]
        return web.Response(text=page("".join(f'<a href="{u}">bad {i}</a>' for i, u in enumerate(bad))),
                            content_type="text/html")
    if path == "/conc-index":
        return web.Response(text=page("".join(f'<a href="/conc/{i}">{i}</a>' for i in range(60))),
                            content_type="text/html")
    if path.startswith("/conc/"):
        counter = app[INFLIGHT]
        counter[0] += 1
        counter[1] = max(counter[1], counter[0])
        try:
            await asyncio.sleep(0.005)  # keep the request open so concurrent ones overlap
        finally:
            counter[0] -= 1
        return web.Response(text="c", content_type="text/plain")
    if path == "/slow":
        await app[RELEASE].wait()
        return web.Response(text="late", content_type="text/plain")
    raise web.HTTPNotFound()


async def _huge(request: web.Request) -> web.StreamResponse:
    """50 MB of HTML, streamed: a checker that reads it all would take long and use memory."""
    response = web.StreamResponse(headers={"Content-Type": "text/html", "Content-Length": str(50 * 1024 * 1024)})
    await response.prepare(request)
    head = b'<html><body><a href="/ok.html">first link</a>'
    chunk = b"<p>" + b"x" * (64 * 1024 - 7) + b"</p>"
    await response.write(head + chunk[len(head):])
    try:
        for _ in range(50 * 16 - 1):
            await response.write(chunk)
    except (ConnectionResetError, RuntimeError):
        pass
    return response


def external_app() -> web.Application:
    """The "other site": a second server, so links to it are external to the first."""
    app = web.Application(middlewares=[_linkchecker_header])
    app[HITS] = Counter()

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.path == "/ext-ok.html":
            return web.Response(text=page("<p>external</p>"), content_type="text/html")
        raise web.HTTPNotFound()

    app.router.add_route("GET", "/{path:.*}", handle)
    return app


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Start ``app`` on 127.0.0.1, a free port and a large backlog; return the runner and origin."""
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"
