"""Weekly price trends against the price band, per platform family and badge, drive and year.

Pure pandas. The state of every kei truck listing at the end of each ISO week is rebuilt from
the history rows (``analysis.load.read_history_window``: the rows of the window plus each
listing's last row before it) and the as-of listing state; each physical truck (``truck_id``)
counts once per week and series. Prices are never mixed across bases: ``SERIES_BY_BASIS`` puts
asking prices, Japan-side FOB and landed (C&F/CIF) prices, live bids, sold prices and high bids
of unsold auctions in separate series. Stock series count the listings for sale at the week's
end; the ``sold`` and ``bid_to`` series count the auctions first seen closed that week.

``listings`` and ``history`` are joined on ``lid`` (the listing's rowid, see ``analysis.load``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.deals import TITLE_PROBLEMS
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


def series_of(basis: pd.Series) -> pd.Series:
    """The series of each price basis (NaN for an unknown basis)."""
    return basis.astype("object").map(SERIES_BY_BASIS).astype("category")


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
    trucks = listings.loc[keep]
    if "truck_id" in trucks.columns:
        truck = trucks["truck_id"].astype("object")
        missing = truck.isna().to_numpy()
        if missing.any():
            truck = truck.copy()
            truck[missing] = _key(trucks.loc[missing])
    else:
        truck = _key(trucks).astype("object")
    family = trucks["family"] if "family" in trucks.columns else trucks["model"]
    years = pd.to_numeric(trucks["year"], errors="coerce")
    # "1995-1999" per distinct year, not per listing
    distinct = pd.unique(years.dropna().to_numpy())
    names = {y: f"{int(y // 5 * 5)}-{int(y // 5 * 5) + 4}" for y in distinct}
    buckets = years.map(names).where(years.notna(), "unknown")
    drive = trucks["is_4wd"].astype("boolean")
    return pd.DataFrame(
        {
            "lid": trucks["lid"].to_numpy(),
            "truck": pd.factorize(truck.to_numpy())[0],
            "family": family.astype("object").fillna("unknown").astype("category").array,
            "badge": trucks["model"].astype("object").fillna("unknown").astype("category").array,
            "drive": pd.Categorical(
                np.where(drive.isna(), "unknown", np.where(drive.fillna(False), "4WD", "2WD"))
            ),
            "year_bucket": pd.Categorical(buckets.to_numpy()),
        }
    )


def _key(trucks: pd.DataFrame) -> pd.Series:
    return trucks["source"].astype(str) + ":" + trucks["listing_id"].astype(str)


def _naive(days: Sequence[dt.date]) -> np.ndarray:
    """Midnight UTC of each day, as naive datetime64 (UTC implied) for searchsorted."""
    return np.array([np.datetime64(d.isoformat(), "ns") for d in days], dtype="datetime64[ns]")


def _naive_times(times: pd.Series) -> np.ndarray:
    return times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")


def _week_of(times: pd.Series, weeks: list[dt.date]) -> np.ndarray:
    return np.searchsorted(_naive(weeks[1:]), _naive_times(times), side="right")


def _attach(frame: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (with lid) plus the truck and labels of its listing; unknown lids dropped."""
    pos = pd.Index(labels["lid"]).get_indexer(frame["lid"])
    keep = pos >= 0
    frame = frame.loc[keep].reset_index(drop=True)
    pos = pos[keep]
    return frame.assign(**{c: labels[c].array.take(pos) for c in ("truck", *LABELS)})


