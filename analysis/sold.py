"""Sold and delisted trucks: days on market, first and last price, and the drops in between.

Pure pandas over the as-of listing state and the history rows of the trucks concerned
(``analysis.load.read_history_of``). A listing is only ever marked gone by storage after a
healthy, complete run of its source, so every gone listing here really left the market. All
listings of one truck (reposts, the same truck on several sites: ``truck_id``) are joined: the
truck is on the market from its first listing's first sighting to its last listing's last,
and a repost at a lower price counts as a drop. A truck is counted when it left the market
inside the window (its last listing went gone, sold or ended then) and none of its listings
is still for sale as of the as-of date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.frames import listing_key, string_ranks
from analysis.identity import sorted_unique
from analysis.load import as_of_date, as_of_end

#: The columns of sold.csv, in order.
SOLD_COLUMNS = (
    "truck_id",
    "outcome",
    "listings",
    "sources",
    "n_listings",
    "title",
    "model",
    "family",
    "year",
    "is_4wd",
    "price_basis",
    "first_seen_at",
    "last_seen_at",
    "left_at",
    "days_on_market",
    "first_price_usd",
    "last_price_usd",
    "sold_price_usd",
    "n_drops",
    "total_drop_usd",
    "total_drop_pct",
    "largest_drop_usd",
    "url",
)
#: status -> outcome; ``gone`` = delisted (sold privately or withdrawn: we cannot tell).
OUTCOMES = {"sold": "sold", "ended": "ended_unsold", "gone": "delisted"}
ASKING_BASES = ("asking", "fob", "cnf", "cif", "bid")


def ended_lids(history: pd.DataFrame, *, start, as_of) -> np.ndarray:
    """``lid`` of listings whose history shows them leaving the market (gone, sold or ended)
    between ``start`` and the end of ``as_of``."""
    begin = pd.Timestamp(as_of_date(start), tz="UTC")
    end = as_of_end(as_of)
    left = (history["event"] == "gone").to_numpy() | history["status"].isin(
        ["sold", "ended"]
    ).to_numpy()
    inside = ((history["observed_at"] >= begin) & (history["observed_at"] < end)).to_numpy()
    return sorted_unique(history["lid"].to_numpy()[left & inside])


def truck_lids(listings: pd.DataFrame, lids) -> np.ndarray:
    """Every ``lid`` of the trucks (``truck_id``) that own ``lids``."""
    # truck ids as integer codes (0: unknown, which is a truck of its own as in ``isin``)
    truck = pd.factorize(listings["truck_id"])[0] + 1
    owner = np.zeros(int(truck.max(initial=0)) + 1, dtype=bool)
    owner[truck[np.isin(listings["lid"].to_numpy(), lids)]] = True
    return listings["lid"].to_numpy()[owner[truck]]


def likely_ended(listings: pd.DataFrame, *, start) -> np.ndarray:
    """``lid`` of the listings first seen before ``start`` whose truck has no listing for sale:
    from the listings alone, before the history is read, nearly every listing whose rows
    before the window the sold trucks need (``truck_lids`` of ``ended_lids``, first seen
    before ``start``). It misses a truck with a listing that left in the window and another
    still for sale; it also holds trucks that left before the window."""
    early = (listings["first_seen_at"] < pd.Timestamp(as_of_date(start), tz="UTC")).to_numpy()
    if not early.any():
        return listings["lid"].to_numpy()[early]
    truck = pd.factorize(listings["truck_id"])[0] + 1  # 0: unknown, a truck of its own
    for_sale = (listings["status"] == "active").fillna(False).to_numpy()
    selling = np.bincount(truck, weights=for_sale, minlength=int(truck.max()) + 1) > 0
    selling[0] = False
    return listings["lid"].to_numpy()[early & ~selling[truck]]


def infer_sold(listings: pd.DataFrame, history: pd.DataFrame, *, start, as_of) -> pd.DataFrame:
    """The rows of sold.csv (``SOLD_COLUMNS``), one per truck that left the market between
    ``start`` and ``as_of``; newest first.

    ``listings`` needs lid, source, listing_id, truck_id, status, first_seen_at,
    last_seen_at, title, model, family, year, is_4wd, url; ``history`` all rows (by the as-of
    end) of the listings of those trucks, joined on ``lid`` and sorted by lid then time.
    Prices are those of the truck's first priced basis (an asking truck is not compared with a
    sold price); ``sold_price_usd`` is the final price of a sold auction. ``days_on_market``
    runs from first to last sighting.
    """
    begin = pd.Timestamp(as_of_date(start), tz="UTC")
    if history.empty or listings.empty:
        return _empty()
    # integer truck codes: grouping on them is far cheaper than on truck_id strings
    tcode, truck_ids = pd.factorize(listings["truck_id"].to_numpy())
    pos = pd.Index(listings["lid"]).get_indexer(history["lid"])
    # memory: positions and codes as the narrowest integers that hold them (a million rows)
    rows = np.flatnonzero(pos >= 0).astype(_narrow(len(history)))
    t = tcode[pos[rows]].astype(_narrow(len(truck_ids)))
    del pos
    hist, bases = _history_arrays(history, rows, t)
    del rows, t
    left_at = _left_at(history, hist)
    active = np.bincount(
        tcode,
        weights=(listings["status"] == "active").fillna(False).to_numpy(),
        minlength=len(truck_ids),
    )
    chosen = left_at.loc[(left_at >= begin).to_numpy() & ~(active[left_at.index.to_numpy()] > 0)]
    if chosen.empty:
        return _empty()
    keep = np.zeros(len(truck_ids), dtype=bool)
    keep[chosen.index.to_numpy()] = True
    out = _trucks(listings, np.flatnonzero(keep[tcode]), tcode)
    # newest first, then by truck_id (a lexsort of numbers instead of sort_values on strings),
    # ordered now: memory, the rows are taken while the frame has the fewest columns
    newest = -chosen.reindex(out.index).to_numpy(dtype="int64")
    out = out.iloc[np.lexsort((string_ranks(truck_ids[out.index.to_numpy()]), newest))]
    mine = keep[hist["t"]]
    for name in hist:  # one array at a time: never two copies of them all
        hist[name] = hist[name][mine]
    sold = hist["sold"]
    out.loc[np.unique(hist["t"][sold]), "outcome"] = "sold"
    out["left_at"] = chosen
    out["days_on_market"] = (
        (out["last_seen_at"] - out["first_seen_at"]).dt.total_seconds() // 86400
    ).astype("Int64")
    last_sold = _last_of_runs(hist["t"], sold & ~np.isnan(hist["price"]))
    out["sold_price_usd"] = (
        history["price_usd"]
        .iloc[hist["row"][last_sold]]
        .set_axis(hist["t"][last_sold])
        .astype("Int64")
    )
    for name in ("row", "observed", "left", "sold"):  # memory: the price path needs none
        del hist[name]
    path = _price_path(hist, bases)
    del hist  # memory: before the result's last columns
    out = out.join(path)
    out["truck_id"] = truck_ids[out.index.to_numpy()]
    return out.loc[:, list(SOLD_COLUMNS)].reset_index(drop=True)


def _history_arrays(
    history: pd.DataFrame, rows: np.ndarray, t: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The history ``rows`` (positions) of truck codes ``t`` as NumPy arrays sorted by truck,
    then time (NaT last), then id: row, t, observed (int64), price (float, NaN unknown), basis
    (codes of the distinct bases, -1 unknown), asking (its basis is an asking one), gone (a
    gone event), left (status sold or ended) and sold (status sold); and the distinct bases."""
    observed = history["observed_at"].to_numpy(dtype="int64")[rows]
    order = _by_truck_then_time(t, _nat_last(observed), history["id"].to_numpy()[rows])
    rows = rows[order]
    basis, bases = pd.factorize(history["price_basis"])
    asking = np.asarray(pd.Index(bases).isin(ASKING_BASES), dtype=bool)
    basis = basis[rows].astype(_narrow(len(bases)))
    status = history["status"]
    return {
        "row": rows,
        "t": t[order],
        "observed": observed[order],
        "price": history["price_usd"].to_numpy(dtype="float64", na_value=np.nan)[rows],
        "basis": basis,
        "asking": np.append(asking, False)[basis],  # -1 (unknown): not asking
        "gone": history["event"].isin(["gone"]).to_numpy()[rows],
        "left": status.isin(["sold", "ended"]).to_numpy()[rows],
        "sold": status.isin(["sold"]).to_numpy()[rows],
    }, np.asarray(bases, dtype=object)


