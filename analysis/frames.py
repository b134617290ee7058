"""Small helpers over the listing DataFrames that the deal scores and the alerts share."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def column(df: pd.DataFrame, name: str) -> pd.Series:
    """``df[name]``, or a Series of <NA> when the column is absent."""
    if name in df.columns:
        return df[name]
    return pd.Series(pd.NA, index=df.index, dtype="object")


def flag(series: pd.Series) -> pd.Series:
    """A plain bool Series: True only where ``series`` is True (NA counts as False)."""
    return series.fillna(False).astype(bool)


def num(series: pd.Series) -> pd.Series:
    """Numbers as nullable floats; anything unreadable is <NA>."""
    return pd.to_numeric(series, errors="coerce").astype("Float64")


def listing_key(df: pd.DataFrame) -> pd.Series:
    """ "source:listing_id" of each listing."""
    return df["source"].astype(str) + ":" + df["listing_id"].astype(str)


def identity_of(df: pd.DataFrame, key: pd.Series | None = None) -> pd.Series:
    """Each listing's truck identity (storage's ``identity``, shared by reposts), or its
    ``listing_key`` (``key`` when already computed) where it has none."""
    return (
        column(df, "identity")
        .astype("object")
        .where(column(df, "identity").notna(), listing_key(df) if key is None else key)
    )


def usd(value: Any) -> str:
    """Whole dollars, e.g. "$8,900"."""
    return f"${int(value):,}"


def string_ranks(values: np.ndarray) -> np.ndarray:
    """Each value's place in the stable sorted order of ``values`` (strings, say): a sort
    key for ``np.lexsort`` that orders them as ``sort_values`` does, at a fraction of its cost.
    Strings are ranked by Arrow (UTF-8 bytes sort as code points do: Python's order), anything
    else, or text Arrow cannot hold (a lone surrogate), by Python's sort."""
    try:
        text = pa.array(values, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
        text = None
    if text is not None and not text.null_count:
        ranks = pc.rank(text, sort_keys="ascending", tiebreaker="first")
        return ranks.to_numpy().astype(np.int64) - 1
    rank = np.empty(len(values), dtype=np.int64)
    rank[sorted(range(len(values)), key=values.__getitem__)] = np.arange(len(values))
    return rank