def weekly_states(
    listings: pd.DataFrame,
    history: pd.DataFrame,
    *,
    start,
    as_of,
    labels: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, list[dt.date]]:
    """One row per (week, series, truck) for each kei truck for sale at the week's end (stock
    series) or closed during the week (event series): week (index into the returned Mondays),
    lid, price_usd, series, truck and the labels of ``describe``. The last week ends at the
    end of ``as_of``. A truck listed twice keeps the row of its smallest lid. ``labels``:
    ``describe(listings)``, when the caller has it already.
    """
    weeks = week_starts(start, as_of)
    n = len(weeks)
    labels = describe(listings) if labels is None else labels
    begin = pd.Timestamp(weeks[0], tz="UTC")
    hist = history.loc[np.isin(history["lid"].to_numpy(), labels["lid"].to_numpy())]
    parts = []
    # listings with no rows in the window keep their as-of state for the whole window
    quiet = ~np.isin(listings["lid"].to_numpy(), hist["lid"].to_numpy())
    still = listings.loc[
        quiet
        & (listings["status"] == "active").fillna(False).to_numpy()
        & (listings["first_seen_at"] < begin).fillna(False).to_numpy(),
        ["lid", "price_usd", "price_basis"],
    ]
    if len(still):
        reps = np.repeat(np.arange(len(still)), n)
        parts.append(
            pd.DataFrame(
                {
                    "lid": still["lid"].to_numpy()[reps],
                    "week": np.tile(np.arange(n), len(still)),
                    "price_usd": still["price_usd"].to_numpy()[reps],
                    "price_basis": still["price_basis"].astype("object").to_numpy()[reps],
                }
            )
        )
    if len(hist):
        week = np.where(hist["before"].to_numpy(), -1, _week_of(hist["observed_at"], weeks))
        hist = hist.assign(week=week)
        # the state at each week's end is the week's last row; it holds until the next one
        last = hist.drop_duplicates(["lid", "week"], keep="last")
        lid = last["lid"].to_numpy()
        wk = last["week"].to_numpy()
        same_next = np.append(lid[1:] == lid[:-1], False)
        nxt = np.where(same_next, np.append(wk[1:], n), n)
        first = np.clip(wk, 0, None)
        span = np.clip(nxt - first, 0, None)
        span = np.where((last["status"] == "active").fillna(False).to_numpy(), span, 0)
        reps = np.repeat(np.arange(len(last)), span)
        offsets = np.arange(span.sum()) - np.repeat(np.cumsum(span) - span, span)
        parts.append(
            pd.DataFrame(
                {
                    "lid": lid[reps],
                    "week": first[reps] + offsets,
                    "price_usd": last["price_usd"].to_numpy()[reps],
                    "price_basis": last["price_basis"].astype("object").to_numpy()[reps],
                }
            )
        )
    stock = pd.concat(parts, ignore_index=True) if parts else _empty_states()
    stock = stock.assign(series=series_of(stock["price_basis"]).astype("object"))
    stock = stock.loc[stock["series"].notna() & ~stock["series"].isin(list(EVENT_SERIES))]
    closed = _closed(hist) if len(hist) else _empty_states()
    states = pd.concat([stock, closed], ignore_index=True)
    states = _attach(states, labels).astype({"series": "category"})
    # a truck listed on several sites (or reposted) counts once per week and series
    # (sorted by week, series, truck and lid; the first row of each week, series and truck)
    week = states["week"].to_numpy()
    series = states["series"].cat.codes.to_numpy()
    truck = states["truck"].to_numpy()
    order = np.lexsort((states["lid"].to_numpy(), truck, series, week))
    week, series, truck = week[order], series[order], truck[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = (week[1:] != week[:-1]) | (series[1:] != series[:-1]) | (truck[1:] != truck[:-1])
    return states.iloc[order[first]].reset_index(drop=True), weeks


def _empty_states() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lid": pd.Series([], dtype="int64"),
            "week": pd.Series([], dtype="int64"),
            "price_usd": pd.Series([], dtype="Int64"),
            "price_basis": pd.Series([], dtype="object"),
            "series": pd.Series([], dtype="object"),
        }
    )


def _closed(hist: pd.DataFrame) -> pd.DataFrame:
    """Rows where an auction is first seen closed (sold / ended) inside the window."""
    status = hist["status"].astype("object")
    lid = hist["lid"].to_numpy()
    prev = np.append([None], status.to_numpy()[:-1])
    prev = np.where(np.append([False], lid[1:] == lid[:-1]), prev, None)
    closing = status.isin(list(EVENT_SERIES.values())).to_numpy() & (status.to_numpy() != prev)
    rows = hist.loc[closing & (hist["week"].to_numpy() >= 0)]
    return pd.DataFrame(
        {
            "lid": rows["lid"].to_numpy(),
            "week": rows["week"].to_numpy(),
            "price_usd": rows["price_usd"].to_numpy(),
            "price_basis": rows["price_basis"].astype("object").to_numpy(),
            "series": rows["status"]
            .astype("object")
            .map({v: k for k, v in EVENT_SERIES.items()})
            .to_numpy(),
        }
    )


