"""Fixtures for the link checker tests (defined in linkcheck_helpers, a uniquely named module,
so test modules import helpers from it rather than from a module called ``conftest``)."""

from linkcheck_helpers import fault_site, public_dir

__all__ = ["fault_site", "public_dir"]
