"""The report's PNG charts as a buyer sees them: opaque pictures of the documented size, a date
label on some weeks and a tick mark on every week (the marks of unlabelled weeks are drawn
apart from matplotlib's ticks, issue #18)."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from analysis import charts
from analysis.trends import ALL


def _weeks(n: int) -> pd.DataFrame:
    monday = dt.date(2026, 6, 1)
    return pd.DataFrame(
        {
            "series": "asking",
            "grouping": ALL,
            "week_start": [(monday + dt.timedelta(weeks=i)).isoformat() for i in range(n)],
            "share_below": 0.2,
            "share_in": 0.5,
            "share_above": 0.3,
        }
    )


def _image(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png))


def test_charts_are_opaque_pngs_of_their_size_at_100_dpi():
    image = _image(charts.band_share_chart(_weeks(5), (5000, 12000)))
    assert image.format == "PNG"
    assert image.mode == "RGB"
    assert image.size == (800, 320)
    assert image.info["dpi"] == pytest.approx((100, 100), abs=0.01)
    assert "Software" not in image.info


def _tick_marks(png: bytes) -> int:
    """The dark marks just under the lowest axis line of a chart."""
    dark = np.asarray(_image(png).convert("L")) < 100
    spine = max(row for row in range(dark.shape[0]) if dark[row].mean() > 0.5)
    line = np.concatenate([[False], dark[spine], [False]])
    starts = np.flatnonzero(line[1:] & ~line[:-1]) + 1
    ends = np.flatnonzero(line[:-1] & ~line[1:]) + 1
    first, last = max(zip(starts, ends, strict=False), key=lambda run: run[1] - run[0])
    below = dark[spine + 2, first + 1 : last - 3]  # not the side axis lines
    return int(np.count_nonzero(below[1:] & ~below[:-1]) + below[0])


@pytest.mark.parametrize("weeks", [1, 5, 8, 9, 26])
def test_every_week_has_a_tick_mark(weeks):
    assert _tick_marks(charts.band_share_chart(_weeks(weeks), (5000, 12000))) == weeks


@pytest.mark.parametrize(
    ("trucks", "thin"),
    [
        ([5, 1, 5], [False, True, False]),
        ([2, 2, 2], [True, True, True]),
        ([3, None, 40], [False, True, False]),
    ],
)
def test_a_week_of_one_or_two_trucks_is_a_dot_apart_from_the_trend(trucks, thin):
    """A restored truck listed alone in its family and drive is its own median: that week is
    drawn as a hollow dot, off the line and the ribbon (the demo's 2WD Minicab 'jumped' to
    $13,500 for eight weeks on one truck)."""
    weeks = [f"2026-06-{d:02d}" for d in (1, 8, 15)]
    part = pd.DataFrame(
        {
            "week_start": weeks,
            "median_usd": [6000, 13500, 6100],
            "p25_usd": [5500, 13500, 5600],
            "p75_usd": [6500, 13500, 6600],
            "listings": pd.array(trucks, dtype="Int64"),
        }
    )
    points = charts.weekly_points(part, weeks)
    assert points["thin"].tolist() == thin
    assert points["x"].tolist() == [0, 1, 2]
    assert points["median"].tolist() == [6000, 13500, 6100]


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(_image(png).convert("RGB"))


@pytest.mark.parametrize("weeks", [1, 9, 26])
@pytest.mark.parametrize("widths", [(8, 5), (5, 8)])
def test_band_share_charts_in_two_widths_are_the_pictures_drawn_anew(weeks, widths):
    """The report draws the band share bars once and lays them out for a screen and a phone
    (issue #18): each picture is the one drawn for that width alone, pixel for pixel."""
    trends = _weeks(weeks).assign(share_below=[0.1 + 0.02 * (i % 7) for i in range(weeks)])
    laid_out = charts.band_share_charts(trends, (5000, 12000), widths=widths)
    for width, png in zip(widths, laid_out, strict=True):
        alone = charts.band_share_chart(trends, (5000, 12000), width=width)
        assert _image(png).size == (width * 100, 320)
        assert np.array_equal(_pixels(png), _pixels(alone))
