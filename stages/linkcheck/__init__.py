"""The ``linkcheck`` stage and a LinkChecker-compatible checker."""
