"""Every list of translation count names is built from ``stages.translate.states.STATES``, and
each still reads as it did when they were written out by hand: these orders reach users (API
field order in docs/openapi.json, table columns, a bar's segments)."""

from __future__ import annotations

from pipeline.api import languages
from pipeline.dashboard import translations
from pipeline.jobs import status, translate, translation_reviews
from stages.render_html import translated
from stages.translate import inventory
from stages.translate.states import FOUND, STATES


def test_the_states_and_what_an_offline_inventory_can_find() -> None:
    assert STATES == ("translated", "stale", "missing", "machine")
    assert FOUND == ("translated", "stale", "missing")
    assert inventory.STATES is STATES and translated.STATES is STATES


def test_each_surface_keeps_its_own_fields_around_the_states() -> None:
    assert translation_reviews.COUNTS == ("completion", "translated", "stale", "missing", "machine", "source_pages")
    assert status.TRANSLATION_COUNTS == ("completion", "translated", "stale", "missing", "machine")
    assert translate.COUNTS == ("source_pages", "translated", "stale", "missing", "machine")
    assert languages.COUNTS == ("translated", "stale", "missing", "machine")
    assert translations.SEGMENTS == (("translated", "translated"), ("stale", "stale"), ("missing", "missing"),
                                     ("machine", "machine translated"))


def test_an_inventory_counts_every_state() -> None:
    inv = inventory.Inventory(language="de", source_language="en")
    assert list(inv.counts()) == ["source_pages", *STATES]
