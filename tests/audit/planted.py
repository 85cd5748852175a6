"""A built site with planted faults, for the audit's tests (hand-written HTML, like a release)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import make_tree

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000100"
                    "05fe02fea35b0e0000000049454e44ae426082")


def page(title: str, body: str, *, lang: str = "en", date: str = "", canonical: bool = True) -> str:
    nav = '<nav><a href="/en/">Home</a> <a href="/en/guide/">Guide</a> <a href="/en/install/">Install</a> <a href="/en/about/">About</a></nav>'
    when = f'<p class="page-date"><time datetime="{date}">{date}</time></p>' if date else ""
    link = '<link rel="canonical" href="https://docs.example/x">' if canonical else ""
    return (f'<!doctype html><html lang="{lang}"><head><title>{title}</title>'
            f'<meta name="description" content="about {title}">{link}</head>'
            f"<body>{nav}<main>{body}{when}</main></body></html>")


def planted(root: Path) -> Path:
    """Faults: a broken link, a missing anchor, a missing image, an orphan page, a stale page,
    a duplicate title and a critical page (en/install/) that is not there."""
    return make_tree(root, {
        "index.html": page("Docs", '<h1>Docs</h1><a href="en/">English</a>'),
        "en/index.html": page("Home", '<h1>Home</h1><h2 id="start">Start</h2><a href="gone/">old page</a>'
                                      '<img src="img/logo.png" alt="logo">'),
        "en/guide/index.html": page("Home", '<h1>Guide</h1><a href="../#nowhere">jump</a>'
                                            '<img src="../img/missing.png" alt="diagram">'),
        "en/old/index.html": page("Old", "<h1>Old</h1><p>Nobody links here.</p>"),
        "en/ancient/index.html": page("Ancient", "<h1>Ancient</h1>", date="2015-03-01"),
        "en/about/index.html": page("About", '<h1>About</h1><a href="../ancient/">history</a>'),
        "en/img/logo.png": PNG,
    })


def fixed(root: Path) -> Path:
    """The same site with every planted fault fixed."""
    return make_tree(root, {
        "index.html": page("Docs", '<h1>Docs</h1><a href="en/">English</a>'),
        "en/index.html": page("Home", '<h1>Home</h1><h2 id="start">Start</h2><a href="about/">about</a>'
                                      '<img src="img/logo.png" alt="logo"><a href="old/">old</a>'),
        "en/guide/index.html": page("Guide", '<h1>Guide</h1><a href="../#start">jump</a>'
                                             '<img src="../img/logo.png" alt="diagram">'),
        "en/old/index.html": page("Old", "<h1>Old</h1>"),
        "en/ancient/index.html": page("Ancient", "<h1>Ancient</h1>", date="2026-11-01"),
        "en/about/index.html": page("About", '<h1>About</h1><a href="../ancient/">history</a>'),
        "en/install/index.html": page("Install", "<h1>Install</h1>"),
        "en/img/logo.png": PNG,
    })
