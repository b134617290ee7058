"""The report's glue (``analysis.report``): the ended trucks' history comes out in time order,
its words categoricals; freed memory is handed back where the C library can."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import report
from analysis.report import _in_time_order, _same_words


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


def _words(values: list[str | None], categories: list[str]) -> pd.DataFrame:
    column = pd.Categorical(values, categories=categories)
    return pd.DataFrame({"event": column, "price_basis": column, "status": column.astype(object)})


def test_history_reads_over_different_words_concatenate_to_categoricals_of_the_same_values():
    parts = [
        _words(["sold", None, "gone"], ["gone", "sold"]),
        _words(["active", "gone", "active"], ["active", "gone", "ended"]),
    ]
    joined = pd.concat(_same_words(parts), ignore_index=True)
    plain = pd.concat(parts, ignore_index=True)  # the words as objects
    for name in ("event", "price_basis"):
        assert isinstance(joined[name].dtype, pd.CategoricalDtype)
        assert set(joined[name].cat.categories) == {"active", "ended", "gone", "sold"}
    # not categorical in every part: concatenated as pandas does
    assert not isinstance(joined["status"].dtype, pd.CategoricalDtype)
    pd.testing.assert_frame_equal(joined.astype(object), plain.astype(object))
    # codes in order of first appearance, as the sold trucks number their price bases
    assert (pd.factorize(joined["event"])[0] == pd.factorize(plain["event"])[0]).all()


def test_releasing_freed_memory_is_a_no_op_without_malloc_trim(monkeypatch):
    class NoTrim:
        def __init__(self, name):
            raise AttributeError("malloc_trim")

    report._malloc_trim.cache_clear()
    monkeypatch.setattr(report.ctypes, "CDLL", NoTrim)
    try:
        assert report._malloc_trim() is None
        report._release_freed_memory()  # does nothing, raises nothing
    finally:
        report._malloc_trim.cache_clear()
