"""Seller claims about road use (issue 16): short phrases from ``terms.csv``'s ``road_claim`` rows,
turned around by its ``negation`` row, with the state a claim names."""

from __future__ import annotations

import pytest

from keitrucks.core import tables
from pipelines.normalize.claims import claims_in, road_claims_of

CASES = [
    ("Street legal in TN", ("street legal in TN",)),
    ("STREET-LEGAL", ("street legal",)),
    ("strret legal", ("street legal",)),
    ("streetlegal in Tennessee", ("street legal in TN",)),
    ("road legal, hwy legal", ("street legal", "highway legal")),
    ("legal on public roads in Georgia", ("street legal in GA",)),
    ("titled and tagged", ("titled and tagged",)),
    ("title & tags", ("titled and tagged",)),
    ("tagged n titled in NC", ("titled and tagged in NC",)),
    ("has tags and title", ("titled and tagged",)),
    ("plated", ("plated",)),
    ("comes with plates", ("plated",)),
    ("current tags", ("plated",)),
    # a tag in the singular, and a tag's date (no claim was read)
    ("Title in hand. Has tag.", ("plated",)),
    ("tags till 2027", ("plated",)),
    ("registration good until 10/27", ("plated",)),
    ("has a tag and title", ("titled and tagged",)),
    ("registered in NC", ("registered in NC",)),
    ("registration is current", ("registered",)),
    ("off road only", ("off-road only",)),
    ("OFF-HIGHWAY USE ONLY", ("off-road only",)),
    ("UTV titled", ("off-road title",)),
    ("farm use", ("farm use",)),
    ("farm use only", ("farm use",)),
    ("NC farm tags", ("farm tags",)),
    # negations: the claim turned around, never dropped
    ("not street legal", ("not street legal",)),
    ("NON street legal", ("not street legal",)),
    ("non-street legal", ("not street legal",)),
    ("it isn't registered", ("not registered",)),
    ("never been plated", ("not plated",)),
    ("no tags", ("not plated",)),
    ("no registration", ("not registered",)),
    # what only looks like a claim
    ("chrome plated bumper", ()),
    ("gold plated emblems", ()),
    ("we are a registered dealer", ()),
    ("one registered owner", ()),
    ("pre-registered demo unit", ()),
    ("street legal in or out of town", ("street legal",)),
    ("street legal in 2024", ("street legal",)),
    ("runs and drives, new tires", ()),
    ("", ()),
]


@pytest.mark.parametrize(("text", "claims"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_claims_in(text, claims):
    assert claims_in(text) == claims


def test_claims_of_several_texts_are_joined_once_each_in_order():
    texts = ("1996 Carry 4x4 street legal", None, "Titled and tagged. Street legal!")
    assert road_claims_of(texts) == "street legal; titled and tagged"
    assert road_claims_of(("runs great", None)) is None


def test_every_claim_row_is_reachable_and_the_negation_row_exists():
    rows = [t for t in tables.terms() if t.field == "road_claim"]
    assert {t.scope for t in rows} == {"any"}
    covered = {c.split(" in ")[0] for _, claims in CASES for c in claims}
    assert {t.value for t in rows} <= covered
    assert any(t.field == "negation" and t.value == "road_claim" for t in tables.terms())
