"""``[translate]``: where translations come from and whether a machine may fill the gaps.

The orchestrator passes the ``[translate]`` table as the stage's ``ctx.options`` (the config's
``TranslateConfig`` extends this class with the job-level keys), so the stage and the
``pressroom translate`` commands read one model.
"""

from __future__ import annotations

from pydantic import Field

from stages.base import StageOptions


class TranslateOptions(StageOptions):
    """Options of the translate stage (the ``[translate]`` table)."""

    provider: str = "none"
    """``none`` or the URL of a LibreTranslate-compatible server (``POST <provider>/translate``)."""
    api_key_env: str | None = None
    """Environment variable holding the provider's API key (sent as ``api_key``); unset: no key."""
    machine: bool = False
    """Machine-translate pages that are missing or stale (needs ``provider``); such pages are marked
    ``machine_translated`` and do not count as complete."""
    po_dir: str = "locales"
    """Folder (relative to the source) of the gettext catalogs: ``<po_dir>/<lang>/<page>.po``."""
    request_timeout: float = Field(60.0, gt=0)
    """Seconds one request to the machine-translation provider may take."""
