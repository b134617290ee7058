"""The report's tile-grid map of trucks by seller state (part C of #16): the grid table, the
chart, and its place in "Where can I drive it?" above the table screen readers use."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from analysis import charts, road_rules
from analysis.report import STATES_ALT
from keitrucks.core import states

PNG = b"\x89PNG\r\n\x1a\n"


def test_every_state_has_its_own_square_on_an_8_by_11_grid():
    tiles = states.tile_positions()
    assert set(tiles) == set(states.us_state_names())
    assert len(set(tiles.values())) == len(tiles)
    assert all(0 <= row < 8 and 0 <= col < 11 for row, col in tiles.values())


@pytest.mark.parametrize(
    ("a", "b"),
    [("TN", "NC"), ("TN", "KY"), ("NC", "VA"), ("GA", "AL"), ("WA", "OR"), ("NY", "PA")],
)
def test_neighbours_touch_on_the_grid(a, b):
    (ra, ca), (rb, cb) = states.tile_positions()[a], states.tile_positions()[b]
    assert max(abs(ra - rb), abs(ca - cb)) == 1


def _pixels(png: bytes) -> Image.Image:
    assert png.startswith(PNG)
    return Image.open(io.BytesIO(png)).convert("RGB")


def counts(**by_state: int) -> pd.DataFrame:
    return pd.DataFrame({"state": list(by_state), "trucks": list(by_state.values())})


def test_the_map_shades_states_by_their_trucks():
    few, many = (
        _pixels(charts.states_map(counts(TN=1))),
        _pixels(charts.states_map(counts(TN=30, NC=1))),
    )
    assert few.size == many.size
    assert few.tobytes() != many.tobytes()
    navy = np.array([round(255 * c) for c in charts._shade(1.0)])
    assert (np.abs(np.asarray(many, dtype=int) - navy).max(axis=2) <= 2).any()


def test_the_buyer_state_is_outlined():
    plain = charts.states_map(counts(TN=3))
    outlined = charts.states_map(counts(TN=3), buyer_state="TN")
    assert plain != outlined


def test_no_state_is_a_message_not_a_map():
    assert (
        _pixels(charts.states_map(counts())).size != _pixels(charts.states_map(counts(TN=1))).size
    )


def test_the_map_comes_before_the_table_in_where_can_i_drive_it():
    figure = f'<p><img alt="{STATES_ALT}" src="data:image/png;base64,AAAA"></p>'
    table = pd.DataFrame(
        [
            {
                "state": "TN",
                "trucks": 2,
                "road_status": None,
                "rule": None,
                "source_date": None,
                "confidence": None,
                "claims": "",
            }
        ]
    )
    html = road_rules.section_html(None, table, figure=figure)
    assert html.index(figure) < html.index("<table>")
    assert "Seller's state" in html  # the same numbers stay readable as a table
    empty = road_rules.section_html(None, table.iloc[0:0], figure=figure)
    assert figure not in empty
