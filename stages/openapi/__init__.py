"""The ``openapi`` stage: validate API specs, write their reference pages, diff them against what is live."""
