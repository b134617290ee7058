"""The shared frame helpers: string ranks order as Python's sort does."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.frames import string_ranks


@pytest.mark.parametrize(
    "values",
    [
        ["craigslist:9", "beforward:10", "craigslist:9", "beforward:1"],  # ties keep their order
        ["z", "é", "ｚ", "\U0001f600", "Z", "", "a b"],  # code points, not locale
        ["x\ud800", "a", "x"],  # a lone surrogate Arrow cannot hold: Python sorts
        [3, 1, 2, 1],  # not text
        [],
    ],
)
def test_string_ranks_follow_pythons_stable_sort(values):
    array = np.array(values, dtype=object)
    expected = np.empty(len(values), dtype=np.int64)
    expected[sorted(range(len(values)), key=values.__getitem__)] = np.arange(len(values))
    got = string_ranks(array)
    assert got.dtype == np.int64
    assert got.tolist() == expected.tolist()
