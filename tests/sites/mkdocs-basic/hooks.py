"""A site's MkDocs hook: pressroom must never run it."""

raise SystemExit("a MkDocs hook ran inside pressroom")
