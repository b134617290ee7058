"""The report's glue (``analysis.report``): the ended trucks' history comes out in time order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.report import _in_time_order


def _history(seed: int, rows: int, lids: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    seconds = rng.integers(0, 5, rows) * 86_400
    return pd.DataFrame(
        {
            "lid": rng.integers(0, lids, rows),
            "id": rng.integers(0, 4, rows),  # ties on every key happen
            "observed_at": pd.to_datetime(seconds, unit="s", utc=True),
            "price_usd": pd.array(rng.integers(5000, 9000, rows), dtype="Int64"),
        },
        index=rng.permutation(rows),
    )


@pytest.mark.parametrize(("seed", "rows", "lids"), [(1, 0, 1), (2, 1, 1), (3, 40, 3), (4, 500, 60)])
def test_history_comes_out_as_a_stable_sort_by_lid_time_and_id(seed, rows, lids):
    history = _history(seed, rows, lids)
    expected = history.sort_values(["lid", "observed_at", "id"], kind="stable")
    pd.testing.assert_frame_equal(_in_time_order(history), expected)
    # already in order: returned as it is, same rows, same index
    pd.testing.assert_frame_equal(_in_time_order(expected), expected)
