"""The dashboard: server-rendered pages on top of the JSON API, updated live over SSE.

``wiring`` plugs it into the daemon: ``create_app`` calls its ``setup`` for the app state, and
``api/routes.py`` mounts its route table with the API's. Pages render with
Jinja2 from the same store reads and status contract as the API; every button calls the JSON API
with the CSRF header, so the dashboard can do nothing a token holder could not do with curl.
"""
