"""``--as-of`` values: every form of one day means the same day and time."""

import datetime as dt

import pytest

from keitrucks.core.dates import normalize_as_of

TODAY = dt.date(2026, 11, 25)


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("2026-11-24", "2026-11-24T06:00:00+00:00"),
        # the basic form of the same date meant midnight, six hours before the night's crawl
        ("20261124", "2026-11-24T06:00:00+00:00"),
        ("2026W482", "2026-11-24T06:00:00+00:00"),
        ("2026-W48-2", "2026-11-24T06:00:00+00:00"),
        (" 2026-11-24 ", "2026-11-24T06:00:00+00:00"),
        ("yesterday", "2026-11-24T06:00:00+00:00"),
        ("today", "2026-11-25T06:00:00+00:00"),
        # a time is the time given, in UTC
        ("2026-11-24T10:00", "2026-11-24T10:00:00+00:00"),
        ("20261124T1000Z", "2026-11-24T10:00:00+00:00"),
        ("2026-11-24T00:00:00Z", "2026-11-24T00:00:00+00:00"),
        ("2026-11-24T01:30:00-05:00", "2026-11-24T06:30:00+00:00"),
    ],
)
def test_every_form_of_a_day_is_the_same_night(value, iso):
    assert normalize_as_of(value, today=TODAY) == iso


@pytest.mark.parametrize("value", ["2026-11-31", "24/11/2026", "soon", "", "2026-11"])
def test_what_is_no_date_is_refused_in_one_wording(value):
    with pytest.raises(ValueError, match=r"is not a date \(use YYYY-MM-DD"):
        normalize_as_of(value, today=TODAY)
