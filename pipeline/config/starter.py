"""What ``pressroom init`` writes: a commented starter config and a tiny site a team can build at once.

The starter sets only the keys a team is likely to change first, each with a comment; every other
key keeps its default from :mod:`pipeline.config.schema`, and a test loads the starter through the
same validation as any config.
"""

from __future__ import annotations

from pathlib import Path

STARTER_CONFIG = '''# pressroom config. Every key and its default: docs/config.md.
# Secrets never go in this file: it names environment variables that hold them.

data_dir = ".pressroom"            # jobs, the SQLite store, caches and deployed sites

[server]
host = "127.0.0.1"
port = 8080
auth = "token"                     # "none" opens the API to anyone who can reach the port
# Tokens: name, the env var holding the secret, and scopes (read | submit | admin).
[[server.tokens]]
name = "ci"
token_env = "PRESSROOM_CI_TOKEN"
scopes = ["submit"]

[store]
# url = "postgresql://user@host:5432/pressroom"   # default: SQLite, pressroom.db under data_dir

[workers]
count = 2                          # jobs at once in this daemon
max_attempts = 3

[pipeline]
build = ["lint", "openapi", "render_html", "render_pdf", "linkcheck", "deploy"]

[site]
name = "docs"
source = "docs"                    # <source>/<lang>/ pages, or an mkdocs.yml layout
title = "My Documentation"
# base_url = "https://docs.example.org/"  # default: the sites origin ([server] sites_port) + /sites/staging/
default_language = "en"
languages = ["en"]

[intake]
watch = []                         # drop folders, e.g. ["drop/"]
debounce_seconds = 0.3
branches = ["main"]

[stages.lint]
fail_on = "error"                  # "error" | "warning" | "never"

[stages.pdf]
required = false                   # a failed PDF degrades the build instead of failing it

[stages.linkcheck]
external = "off"                   # "off" | "warn" | "fail"

[stages.deploy]
target = "staging"

[notify.slack]
enabled = false
token_env = "SLACK_BOT_TOKEN"
channel = "#docs"

[notify.email]
enabled = false
host = "127.0.0.1"
port = 25
to = []

[audit]
cron = "0 2 * * *"
'''

SAMPLE_PAGES = {
    "docs/en/index.md": "---\ntitle: Welcome\n---\n\n# Welcome\n\nThis site is built by pressroom. Read the [guide](guide/install.md).\n",
    "docs/en/guide/install.md": "---\ntitle: Install\n---\n\n# Install\n\nRun `make run`.\n\n```bash\nmake run\n```\n",
}


def init(directory: Path, *, force: bool = False) -> list[Path]:
    """Write the starter config and the sample pages into ``directory``; returns the files written.

    An existing ``config.toml`` is kept unless ``force``; existing pages are never overwritten.
    """
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    cfg = directory / "config.toml"
    if cfg.exists() and not force:
        raise FileExistsError(f"{cfg} exists; pass --force to overwrite it")
    cfg.write_text(STARTER_CONFIG, encoding="utf-8")
    written.append(cfg)
    for rel, text in SAMPLE_PAGES.items():
        p = directory / rel
        if p.exists():
            continue
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        written.append(p)
    return written
