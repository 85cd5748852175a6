"""``python -m stages.linkcheck``: the ``linkcheck`` command without the pressroom CLI."""

from stages.linkcheck.cli import linkcheck

linkcheck(prog_name="linkcheck")
