"""A page's translation states, named once for every surface that counts or shows them.

The translate stage counts pages per state; the job result, the status API, ``/api/languages``,
the review record, the dashboard's bars and the command line all show those counts, and
render_html reads the states back. Each builds its list of names from :data:`STATES` (adding
its own fields around it), so a new state cannot reach one surface and be missing from another.
Nothing is imported here: render_html and the orchestrator load it without the stage.
"""

from __future__ import annotations

from typing import Literal

State = Literal["translated", "stale", "missing", "machine"]

FOUND: tuple[State, ...] = ("translated", "stale", "missing")
"""What reading a tree can find (:func:`stages.translate.inventory.take`): ``machine`` pages
exist only once a translate run has made them, so the offline ``translate status`` never has any."""

STATES: tuple[State, ...] = (*FOUND, "machine")
"""Every state, in the order counts are shown and stored (API field order follows it)."""
