"""The ``lint`` stage: markdownlint rules through rumdl plus pressroom's own site checks."""
