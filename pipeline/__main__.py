"""``python -m pipeline`` is the ``pressroom`` command."""

from pipeline.cli import main

main()
