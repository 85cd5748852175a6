"""pressroom's own OpenAPI document, without starting a daemon: ``python -m pipeline.api.openapi_document``.

The committed ``docs/openapi.json`` is this output; the openapi stage renders it into our docs as
the API reference, and a test keeps it equal to what a running daemon serves at
``/api/openapi.json``. Refresh it after changing a route:
``.venv/bin/python -m pipeline.api.openapi_document > docs/openapi.json``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from aiohttp import web

from pipeline.api import routes
from pipeline.api.keys import openapi_key


def build() -> dict[str, Any]:
    """The document an app with every API-origin route serves (the same :func:`routes.mount`)."""
    app = web.Application()
    routes.mount(app)
    doc: dict[str, Any] = app[openapi_key]
    return doc


def main() -> None:
    sys.stdout.write(json.dumps(build(), indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
