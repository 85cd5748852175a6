"""The translate stage: which pages of one language are translated, stale or missing, and the
pages it materializes for that language (applied PO catalogs, machine translations)."""
