"""The real daemon for the audit's tests (the acceptance suite's fixture)."""

from tests.acceptance.conftest import daemon

__all__ = ["daemon"]