def weekly_events(
    listings: pd.DataFrame,
    history: pd.DataFrame,
    *,
    start,
    as_of,
    labels: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per (week, series, truck): ``new`` = 1 when the truck was first seen that week (reposts
    and relists are not new), ``drop`` = 1 when one of its listings lowered its price that
    week (same basis), with the labels of ``describe`` (``labels``, when the caller has them)."""
    weeks = week_starts(start, as_of)
    labels = describe(listings) if labels is None else labels
    begin = pd.Timestamp(weeks[0], tz="UTC")
    trucks = _attach(listings[["lid", "first_seen_at"]], labels)
    firsts = trucks.sort_values(["first_seen_at", "lid"], kind="stable").drop_duplicates("truck")
    new_lids = firsts.loc[(firsts["first_seen_at"] >= begin).to_numpy(), "lid"].to_numpy()
    hist = history.loc[np.isin(history["lid"].to_numpy(), labels["lid"].to_numpy())]
    lid = hist["lid"].to_numpy()
    same = np.append([False], lid[1:] == lid[:-1])
    price = pd.to_numeric(hist["price_usd"], errors="coerce").astype("float64").to_numpy()
    basis = hist["price_basis"].astype("object").to_numpy()
    prev_price = np.where(same, np.append([np.nan], price[:-1]), np.nan)
    prev_basis = np.where(same, np.append([None], basis[:-1]), None)
    inside = ~hist["before"].to_numpy()
    with np.errstate(invalid="ignore"):
        dropped = inside & (price < prev_price) & (basis == prev_basis)
    is_new = inside & (hist["event"] == "new").to_numpy() & np.isin(lid, new_lids)
    events = hist.loc[dropped | is_new, ["lid", "observed_at", "price_basis"]].assign(
        new=is_new[dropped | is_new].astype(int), drop=dropped[dropped | is_new].astype(int)
    )
    if events.empty:
        cols = ["week", "series", "truck", *LABELS, "new", "drop"]
        return pd.DataFrame({c: pd.Series([], dtype="object") for c in cols})
    events = events.assign(
        week=_week_of(events["observed_at"], weeks),
        series=series_of(events["price_basis"]).astype("object"),
    )
    events = _attach(events, labels)
    return events.groupby(["week", "series", "truck", *LABELS], as_index=False, observed=True)[
        ["new", "drop"]
    ].max()


def _grouping_sets() -> list[tuple[str, tuple[str, ...]]]:
    sets = []
    for grouping, name in (("platform", "family"), ("badge", "badge")):
        sets += [
            (grouping, (name, "drive", "year_bucket")),
            (grouping, (name, "drive")),
            (grouping, (name,)),
        ]
    return [*sets, (ALL, ())]


def group_ids(frame: pd.DataFrame, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(group id per row, first row of each group), groups ordered by the keys' sorted codes;
    missing values form their own group."""
    combined = np.zeros(len(frame), dtype=np.int64)
    span = 1
    for key in keys:
        column = frame[key]
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = column.cat.codes.to_numpy().astype(np.int64) + 1
            size = len(column.cat.categories) + 1
        elif pd.api.types.is_integer_dtype(column.dtype) and column.notna().all() and len(column):
            # small integers (week numbers) are their own sorted codes
            values = column.to_numpy(dtype=np.int64)
            low = int(values.min())
            codes, size = values - low, int(values.max()) - low + 1
        else:
            codes, uniques = pd.factorize(column, sort=True, use_na_sentinel=False)
            size = len(uniques)
        combined = combined * (size + 1) + codes
        span *= size + 1
    if span > max(4 * len(frame), 1 << 16):
        _, first, gid = np.unique(combined, return_index=True, return_inverse=True)
        return gid.reshape(-1), first
    # few possible keys: number the ones present in key order without sorting the rows
    present = np.zeros(span, dtype=bool)
    present[combined] = True
    rank = np.cumsum(present) - 1
    gid = rank[combined]
    first = np.full(int(present.sum()), len(frame), dtype=np.int64)
    np.minimum.at(first, gid, np.arange(len(frame), dtype=np.int64))
    return gid, first


def group_quantiles(
    gid: np.ndarray, values: np.ndarray, qs: Sequence[float], groups: int, *, by_value: bool = False
) -> list[np.ndarray]:
    """Quantiles (linear interpolation, NaN ignored) of ``values`` per group id 0..groups-1;
    NaN for a group without values. ``by_value``: rows are already sorted by value, so a
    stable sort by group is enough."""
    ok = ~np.isnan(values)
    gid, values = gid[ok], values[ok]
    if by_value:
        # NumPy's stable sort of 16-bit integers is a radix sort: far cheaper than a merge sort
        small = gid.astype(np.uint16) if groups <= 1 << 16 else gid
        order = np.argsort(small, kind="stable")
    else:
        order = np.lexsort((values, gid))
    values = values[order]
    counts = np.bincount(gid, minlength=groups)
    starts = np.cumsum(counts) - counts
    has = counts > 0
    out = []
    for q in qs:
        pos = (counts - 1) * q
        low = np.floor(pos).astype(int)
        high = np.ceil(pos).astype(int)
        if values.size:
            lo_v = values[np.clip(starts + low, 0, values.size - 1)]
            hi_v = values[np.clip(starts + high, 0, values.size - 1)]
        else:
            lo_v = hi_v = np.zeros(groups)
        out.append(np.where(has, lo_v + (hi_v - lo_v) * (pos - low), np.nan))
    return out


def _stats(
    frame: pd.DataFrame, keys: list[str], low: int, high: int, *, by_value: bool = False
) -> pd.DataFrame:
    """Count, band counts and shares, and quartiles of price_usd per group of ``keys``
    (``by_value``: ``frame`` is sorted by price_usd)."""
    price = pd.to_numeric(frame["price_usd"], errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan
    )
    gid, first = group_ids(frame, keys)
    groups = len(first)
    out = pd.DataFrame({k: frame[k].iloc[first].to_numpy() for k in keys})
    with np.errstate(invalid="ignore"):
        parts = {
            "listings": np.ones(len(price)),
            "priced": ~np.isnan(price),
            "below": price < low,
            "inside": (price >= low) & (price <= high),
            "above": price > high,
        }
    for name, flags in parts.items():
        out[name] = np.bincount(gid, weights=flags.astype(float), minlength=groups).astype(int)
    quartiles = group_quantiles(gid, price, (0.25, 0.5, 0.75), groups, by_value=by_value)
    out["p25_usd"], out["median_usd"], out["p75_usd"] = quartiles
    for part, col in (("below", "share_below"), ("inside", "share_in"), ("above", "share_above")):
        out[col] = (out[part] / out["priced"].where(out["priced"] > 0)).round(3)
    for col in ("median_usd", "p25_usd", "p75_usd"):
        out[col] = out[col].round().astype("Int64")
    return out


def price_trends(
    listings: pd.DataFrame, history: pd.DataFrame, *, start, as_of, config: dict | None = None
) -> pd.DataFrame:
    """The rows of price_trends.csv (``TREND_COLUMNS``): per ISO week from ``start`` to
    ``as_of``, series, and grouping set (platform family or badge, by drive and year bucket,
    with ``all`` rollups), the count, median/p25/p75 USD, band shares, new trucks and trucks
    with a price drop. Weeks are labelled "2026-W48"; the last is cut at the end of ``as_of``.
    """
    low, high = band_of(config)
    labels = describe(listings)
    states, weeks = weekly_states(listings, history, start=start, as_of=as_of, labels=labels)
    states = states.sort_values("price_usd", kind="stable", na_position="last")
    events = weekly_events(listings, history, start=start, as_of=as_of, labels=labels)
    frames = []
    for grouping, dims in _grouping_sets():
        keys = ["week", "series", *dims]
        stats = _stats(states, keys, low, high, by_value=True)
        counts = events.groupby(keys, dropna=False, observed=True)[["new", "drop"]].sum()
        stats = stats.astype({k: "object" for k in dims})
        table = stats.merge(
            counts.reset_index().astype({k: "object" for k in dims}), on=keys, how="outer"
        )
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
        listings=out["listings"].fillna(0).astype(int),
        new_listings=out["new"].fillna(0).astype(int),
        price_drops=out["drop"].fillna(0).astype(int),
    )
    order = {g: i for i, g in enumerate(("platform", "badge", ALL))}
    out = out.assign(_g=out["grouping"].map(order)).sort_values(
        ["week_start", "series", "_g", "family", "drive", "year_bucket"], kind="stable"
    )
    return out.loc[:, list(TREND_COLUMNS)].reset_index(drop=True)


def band_summary(listings: pd.DataFrame, *, as_of, config: dict | None = None) -> pd.DataFrame:
    """The rows of band_summary.csv (``BAND_COLUMNS``): kei trucks for sale as of ``as_of``
    per series, platform family and drive (``all`` rollups included), counted once per truck,
    with counts and shares below / inside / above the band and quartiles of price."""
    low, high = band_of(config)
    labels = describe(listings)
    active = listings.loc[
        (listings["status"] == "active").fillna(False).to_numpy(),
        ["lid", "price_usd", "price_basis"],
    ]
    active = _attach(active, labels)
    active = active.assign(series=series_of(active["price_basis"]).astype("object"))
    active = active.loc[active["series"].notna() & ~active["series"].isin(list(EVENT_SERIES))]
    active = active.sort_values(["series", "truck", "lid"], kind="stable")
    active = active.drop_duplicates(["series", "truck"], keep="first")
    frames = []
    for dims in (("family", "drive"), ("family",), ("drive",), ()):
        stats = _stats(active, ["series", *dims], low, high).astype({k: "object" for k in dims})
        frames.append(
            stats.assign(
                family=stats["family"] if "family" in dims else ALL,
                drive=stats["drive"] if "drive" in dims else ALL,
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
