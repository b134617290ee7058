"""Weekly price trends against the price band, per platform family and badge, drive and year.

The state of every kei truck listing at the end of each ISO week is rebuilt from the history
rows (``analysis.load.read_history_window``: the rows of the window plus each listing's last row
before it) and the as-of listing state, as NumPy arrays of integer codes; each physical truck
(``truck_id``) counts once per week and series. Prices are never mixed across bases:
``SERIES_BY_BASIS`` puts asking prices, Japan-side FOB and landed (C&F/CIF) prices, live bids,
sold prices and high bids of unsold auctions in separate series. Stock series count the listings
for sale at the week's end; the ``sold`` and ``bid_to`` series count the auctions first seen
closed that week.

``listings`` and ``history`` are joined on ``lid`` (the listing's rowid, see ``analysis.load``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from analysis.deals import TITLE_PROBLEMS
from analysis.identity import sorted_unique
from analysis.load import as_of_date
from keitrucks.core.config import DEFAULT_CONFIG

#: price_basis -> series. Series never mix.
SERIES_BY_BASIS = {
    "asking": "asking",
    "fob": "japan_fob",
    "cnf": "japan_landed",
    "cif": "japan_landed",
    "bid": "live_bid",
    "sold": "sold",
    "bid_to": "bid_to",
}
#: Series of closed auctions (counted the week they close, by the status that closes them).
EVENT_SERIES = {"sold": "sold", "bid_to": "ended"}
#: The series, in a fixed order (the weekly tables hold their index).
SERIES = tuple(dict.fromkeys(SERIES_BY_BASIS.values()))
ALL = "all"
LABELS = ("family", "badge", "drive", "year_bucket")

#: The columns of price_trends.csv, in order.
TREND_COLUMNS = (
    "week",
    "week_start",
    "series",
    "grouping",
    "family",
    "drive",
    "year_bucket",
    "listings",
    "new_listings",
    "price_drops",
    "median_usd",
    "p25_usd",
    "p75_usd",
    "share_below",
    "share_in",
    "share_above",
)
#: The columns of band_summary.csv, in order.
BAND_COLUMNS = (
    "as_of",
    "series",
    "family",
    "drive",
    "listings",
    "below",
    "inside",
    "above",
    "share_below",
    "share_in",
    "share_above",
    "median_usd",
    "p25_usd",
    "p75_usd",
)


def band_of(config: dict | None) -> tuple[int, int]:
    """(low, high) of ``config["band"]``, each defaulting to ``DEFAULT_CONFIG["band"]``'s."""
    band = {**DEFAULT_CONFIG["band"], **((config or {}).get("band") or {})}
    return int(band["low"]), int(band["high"])


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_starts(start, as_of) -> list[dt.date]:
    """The Mondays of every ISO week from the week of ``start`` to the week of ``as_of``."""
    first = as_of_date(start)
    first -= dt.timedelta(days=first.weekday())
    last = as_of_date(as_of)
    out = []
    while first <= last:
        out.append(first)
        first += dt.timedelta(days=7)
    return out


def describe(listings: pd.DataFrame) -> pd.DataFrame:
    """The kei trucks the market's prices are read from: lid, truck (an integer per
    ``truck_id``) and the categorical labels family (platform), badge (model), drive and
    year_bucket. A truck said not to run or with a title problem is a project truck, a market of
    its own (the report lists them apart): its $2,000 would pull every median down."""
    keep = (listings["kind"] == "kei_truck").fillna(False).to_numpy(copy=True)
    if "runs" in listings.columns:
        keep &= ~(listings["runs"].astype("boolean") == False).fillna(False).to_numpy()  # noqa: E712
    if "title_status" in listings.columns:
        keep &= ~listings["title_status"].isin(list(TITLE_PROBLEMS)).to_numpy()
    trucks = np.flatnonzero(keep)
    if "truck_id" in listings.columns:
        truck = listings["truck_id"].iloc[trucks].astype("object")
        missing = truck.isna().to_numpy()
        if missing.any():
            truck = truck.copy()
            truck[missing] = _key(listings.iloc[trucks[missing]])
    else:
        truck = _key(listings.iloc[trucks]).astype("object")
    family = listings["family"] if "family" in listings.columns else listings["model"]
    years = pd.to_numeric(listings["year"].iloc[trucks], errors="coerce")
    # "1995-1999" per distinct year, not per listing
    year, distinct = pd.factorize(years)
    names = [f"{int(y // 5 * 5)}-{int(y // 5 * 5) + 4}" for y in distinct]
    drive = listings["is_4wd"].iloc[trucks].astype("boolean")
    return pd.DataFrame(
        {
            "lid": listings["lid"].to_numpy()[trucks],
            "truck": pd.factorize(truck.to_numpy())[0],
            "family": _categorical(*_named(family.iloc[trucks])),
            "badge": _categorical(*_named(listings["model"].iloc[trucks])),
            "drive": _categorical(
                np.where(drive.isna(), 2, drive.fillna(False).astype(int)),
                ["2WD", "4WD", "unknown"],
            ),
            "year_bucket": _categorical(np.where(year < 0, len(names), year), [*names, "unknown"]),
        }
    )


