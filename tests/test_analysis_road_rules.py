"""The buyer's state rule beside the market: lines, counts, watched-search wishes."""

import datetime as dt

import pandas as pd
import pytest

from analysis import road_rules
from keitrucks.core.config import DEFAULT_CONFIG

TODAY = dt.date(2026, 12, 4)


def config(state=None, overrides=()):
    return {
        **DEFAULT_CONFIG,
        "buyer": {"state": state, "stale_months": 12, "rule_overrides": list(overrides)},
    }


def test_a_buyer_in_georgia_reads_that_no_road_registration_is_possible():
    line = road_rules.rule_line(road_rules.buyer_view(config("GA"), TODAY))
    assert line.startswith("your state GA: no road registration: off-road or private property")
    assert "source 2023" in line
    assert line.endswith("check with your state DMV before buying")


def test_a_buyer_in_tennessee_reads_a_different_rule():
    line = road_rules.rule_line(road_rules.buyer_view(config("TN"), TODAY))
    assert line.startswith("your state TN: can be plated only in a special class")


@pytest.mark.parametrize(
    ("state", "said", "not_said"),
    [
        # TN's source shows no date: said once, where the date would be, as a caution
        ("TN", "<span class=warn>undated</span>, confidence medium", ("n.d.", "undated source")),
        ("GA", "dated 2023", ("undated",)),
    ],
)
def test_the_report_says_a_rules_date_once(state, said, not_said):
    view = road_rules.buyer_view(config(state), TODAY)
    page = road_rules.section_html(view, pd.DataFrame())
    assert said in page
    assert not any(words in page for words in not_said)


def test_no_buyer_state_says_how_to_set_one():
    assert road_rules.buyer_view(config(), TODAY) is None
    assert "set [buyer] state" in road_rules.rule_line(None)


@pytest.mark.parametrize(
    ("state", "wanted", "allowed"),
    [
        ("GA", ["registrable", "registrable_restricted"], False),
        ("TN", ["registrable", "registrable_restricted"], True),
        ("MA", ["registrable"], True),
        ("CO", ["registrable_restricted"], False),  # not in force until 2027-07-01
        (None, ["registrable"], False),  # a wish without a buyer state is not met
        ("GA", [], True),  # no wish
    ],
)
def test_a_watched_search_can_require_a_road_status(state, wanted, allowed):
    assert road_rules.road_use_allowed(wanted, config(state), TODAY) is allowed


def test_a_user_override_changes_the_answer():
    mine = {
        "state": "GA",
        "road_status": "registrable",
        "confidence": "medium",
        "source_url": "https://example.org/ga",
        "source_date": "2026-11-30",
    }
    assert road_rules.road_use_allowed(["registrable"], config("GA", [mine]), TODAY)


def test_active_trucks_by_seller_state_with_each_states_rule():
    listings = pd.DataFrame(
        {
            "state": ["TN", "TN", "GA", None, "TN", "NC"],
            "status": ["active", "active", "active", "active", "gone", "active"],
            "kind": ["kei_truck", "kei_truck", "kei_truck", "kei_truck", "kei_truck", "parts"],
        }
    )
    counts = road_rules.state_counts(listings, config("TN"), TODAY)
    assert counts[["state", "trucks", "road_status"]].values.tolist() == [
        ["TN", 2, "registrable_restricted"],
        ["GA", 1, "offroad_only"],
    ]
    html = road_rules.section_html(road_rules.buyer_view(config("TN"), TODAY), counts)
    assert "Your state: <b>TN</b>" in html
    assert "<td>GA</td><td class=num>1</td>" in html
    assert "street legal" in html


def test_no_state_column_is_an_empty_table():
    assert road_rules.state_counts(pd.DataFrame({"x": [1]}), config(), TODAY).empty
