"""The ``render_html`` stage: markdown to a themed static site, incrementally."""