def _narrow(count: int) -> type[np.signedinteger]:
    """The narrowest signed integer type that holds -1 and every number below ``count``."""
    for kind in (np.int8, np.int16, np.int32):
        if count <= np.iinfo(kind).max + 1:
            return kind
    return np.int64


def _by_truck_then_time(t: np.ndarray, when: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The order of rows by truck ``t``, then ``when``, then id (each stable), as
    ``np.lexsort((ids, when, t))``. A stable sort by truck alone (a few times cheaper) keeps
    each truck's rows in the history's order, already by time then id for a truck with one
    listing: only the trucks whose rows are then out of order are sorted again."""
    order = np.argsort(t, kind="stable")
    t, when, ids = t[order], when[order], ids[order]
    later = (when[1:] > when[:-1]) | ((when[1:] == when[:-1]) & (ids[1:] >= ids[:-1]))
    unsorted = t[1:][(t[1:] == t[:-1]) & ~later]
    if unsorted.size:
        redo = np.flatnonzero(np.isin(t, unsorted))
        order[redo] = order[redo][np.lexsort((ids[redo], when[redo], t[redo]))]
    return order


def _left_at(history: pd.DataFrame, hist: dict[str, np.ndarray]) -> pd.Series:
    """When each truck last left the market (the time of its latest gone, sold or ended row),
    by truck code, for the trucks that left at a known time."""
    known = hist["observed"] != np.iinfo(np.int64).min
    last = _last_of_runs(hist["t"], (hist["gone"] | hist["left"]) & known)
    return history["observed_at"].iloc[hist["row"][last]].set_axis(hist["t"][last])


def _trucks(listings: pd.DataFrame, members: np.ndarray, tcode: np.ndarray) -> pd.DataFrame:
    """One row per truck code (ascending) from the positions ``members`` of all its listings:
    n_listings, first_seen_at (the earliest), last_seen_at (the latest), listings (their keys
    by first sighting, then key), sources (the distinct ones, sorted), title, model, family,
    year, is_4wd and url of the last of them in that order, and outcome (``OUTCOMES``, by the
    status of the last seen one; ``infer_sold`` marks the sold ones)."""
    t = tcode[members]
    # memory and speed: keys stay Arrow text (Python strings only for trucks of several
    # listings); sources and statuses are worded once per distinct value
    keys = pa.array(listing_key(listings[["source", "listing_id"]].iloc[members]))
    # keys break ties of first sighting: only trucks with several listings have any
    several = np.flatnonzero(np.bincount(t)[t] > 1)
    rank = np.zeros(len(members), dtype=np.int64)
    rank[several] = string_ranks(keys.take(several).to_numpy(zero_copy_only=False))
    order = np.lexsort((rank, _nat_last(listings["first_seen_at"])[members], t))
    members, t, keys = members[order], t[order], keys.take(order)
    starts = _first_of_runs(t)
    ends = _ends(starts, len(t))
    index = pd.Index(t[starts])
    last_seen = listings["last_seen_at"].to_numpy(dtype="int64")[members]
    # the latest sighting: NaT (int64 min) sorts first; the last seen listing: NaT sorts last
    latest = np.lexsort((last_seen, t))[ends]
    last = np.lexsort((_nat_last(listings["last_seen_at"])[members], t))[ends]
    status, statuses = pd.factorize(listings["status"].iloc[members[last]])
    outcome = np.array([*(OUTCOMES.get(s, "delisted") for s in statuses), "delisted"], object)
    out = pd.DataFrame(
        {
            "n_listings": np.diff(np.append(starts, len(t))),
            "first_seen_at": listings["first_seen_at"].iloc[members[starts]].set_axis(index),
            "last_seen_at": listings["last_seen_at"].iloc[members[latest]].set_axis(index),
            "listings": pd.Series(_joined_runs(keys, starts), index=index, dtype="str"),
            "sources": pd.Series(
                _sources(listings["source"].iloc[members], starts), index=index, dtype="object"
            ),
            "outcome": pd.Series(outcome[status], index=index, dtype="str"),
        }
    )
    for col in ("title", "model", "family", "year", "is_4wd", "url"):
        out[col] = listings[col].iloc[members[ends]].set_axis(index) if col in listings else None
    return out


def _joined_runs(texts: pa.Array, starts: np.ndarray) -> pa.Array:
    """Per run of ``texts`` (from each of ``starts``): its texts joined by spaces."""
    offsets = pa.array(np.append(starts, len(texts)), type=pa.int32())
    return pc.binary_join(pa.ListArray.from_arrays(offsets, texts), pa.scalar(" ", texts.type))


def _sources(sources: pd.Series, starts: np.ndarray) -> np.ndarray:
    """Per run of ``sources`` (from each of ``starts``): the distinct ones, sorted and joined
    by spaces (most trucks have one listing: only theirs are joined)."""
    codes, names = pd.factorize(sources)
    names = np.array([*names, None], dtype=object)  # -1 (unknown): None
    found = names[codes[starts]]
    sizes = np.diff(np.append(starts, len(codes)))
    for i in np.flatnonzero(sizes > 1).tolist():
        run = codes[starts[i] : starts[i] + sizes[i]]
        found[i] = " ".join(sorted({names[c] for c in run.tolist()}))
    return found


def _price_path(hist: dict[str, np.ndarray], bases: np.ndarray) -> pd.DataFrame:
    """Per truck code ``t``: basis, first and last price, drops (count, total, largest).

    ``hist`` (``_history_arrays``) is sorted by truck and time; a repost at a lower price is a
    drop. ``gone`` rows only repeat the last price, so they are not part of the path. The
    basis is the truck's first asking one (``ASKING_BASES``), else its first.
    """
    priced = np.flatnonzero(~np.isnan(hist["price"]) & (hist["basis"] >= 0) & ~hist["gone"])
    t, basis = hist["t"][priced], hist["basis"][priced]
    first = _first_of_runs(t)
    trucks, chosen = t[first], basis[first]
    asking = np.flatnonzero(hist["asking"][priced])
    first_asking = asking[_first_of_runs(t[asking])]
    chosen[np.searchsorted(trucks, t[first_asking])] = basis[first_asking]
    on = basis == chosen[np.searchsorted(trucks, t)]
    t, price = t[on], hist["price"][priced][on]
    starts = _first_of_runs(t)
    same = np.append([False], t[1:] == t[:-1])
    step = price - np.append([np.nan], price[:-1])
    drop = np.where(same & (step < 0), -step, np.nan)
    del step
    ends = _ends(starts, len(t))
    index = pd.Index(trucks)
    out = pd.DataFrame(
        {
            "price_basis": pd.Series(bases[chosen], index=index),
            "first_price_usd": pd.Series(price[starts], index=index),
            "last_price_usd": pd.Series(price[ends], index=index),
            "n_drops": pd.Series(_sums(~np.isnan(drop), starts), index=index),
            "largest_drop_usd": pd.Series(_maxima(np.nan_to_num(drop), starts), index=index),
        }
    )
    total = (out["first_price_usd"] - out["last_price_usd"]).clip(lower=0)
    out["total_drop_usd"] = total
    out["total_drop_pct"] = (100 * total / out["first_price_usd"]).round(1)
    for col in (
        "first_price_usd",
        "last_price_usd",
        "n_drops",
        "largest_drop_usd",
        "total_drop_usd",
    ):
        out[col] = out[col].round().astype("Int64")
    return out


def _sums(flags: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """How many ``flags`` are set in each run from ``starts``."""
    if not starts.size:
        return np.zeros(0, dtype=np.int64)
    return np.add.reduceat(flags.astype(np.int64), starts)


def _maxima(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The largest of ``values`` in each run from ``starts``."""
    if not starts.size:
        return np.zeros(0, dtype="float64")
    return np.maximum.reduceat(values, starts)


def _nat_last(times: pd.Series | np.ndarray) -> np.ndarray:
    """Datetimes (or their int64) as int64 that sort as pandas sorts them: NaT last."""
    values = times.to_numpy(dtype="int64") if isinstance(times, pd.Series) else times
    return np.where(values == np.iinfo(np.int64).min, np.iinfo(np.int64).max, values)


def _first_of_runs(t: np.ndarray) -> np.ndarray:
    """Positions of the first row of each run of equal values of ``t``."""
    return np.flatnonzero(np.append(True, t[1:] != t[:-1])) if t.size else np.zeros(0, int)


def _ends(starts: np.ndarray, size: int) -> np.ndarray:
    """The last positions of the runs that begin at ``starts`` in ``size`` rows."""
    return np.append(starts[1:], size) - 1 if starts.size else starts


def _last_of_runs(t: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Positions of the last row of each run of equal ``t`` among the rows ``where``."""
    picked = np.flatnonzero(where)
    runs = t[picked]
    return picked[np.append(runs[1:] != runs[:-1], True)] if picked.size else picked


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="object") for c in SOLD_COLUMNS})