def _named(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """(code per row, names): the distinct values, then "unknown" for the missing ones."""
    codes, uniques = pd.factorize(values)
    return np.where(codes < 0, len(uniques), codes), [*uniques, "unknown"]


def _categorical(codes: np.ndarray, names: Sequence[str]) -> pd.Categorical:
    """The categorical of ``names[code]`` per row, its categories the names present, sorted
    (as ``astype("category")`` of the strings, without hashing a string per row)."""
    present = np.flatnonzero(np.bincount(codes, minlength=len(names)))
    categories = sorted({names[k] for k in present})
    index = {name: k for k, name in enumerate(categories)}
    remap = np.array([index.get(name, -1) for name in names], dtype=np.int64)
    return pd.Categorical.from_codes(remap[codes], categories=categories)


def _key(trucks: pd.DataFrame) -> pd.Series:
    return trucks["source"].astype(str) + ":" + trucks["listing_id"].astype(str)


def _naive(days: Sequence[dt.date]) -> np.ndarray:
    """Midnight UTC of each day, as naive datetime64 (UTC implied) for searchsorted."""
    return np.array([np.datetime64(d.isoformat(), "ns") for d in days], dtype="datetime64[ns]")


def _naive_times(times: pd.Series) -> np.ndarray:
    return times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")


def _week_of(times: pd.Series, weeks: list[dt.date]) -> np.ndarray:
    return np.searchsorted(_naive(weeks[1:]), _naive_times(times), side="right")


class Rows(NamedTuple):
    """Rows of a weekly table as arrays: week (index into the window's Mondays, ``WEEK``),
    series (index into ``SERIES``, ``SERIES_CODE``), pos (the listing's row in the ``describe``
    labels, ``POS``) and price_usd (NaN when unknown; ``_price``'s)."""

    week: np.ndarray
    series: np.ndarray
    pos: np.ndarray
    price: np.ndarray


#: The dtypes of ``Rows``' columns, narrow for memory (a weekly state is 11 bytes, not 32; a
#: million-row window has 1.2M of them): a window's weeks, the series and the labelled
#: listings fit them by far.
WEEK, SERIES_CODE, POS = np.int16, np.int8, np.int32


def _no_rows() -> Rows:
    """Rows of nothing, with the columns' dtypes."""
    return Rows(*(np.zeros(0, dtype=d) for d in (WEEK, SERIES_CODE, POS)), np.zeros(0, np.float32))


def _concat(parts: Sequence[Rows]) -> Rows:
    """The rows of ``parts``, one after the other (a single part with rows is not copied)."""
    parts = [rows for rows in parts if len(rows.week)]
    if len(parts) == 1:
        return parts[0]
    return Rows(*(np.concatenate(column) for column in zip(_no_rows(), *parts, strict=True)))


def _take(rows: Rows, keep: np.ndarray) -> Rows:
    """The rows at positions (or where the mask is True) ``keep``."""
    return Rows(*(column[keep] for column in rows))


def _codes_of(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """(integer code per row, -1 when missing; the distinct values), without factorizing a
    categorical again."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy().astype(np.int64), values.cat.categories
    codes, uniques = pd.factorize(values)
    return codes.astype(np.int64), pd.Index(uniques)


def _lookup(values: pd.Series, table: dict, default: int = -1, dtype=np.int64) -> np.ndarray:
    """``table[value]`` per row (``default`` for a missing or unlisted value) as ``dtype``,
    looked up once per distinct value."""
    codes, uniques = _codes_of(values)
    mapped = np.array([*(table.get(u, default) for u in uniques), default], dtype=dtype)
    return mapped[codes]


def series_codes(basis: pd.Series) -> np.ndarray:
    """The index in ``SERIES`` of each price basis's series; -1 for an unknown basis."""
    table = {b: SERIES.index(s) for b, s in SERIES_BY_BASIS.items()}
    return _lookup(basis, table, dtype=SERIES_CODE)


def _small_codes(values: pd.Series) -> np.ndarray:
    """``_codes_of``'s codes in the narrowest integer type that holds them (and -2)."""
    codes, uniques = _codes_of(values)
    return codes.astype(np.min_scalar_type(-max(len(uniques), 2)))


def _positions(lids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The position in ``lids`` (distinct) of each of ``wanted``, -1 when absent."""
    if not len(lids):
        return np.full(len(wanted), -1, dtype=np.int64)
    low, high = int(lids.min()), int(lids.max())
    if low >= 0 and high <= 4 * len(lids) + (1 << 16):
        # lids are rowids, mostly dense: a table by lid instead of a binary search per row
        table = np.full(high + 2, -1, dtype=np.int64)  # the last: any lid past the largest
        table[lids] = np.arange(len(lids))
        return table[np.clip(wanted, -1, high + 1)]
    order = np.argsort(lids, kind="stable")
    ordered = lids[order]
    at = np.minimum(np.searchsorted(ordered, wanted), len(lids) - 1)
    return np.where(ordered[at] == wanted, order[at], -1)


def _price(values: pd.Series) -> np.ndarray:
    """Prices, NaN when unknown: float32 when every one is a float32 exactly (whole dollars
    are, below $16.7M: half the memory, the same comparisons, order and quartiles), else
    float64."""
    wide = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(over="ignore"):  # past float32's range: inf, not equal, kept wide
        narrow = wide.astype(np.float32)
    exact = narrow == wide
    exact |= np.isnan(wide)
    return narrow if exact.all() else wide


class _History(NamedTuple):
    """The kei trucks' history rows (sorted by listing, then time) as arrays: ``rows`` (week -1
    for a listing's row before the window, series of the row's price basis; ``rows.pos`` tells
    the listings apart as their lids do) and per row the codes of its price basis and status,
    whether it is active, the series it closes (-1: none) and whether it is a new listing's
    first row. 16 bytes a row with float32 prices, 20 with float64 (memory; was 66)."""

    rows: Rows
    basis: np.ndarray
    status: np.ndarray
    active: np.ndarray
    closes: np.ndarray
    new: np.ndarray


def _kei_history(history: pd.DataFrame, labels: pd.DataFrame, weeks: list[dt.date]) -> _History:
    """The rows of ``history`` of the listings ``labels`` describes, as ``_History``, each
    with its week among ``weeks`` (the window's Mondays)."""
    pos = _positions(labels["lid"].to_numpy(), history["lid"].to_numpy())
    keep = np.flatnonzero(pos >= 0)

    def column(name: str) -> pd.Series:
        # the kei trucks' rows of one column (not a copy of the whole frame: memory)
        return history[name] if keep.size == len(history) else history[name].iloc[keep]

    week = _week_of(column("observed_at"), weeks).astype(WEEK)
    week[column("before").to_numpy(dtype=bool)] = -1
    closes = {status: SERIES.index(series) for series, status in EVENT_SERIES.items()}
    basis, status = column("price_basis"), column("status")
    return _History(
        rows=Rows(week, series_codes(basis), pos[keep].astype(POS), _price(column("price_usd"))),
        basis=_small_codes(basis),
        status=_small_codes(status),
        active=_lookup(status, {"active": 1}, 0, dtype=bool),
        closes=_lookup(status, closes, dtype=SERIES_CODE),
        new=_lookup(column("event"), {"new": 1}, 0, dtype=bool),
    )


def weekly_states(
    listings: pd.DataFrame, labels: pd.DataFrame, hist: _History, weeks: list[dt.date]
) -> Rows:
    """One row per (week, series, truck) for each kei truck for sale at the week's end (stock
    series) or closed during the week (event series), over ``weeks`` (the window's Mondays; the
    last week ends at the end of the as-of day). A truck listed twice keeps the row of its
    smallest lid. ``labels``: ``describe(listings)``; ``hist``: ``_kei_history``'s.
    """
    quiet = _quiet_rows(listings, labels, hist, weeks)
    rows = _concat([quiet, _held_rows(hist, len(weeks)), _closed_rows(hist)])
    del quiet
    return _once_per_truck(rows, labels)


#: The series of closed auctions, as indexes into ``SERIES``.
EVENT_CODES = [SERIES.index(s) for s in EVENT_SERIES]


def _stock(series: np.ndarray) -> np.ndarray:
    """Where ``series`` is a stock series (a known series, not a closed auction's)."""
    return (series >= 0) & ~np.isin(series, EVENT_CODES)


def _for_sale(rows: Rows) -> Rows:
    """The rows of a stock series."""
    return _take(rows, _stock(rows.series))


def _quiet_rows(
    listings: pd.DataFrame, labels: pd.DataFrame, hist: _History, weeks: list[dt.date]
) -> Rows:
    """Listings for sale (in a stock series) from before the window with no row in it: their
    as-of state holds for the whole window."""
    pos = _positions(labels["lid"].to_numpy(), listings["lid"].to_numpy())
    seen = np.zeros(len(labels) + 1, dtype=bool)
    seen[hist.rows.pos] = True
    begin = pd.Timestamp(weeks[0], tz="UTC")
    series = series_codes(listings["price_basis"])
    still = np.flatnonzero(
        (pos >= 0)
        & ~seen[pos]
        & _stock(series)
        & (listings["status"] == "active").fillna(False).to_numpy()
        & (listings["first_seen_at"] < begin).fillna(False).to_numpy()
    )
    n = len(weeks)
    reps = np.repeat(still, n)
    return Rows(
        week=np.tile(np.arange(n, dtype=WEEK), still.size),
        series=series[reps],
        pos=pos[reps].astype(POS),
        price=_price(listings["price_usd"])[reps],
    )


def _runs(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first, last): True where a row begins, and where it ends, a run of rows equal in all of
    ``columns``."""
    first = np.ones(len(columns[0]), dtype=bool)
    first[1:] = False
    for column in columns:
        first[1:] |= column[1:] != column[:-1]
    last = np.ones_like(first)
    last[:-1] = first[1:]
    return first, last


def _shifted(values: np.ndarray, fill, step: int = 1) -> np.ndarray:
    """``values`` moved ``step`` rows down (up when negative), ``fill`` in the rows left."""
    out = np.full_like(values, fill)
    if step > 0:
        out[step:] = values[:-step]
    else:
        out[:step] = values[-step:]
    return out


def _held_rows(hist: _History, n: int) -> Rows:
    """The state at each week's end is the week's last row; it holds until the next one
    (a row per week of each listing while active, in a stock series)."""
    pos, week = hist.rows.pos, hist.rows.week
    last = np.flatnonzero(_runs(pos, week)[1])
    pos, week = pos[last], week[last]
    nxt = np.where(_runs(pos)[1], n, _shifted(week, n, -1))
    first = np.clip(week, 0, None)
    held = hist.active[last] & _stock(hist.rows.series[last])
    span = np.where(held, np.clip(nxt - first, 0, None), 0)
    # each row's week is its place among all rows less the start of its run, plus the run's
    # first week (32-bit: the rows number a few million)
    start = (np.cumsum(span) - span).astype(np.int32)
    offsets = np.repeat(first.astype(np.int32) - start, span)
    offsets += np.arange(offsets.size, dtype=np.int32)
    rows = _take(hist.rows, np.repeat(last.astype(np.int32), span))
    return rows._replace(week=offsets.astype(WEEK))


def _closed_rows(hist: _History) -> Rows:
    """Rows where an auction is first seen closed (sold / ended) inside the window, in the
    series of the status that closes it."""
    changed = _runs(hist.rows.pos, hist.status)[0]
    closing = np.flatnonzero((hist.closes >= 0) & changed & (hist.rows.week >= 0))
    return _take(hist.rows, closing)._replace(series=hist.closes[closing])


def _once_per_truck(rows: Rows, labels: pd.DataFrame) -> Rows:
    """A truck listed on several sites (or reposted) counts once per week and series: the row
    of its smallest lid. Only trucks of several listings (and closings, which may repeat) can
    have more than one row, so only those rows are sorted."""
    truck = labels["truck"].to_numpy()
    listed_twice = (np.bincount(truck, minlength=1) > 1)[truck]  # per label row
    several = listed_twice[rows.pos]
    several |= np.isin(rows.series, EVENT_CODES)
    which = np.flatnonzero(several)
    week, series, t = rows.week[which], rows.series[which], truck[rows.pos[which]]
    lid = labels["lid"].to_numpy()[rows.pos[which]]
    order = np.lexsort((lid, t, series, week))
    first = _runs(week[order], series[order], t[order])[0]
    keep = ~several
    keep[which[order[first]]] = True
    return _take(rows, keep)


def _events(
    listings: pd.DataFrame, labels: pd.DataFrame, hist: _History, weeks: list[dt.date]
) -> tuple[Rows, np.ndarray, np.ndarray]:
    """Per (week, series, truck and labels) with an event: its ``Rows`` (price unused) and the
    flags new (the truck was first seen that week; reposts and relists are not new) and drop
    (one of its listings lowered its price that week, on the same basis)."""
    rows = hist.rows
    same = ~_runs(rows.pos)[0]
    with np.errstate(invalid="ignore"):
        dropped = same & (rows.price < _shifted(rows.price, np.nan))
    dropped &= hist.basis == _shifted(hist.basis, -2)
    inside = rows.week >= 0
    dropped &= inside
    is_new = inside & hist.new & _first_new(listings, labels, weeks)[rows.pos]
    at = np.flatnonzero((dropped | is_new) & (rows.series >= 0))
    events = _take(rows, at)
    # one event row per (week, series, truck and its labels): the flags' maximum
    combo = _label_combos(labels)
    key = events.week.astype(np.int64) * len(SERIES) + events.series
    key *= int(combo.max(initial=0)) + 1
    key += combo[events.pos]
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(_runs(key)[0])
    new = np.maximum.reduceat(is_new[at][order], starts) if key.size else key.astype(bool)
    drop = np.maximum.reduceat(dropped[at][order], starts) if key.size else key.astype(bool)
    return _take(events, order[starts]), new.astype(np.int64), drop.astype(np.int64)


def _first_new(listings: pd.DataFrame, labels: pd.DataFrame, weeks: list[dt.date]) -> np.ndarray:
    """Per label row: the listing is its truck's first (earliest first seen, then smallest lid)
    and was first seen inside the window."""
    pos = _positions(labels["lid"].to_numpy(), listings["lid"].to_numpy())
    keep = np.flatnonzero(pos >= 0)
    seen = listings["first_seen_at"].iloc[keep]
    at = pd.DatetimeIndex(seen).asi8
    at = np.where(seen.notna().to_numpy(), at, np.iinfo(np.int64).max)  # unknown: last
    truck = labels["truck"].to_numpy()[pos[keep]]
    order = np.lexsort((listings["lid"].to_numpy()[keep], at, truck))
    first = order[_runs(truck[order])[0]]
    begin = pd.Timestamp(weeks[0], tz="UTC")
    out = np.zeros(len(labels), dtype=bool)
    out[pos[keep][first]] = (seen.iloc[first] >= begin).fillna(False).to_numpy()
    return out


def _label_combos(labels: pd.DataFrame) -> np.ndarray:
    """An integer per label row for its truck and labels together: equal only when all are."""
    key = labels["truck"].to_numpy().astype(np.int64)
    for name in LABELS:
        codes = labels[name].cat.codes.to_numpy().astype(np.int64)
        key = key * (len(labels[name].cat.categories) + 1) + codes + 1
    return np.searchsorted(sorted_unique(key), key)


def _grouping_sets() -> list[tuple[str, tuple[str, ...]]]:
    sets = []
    for grouping, name in (("platform", "family"), ("badge", "badge")):
        sets += [
            (grouping, (name, "drive", "year_bucket")),
            (grouping, (name, "drive")),
            (grouping, (name,)),
        ]
    return [*sets, (ALL, ())]


def group_quantiles(
    gid: np.ndarray,
    values: np.ndarray,
    qs: Sequence[float],
    groups: int,
    *,
    by_value: bool = False,
    counts: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Quantiles (linear interpolation, NaN ignored) of ``values`` per group id 0..groups-1;
    NaN for a group without values. ``by_value``: rows are already sorted by value, so a
    stable sort by group is enough. ``counts``: how many times each value is there (1 each
    when None)."""
    ok = ~np.isnan(values)
    if not ok.all():
        gid, values = gid[ok], values[ok]
        counts = None if counts is None else counts[ok]
    if by_value:
        # NumPy's stable sort of 16-bit integers is a radix sort: far cheaper than a merge sort
        small = gid.astype(np.uint16) if groups <= 1 << 16 else gid
        order = np.argsort(small, kind="stable")
    else:
        order = np.lexsort((values, gid))
    values = values[order]
    if counts is None:
        sizes = np.bincount(gid, minlength=groups)
        ends = np.arange(1, len(values) + 1)
    else:
        sizes = np.bincount(gid, weights=counts, minlength=groups).astype(np.int64)
        ends = np.cumsum(counts[order])  # each value's end among all groups' rows in order
    starts = np.cumsum(sizes) - sizes
    has = sizes > 0
    out = []
    for q in qs:
        pos = (sizes - 1) * q
        low = np.floor(pos).astype(int)
        high = np.ceil(pos).astype(int)
        if values.size:
            # the value of a place is that of the first value ending after it; float64
            # arithmetic whatever the values' type (float32 prices: the same results)
            at_low = np.searchsorted(ends, starts + low, side="right")
            at_high = np.searchsorted(ends, starts + high, side="right")
            lo_v = values[np.clip(at_low, 0, values.size - 1)].astype(np.float64)
            hi_v = values[np.clip(at_high, 0, values.size - 1)].astype(np.float64)
        else:
            lo_v = hi_v = np.zeros(groups)
        out.append(np.where(has, lo_v + (hi_v - lo_v) * (pos - low), np.nan))
    return out


def _number(keys: np.ndarray, span: int) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct keys in order, each key's index among them) of integer keys below
    ``span``."""
    if span <= 4 * keys.size + (1 << 16):
        # few possible keys: mark the ones present instead of sorting the rows
        present = np.zeros(span, dtype=bool)
        present[keys] = True
        return np.flatnonzero(present), (np.cumsum(present) - 1)[keys]
    distinct = sorted_unique(keys)
    return distinct, np.searchsorted(distinct, keys)


def _combine(columns: Sequence[tuple[np.ndarray, int]]) -> tuple[np.ndarray, int]:
    """(one integer key per row for several code columns, each (codes, size): the codes in
    mixed radix; the number of possible keys)."""
    key, span = np.zeros(len(columns[0][0]), dtype=np.int64), 1
    for codes, size in columns:
        key = key * size + codes
        span *= size
    return key, span


def _split(keys: np.ndarray, sizes: Sequence[int]) -> list[np.ndarray]:
    """The code columns ``_combine`` made ``keys`` of."""
    out = []
    for size in reversed(sizes):
        keys, code = np.divmod(keys, size)
        out.append(code)
    return out[::-1]


def _fine_groups(
    parts: Sequence[Rows], labels: pd.DataFrame, weeks: int
) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """The finest groups, (week, series, *LABELS), of the rows of ``parts`` together: the codes
    of each group's week, series and labels, and each row's group in each part. Every grouping
    set of the trends is a union of these groups."""
    sizes = {"week": weeks, "series": len(SERIES)}
    sizes |= {name: len(labels[name].cat.categories) for name in LABELS}
    # the labels' codes combined per label row first: one gather per row, not four (memory)
    label_key, _ = _combine([(labels[n].cat.codes.to_numpy(), sizes[n]) for n in LABELS])
    of_labels = int(np.prod([sizes[n] for n in LABELS]))
    keys = np.empty(sum(len(rows.week) for rows in parts), dtype=np.int64)
    at = 0
    for rows in parts:
        key = keys[at : at + len(rows.week)]
        np.multiply(rows.week, len(SERIES), out=key, dtype=np.int64)
        key += rows.series
        key *= of_labels
        key += label_key[rows.pos]
        at += len(rows.week)
    span = int(np.prod(list(sizes.values())))
    distinct, group = _number(keys, span)
    del keys
    fine = dict(zip(sizes, _split(distinct, list(sizes.values())), strict=True))
    return fine, np.split(group, np.cumsum([len(rows.week) for rows in parts])[:-1])


def _trend_table(
    fine: dict[str, np.ndarray],
    totals: np.ndarray,
    prices: tuple[np.ndarray, np.ndarray, np.ndarray],
    dims: Sequence[str],
    labels: pd.DataFrame,
) -> pd.DataFrame:
    """Per (week, series, *dims) with a state or an event: week, series, the dims' values,
    ``TOTALS`` (``totals``' columns per fine group) summed, listings, priced, band shares and
    quartiles (Int64) of ``prices`` (``_priced``: fine group, price and count, by price)."""
    names = ["week", "series", *dims]
    sizes = [int(fine["week"].max(initial=0)) + 1, len(SERIES)]
    sizes += [len(labels[d].cat.categories) for d in dims]
    key, span = _combine([(fine[n], s) for n, s in zip(names, sizes, strict=True)])
    distinct, gid = _number(key, span)
    groups = len(distinct)
    sums = {
        name: np.bincount(gid, weights=t, minlength=groups).astype(np.int64)
        for name, t in zip(TOTALS, totals.T, strict=True)
    }
    priced = sums["below"] + sums["inside"] + sums["above"]
    fine_group, price, count = prices
    quartiles = group_quantiles(
        gid[fine_group], price, (0.25, 0.5, 0.75), groups, by_value=True, counts=count
    )
    week, series, *values = _split(distinct, sizes)
    return pd.DataFrame(
        {
            "week": week,
            "series": np.array(SERIES, dtype=object)[series],
            **{
                d: pd.Series(np.asarray(labels[d].cat.categories, dtype=object)[v], dtype=object)
                for d, v in zip(dims, values, strict=True)
            },
            **sums,
            "priced": priced,
            "listings": sums["unpriced"] + priced,
            **{
                share: np.round(sums[part] / np.where(priced > 0, priced, np.nan), 3)
                for part, share in (
                    ("below", "share_below"),
                    ("inside", "share_in"),
                    ("above", "share_above"),
                )
            },
            **dict(zip(("p25_usd", "median_usd", "p75_usd"), map(_whole, quartiles), strict=True)),
        }
    )


def _whole(values: np.ndarray) -> pd.arrays.IntegerArray:
    """Rounded to whole numbers, as Int64 (<NA> for NaN)."""
    rounded = np.round(values)
    missing = np.isnan(rounded)
    return pd.arrays.IntegerArray(np.where(missing, 0, rounded).astype(np.int64), missing)


#: What ``price_trends`` counts per fine group: states by price (unknown, below the band,
#: inside, above) and events.
TOTALS = ("unpriced", "below", "inside", "above", "new", "drop")


def _counted(
    states: Rows,
    events: tuple[Rows, np.ndarray, np.ndarray],
    labels: pd.DataFrame,
    weeks: int,
    band: tuple[int, int],
) -> tuple[dict[str, np.ndarray], np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The fine groups of ``states`` and ``events`` (``_fine_groups``), their ``TOTALS`` and
    the priced states by fine group and price (``_priced``): what ``_trend_table`` sums."""
    rows, new, drop = events
    fine, (of_state, of_event) = _fine_groups([states, rows], labels, weeks)
    groups = len(fine["week"])
    # the band's ends as float64 (the prices may be float32: compared as float64 all the same)
    low, high = np.float64(band[0]), np.float64(band[1])
    price = states.price
    # 0: no price, 1 below the band, 2 inside, 3 above (the first that holds, in that order)
    classes = np.zeros(len(price), dtype=np.int8)
    with np.errstate(invalid="ignore"):
        classes[price > high] = 3
        classes[price <= high] = 2
        classes[price < low] = 1
    cell = of_state * 4
    cell += classes
    totals = np.zeros((groups, len(TOTALS)))
    totals[:, :4] = np.bincount(cell, minlength=4 * groups).reshape(groups, 4)
    del cell
    totals[:, 4] = np.bincount(of_event, weights=new, minlength=groups)
    totals[:, 5] = np.bincount(of_event, weights=drop, minlength=groups)
    return fine, totals, _priced(of_state, price, groups)


def _priced(of_state: np.ndarray, price: np.ndarray, groups: int) -> tuple[np.ndarray, ...]:
    """The distinct (fine group, price) of the priced states, by price: each one's fine group,
    price and number of states. Prices repeat (whole dollars, round figures): far fewer pairs
    than states, so each grouping set's quartiles sort pairs, not states."""
    codes, prices = pd.factorize(price)  # NaN (no price): -1
    rank = np.empty(len(prices) + 1, dtype=np.int64)
    rank[np.argsort(prices)] = np.arange(len(prices))
    rank[-1] = len(prices)  # no price: after the last
    key = rank[codes]  # memory: two arrays of the states at a time
    del codes
    key *= groups
    key += of_state
    pairs, pair_of = _number(key, (len(prices) + 1) * groups)
    del key
    count = np.bincount(pair_of, minlength=len(pairs))
    del pair_of
    priced = pairs < len(prices) * groups
    pairs = pairs[priced]
    return pairs % groups, np.sort(prices)[pairs // groups], count[priced]


def price_trends(
    listings: pd.DataFrame,
    history: pd.DataFrame,
    *,
    start,
    as_of,
    config: dict | None = None,
    labels: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The rows of price_trends.csv (``TREND_COLUMNS``): per ISO week from ``start`` to
    ``as_of``, series, and grouping set (platform family or badge, by drive and year bucket,
    with ``all`` rollups), the count, median/p25/p75 USD, band shares, new trucks and trucks
    with a price drop. Weeks are labelled "2026-W48"; the last is cut at the end of ``as_of``.
    """
    low, high = band_of(config)
    labels = describe(listings) if labels is None else labels
    weeks = week_starts(start, as_of)
    hist = _kei_history(history, labels, weeks)
    states = weekly_states(listings, labels, hist, weeks)
    events = _events(listings, labels, hist, weeks)
    fine, totals, prices = _counted(states, events, labels, len(weeks), (low, high))
    frames = []
    for grouping, dims in _grouping_sets():
        table = _trend_table(fine, totals, prices, dims, labels)
        name = dims[0] if dims else None
        frames.append(
            table.assign(
                grouping=grouping,
                family=table[name] if name else ALL,
                drive=table["drive"] if "drive" in dims else ALL,
                year_bucket=table["year_bucket"] if "year_bucket" in dims else ALL,
            )
        )
    out = pd.concat(frames, ignore_index=True)
    if out.empty:
        return pd.DataFrame({c: pd.Series([], dtype="object") for c in TREND_COLUMNS})
    out = out.assign(
        week_start=[weeks[int(w)].isoformat() for w in out["week"]],
        week=[iso_week(weeks[int(w)]) for w in out["week"]],
        new_listings=out["new"],
        price_drops=out["drop"],
    )
    order = {g: i for i, g in enumerate(("platform", "badge", ALL))}
    out = out.assign(_g=out["grouping"].map(order)).sort_values(
        ["week_start", "series", "_g", "family", "drive", "year_bucket"], kind="stable"
    )
    return out.loc[:, list(TREND_COLUMNS)].reset_index(drop=True)


def band_summary(
    listings: pd.DataFrame,
    *,
    as_of,
    config: dict | None = None,
    labels: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The rows of band_summary.csv (``BAND_COLUMNS``): kei trucks for sale as of ``as_of``
    per series, platform family and drive (``all`` rollups included), counted once per truck,
    with counts and shares below / inside / above the band and quartiles of price.
    ``labels``: ``describe(listings)``, when the caller has it already."""
    labels = describe(listings) if labels is None else labels
    pos = _positions(labels["lid"].to_numpy(), listings["lid"].to_numpy())
    active = (listings["status"] == "active").fillna(False).to_numpy()
    at = np.flatnonzero((pos >= 0) & active)
    rows = Rows(
        week=np.zeros(at.size, dtype=WEEK),
        series=series_codes(listings["price_basis"])[at],
        pos=pos[at].astype(POS),
        price=_price(listings["price_usd"])[at],
    )
    rows = _once_per_truck(_for_sale(rows), labels)
    no_events = (_no_rows(), np.zeros(0), np.zeros(0))
    fine, totals, prices = _counted(rows, no_events, labels, 1, band_of(config))
    frames = []
    for dims in (("family", "drive"), ("family",), ("drive",), ()):
        table = _trend_table(fine, totals, prices, dims, labels)
        frames.append(
            table.assign(
                family=table["family"] if "family" in dims else ALL,
                drive=table["drive"] if "drive" in dims else ALL,
            )
        )
    out = pd.concat(frames, ignore_index=True).assign(as_of=as_of_date(as_of).isoformat())
    return (
        out.loc[:, list(BAND_COLUMNS)]
        .sort_values(["series", "family", "drive"], kind="stable")
        .reset_index(drop=True)
    )


def chart_series(trends: pd.DataFrame, series: str = "asking") -> pd.DataFrame:
    """The rows the trend charts plot: per platform family and drive (4WD, 2WD), all years."""
    rows = trends.loc[
        (trends["series"] == series)
        & (trends["grouping"] == "platform")
        & (trends["drive"].isin(["4WD", "2WD"]))
        & (trends["year_bucket"] == ALL)
    ]
    return rows.reset_index(drop=True)
