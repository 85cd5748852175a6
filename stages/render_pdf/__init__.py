"""The ``render_pdf`` stage: one printable book per language with WeasyPrint."""
