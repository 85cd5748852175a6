"""Every route of the API origin, mounted in one place, and the OpenAPI document that describes them.

Each resource module declares its routes and, beside them, their OpenAPI paths
(``OPENAPI_PATHS``); :data:`RESOURCES` lists them in the order they are mounted, and :func:`mount`
adds them to an app and builds that app's document from the same list. So a route and its
description cannot be mounted apart, and two apps in one process (tests, benchmarks) never share
a document. Pages that are not API (the dashboard's, ``/docs/``, the ``/sites/`` redirects) have
no paths in the document, as before.

Deployed sites are served by another application on their own origin (``api/sites.py``); its
two routes are mounted there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from pipeline.api import (
    audits,
    builds,
    deliveries,
    docs,
    languages,
    openapi,
    reviews,
    sessions,
    sites,
    system,
)
from pipeline.api.keys import openapi_key
from pipeline.dashboard import wiring as dashboard
from pipeline.intake import hookupload, spec, webhooks


@dataclass(frozen=True)
class Resource:
    """Routes mounted together, the OpenAPI paths that describe them (none for pages), and the
    webhooks they send, if any (the document's ``webhooks`` section)."""

    routes: Iterable[web.AbstractRouteDef]
    paths: dict[str, Any] = field(default_factory=dict)
    webhooks: dict[str, Any] = field(default_factory=dict)


RESOURCES: tuple[Resource, ...] = (
    Resource(builds.routes, builds.OPENAPI_PATHS),
    Resource(system.routes, system.OPENAPI_PATHS),
    Resource(sites.redirects),
    Resource(docs.routes),
    Resource(deliveries.routes, deliveries.OPENAPI_PATHS, deliveries.OPENAPI_WEBHOOKS),
    Resource(reviews.routes, reviews.OPENAPI_PATHS),
    Resource([*webhooks.routes, *hookupload.routes], spec.OPENAPI_PATHS),
    Resource(sessions.routes, sessions.OPENAPI_PATHS),
    Resource(dashboard.routes, dashboard.OPENAPI_PATHS),
    Resource(audits.routes, audits.OPENAPI_PATHS),
    Resource(languages.routes, languages.OPENAPI_PATHS),
)
"""The API origin: builds, system (health, metrics, this document), the redirect of ``/sites/``
to the sites origin, the docs, notification deliveries, reviews and targets, intake hooks,
dashboard sessions, the dashboard's pages, stream and static files, audits, and the languages'
translation figures."""


def mount(app: web.Application) -> None:
    """Add every resource's routes to ``app`` and store the OpenAPI document that lists them."""
    paths: dict[str, Any] = {}
    webhooks: dict[str, Any] = {}
    for resource in RESOURCES:
        app.add_routes(resource.routes)
        for path, operations in resource.paths.items():
            paths.setdefault(path, {}).update(operations)  # a path's methods may come from two modules
        webhooks.update(resource.webhooks)
    app[openapi_key] = openapi.document(paths, webhooks)
