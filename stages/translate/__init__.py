"""Translations (issue #15): where a language's pages come from, how complete and how fresh they are."""
