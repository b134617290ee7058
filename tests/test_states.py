"""Where a listing is, and what its state's road rules say: table-driven."""

import datetime as dt

import pytest

from keitrucks.core import states
from keitrucks.core.states import rule_for, state_of

TODAY = dt.date(2026, 12, 4)


@pytest.mark.parametrize(
    ("location", "kwargs", "expected"),
    [
        # Craigslist
        ("Knoxville, TN", {}, "TN"),
        (
            "Weaverville",
            {"source": "craigslist", "url": "https://asheville.craigslist.org/cto/d/x/1.html"},
            "NC",
        ),
        (
            "near Maryville",
            {"source": "craigslist", "url": "https://knoxville.craigslist.org/x/1.html"},
            "TN",
        ),
        (None, {"source": "craigslist", "url": "https://lafayette.craigslist.org/x/1.html"}, None),
        (None, {"source": "craigslist", "url": "https://example.org/knoxville"}, None),
        # eBay item locations and postal codes
        ("Chesapeake, Virginia, United States", {"source": "ebay"}, "VA"),
        ("Austin, TX, United States", {"source": "ebay"}, "TX"),
        ("Located in: Tampa, Florida", {"source": "ebay"}, "FL"),
        (None, {"source": "ebay", "postal_code": "37902"}, "TN"),
        ("aus Großbritannien", {"source": "ebay"}, None),
        ("Toronto, Ontario, Canada", {"source": "ebay"}, None),
        # dealers
        ("123 Main St, Cleveland, TN 37311", {"source": "dealer_jsonld"}, "TN"),
        ("37311", {"source": "dealer_jsonld"}, "TN"),
        ("Knoxville Tennessee", {}, "TN"),
        ("Washington, DC", {}, "DC"),
        ("Kansas City, Missouri", {}, "MO"),
        ("West Virginia", {}, "WV"),
        # not a state
        ("Salem or Bend", {}, None),
        ("Pick up only", {}, None),
        ("Yokohama", {"source": "beforward"}, None),
        ("", {}, None),
        (None, {}, None),
        ("00000", {}, None),
    ],
)
def test_state_of(location, kwargs, expected):
    assert state_of(location, **kwargs) == expected


def test_every_state_and_dc_has_one_shipped_rule():
    rules = states.state_rules()
    assert set(rules) == set(states.us_state_names())
    assert len(rules) == 51
    assert {r.road_status for r in rules.values()} <= set(states.ROAD_STATUSES)
    assert all(r.source_url or r.confidence == "low" for r in rules.values())


def test_a_rule_reads_as_words_with_its_limit_and_source():
    view = rule_for("AR", today=TODAY)
    assert view.words == states.ROAD_STATUS_WORDS["registrable_restricted"]
    assert view.limit == "roads posted 55 mph or less, no interstates"
    assert view.road_use is True
    assert "undated source" in view.cautions
    assert view.line().startswith("AR: can be plated only in a special class")


@pytest.mark.parametrize(
    ("state", "source"),
    [
        # "source n.d. (dmv, medium); undated source": the missing date said twice
        ("TN", "source undated (dmv, medium)"),
        ("IN", "source undated (dealer, low); low confidence"),
        ("AL", "source undated (statute text; Act 2011-205) (statute, medium)"),
        # a dated source keeps its date as shown, and its age
        ("GA", "source 2023 (bulletin MVD-2023-05) (dmv, high); source over 12 months old"),
    ],
)
def test_a_rule_line_says_its_source_date_once(state, source):
    line = rule_for(state, today=TODAY).line()
    assert line.endswith(f"; {source}")
    assert "n.d." not in line
    assert line.count("undated") == (source.count("undated"))


def test_georgia_gives_no_road_use():
    view = rule_for("ga", today=TODAY)
    assert view.rule.road_status == "offroad_only"
    assert view.road_use is False


def test_a_rule_not_yet_in_force_says_so_and_gives_no_road_use():
    view = rule_for("CO", today=TODAY)
    assert view.rule.effective_from == "2027-07-01"
    assert "not in force until 2027-07-01" in view.cautions
    assert view.road_use is False
    assert rule_for("CO", today=dt.date(2027, 7, 1)).road_use is True


@pytest.mark.parametrize(
    ("source_dated", "today", "stale"),
    [
        ("2025-12-10", TODAY, False),
        ("2025-11", TODAY, True),
        ("2025-12", TODAY, False),
        ("2024", TODAY, True),
        (None, TODAY, True),
    ],
)
def test_staleness(source_dated, today, stale):
    rule = states.rule_from_row(
        {
            "state": "TN",
            "road_status": "registrable",
            "confidence": "high",
            "source_date": source_dated or "n.d.",
        }
    )
    assert states.is_stale(rule, today=today) is stale
    cautions = states.view(rule, today=today).cautions
    assert any("source" in c for c in cautions) is stale


def test_low_confidence_is_never_a_plain_answer():
    view = rule_for("WA", today=TODAY)
    assert view.rule.confidence == "low"
    assert "low confidence" in view.cautions


def test_a_user_override_replaces_the_row_with_their_source():
    override = {
        "state": "GA",
        "road_status": "registrable",
        "confidence": "medium",
        "source_url": "https://dor.georgia.gov/example",
        "source_date": "2026-11-30",
    }
    view = rule_for("GA", today=TODAY, overrides=[override])
    assert view.rule.origin == "user"
    assert view.road_use is True
    assert "your own rule" in view.cautions
    assert rule_for("GA", today=TODAY).rule.origin == "reference"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"state": "XX", "road_status": "registrable"}, "not a US state"),
        ({"state": "TN", "road_status": "legal"}, "road_status must be one of"),
        ({"state": "TN", "road_status": "registrable", "confidence": "sure"}, "confidence"),
    ],
)
def test_a_bad_override_is_refused(row, message):
    with pytest.raises(ValueError, match=message):
        states.rules_with([row])


def test_an_unknown_or_missing_state_has_no_rule():
    assert rule_for(None, today=TODAY) is None
    assert rule_for("ZZ", today=TODAY) is None
