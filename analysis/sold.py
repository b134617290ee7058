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
#: The listing columns a sold truck's row is made of.
_MEMBER_COLUMNS = (
    "source",
    "listing_id",
    "status",
    "first_seen_at",
    "last_seen_at",
    "title",
    "model",
    "family",
    "year",
    "is_4wd",
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
    return np.unique(history["lid"].to_numpy()[left & inside])


def truck_lids(listings: pd.DataFrame, lids) -> np.ndarray:
    """Every ``lid`` of the trucks (``truck_id``) that own ``lids``."""
    owners = listings.loc[np.isin(listings["lid"].to_numpy(), lids), "truck_id"].unique()
    return listings.loc[listings["truck_id"].isin(owners), "lid"].to_numpy()


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
    n_trucks = len(truck_ids)
    pos = pd.Index(listings["lid"]).get_indexer(history["lid"])
    hist = history.loc[pos >= 0].assign(t=tcode[pos[pos >= 0]])
    leaving = ((hist["event"] == "gone") | hist["status"].isin(["sold", "ended"])).to_numpy()
    left_at = hist.loc[leaving].groupby("t")["observed_at"].max()
    active = (
        np.bincount(
            tcode,
            weights=(listings["status"] == "active").fillna(False).to_numpy(),
            minlength=n_trucks,
        )
        > 0
    )
    chosen = left_at.loc[(left_at >= begin).to_numpy() & ~active[left_at.index.to_numpy()]]
    if chosen.empty:
        return _empty()
    keep = np.zeros(n_trucks, dtype=bool)
    keep[chosen.index.to_numpy()] = True
    # only the columns read below: a copy of every listing column of 150k trucks, sorted
    # twice, was the report's peak memory
    columns = [c for c in _MEMBER_COLUMNS if c in listings.columns]
    members = listings.loc[keep[tcode], columns].assign(t=tcode[keep[tcode]])
    members = members.assign(
        key=members["source"].astype(str) + ":" + members["listing_id"].astype(str)
    )
    members = members.sort_values(["t", "first_seen_at", "key"], kind="stable")
    hist = hist.loc[keep[hist["t"].to_numpy()]].sort_values(
        ["t", "observed_at", "id"], kind="stable"
    )

    grouped = members.groupby("t", sort=True)
    out = pd.DataFrame(
        {
            "n_listings": grouped.size(),
            "first_seen_at": grouped["first_seen_at"].min(),
            "last_seen_at": grouped["last_seen_at"].max(),
            "listings": grouped["key"].first(),
            "sources": grouped["source"].first().astype("object"),
        }
    )
    # most trucks have one listing: join strings only for those with several
    several = members.loc[members["t"].duplicated(keep=False)]
    if len(several):
        out.loc[several["t"].unique(), "listings"] = several.groupby("t")["key"].agg(" ".join)
        pairs = several[["t", "source"]].astype({"source": "object"}).drop_duplicates()
        joined = pairs.sort_values(["t", "source"]).groupby("t")["source"].agg(" ".join)
        out.loc[joined.index, "sources"] = joined
    head = members.drop_duplicates("t", keep="last").set_index("t")
    for col in ("title", "model", "family", "year", "is_4wd", "url"):
        out[col] = head[col] if col in head.columns else None
    last_status = (
        members.sort_values(["t", "last_seen_at"], kind="stable")
        .drop_duplicates("t", keep="last")
        .set_index("t")["status"]
        .astype("object")
    )
    sold = (hist["status"] == "sold").to_numpy()
    out["outcome"] = last_status.map(OUTCOMES).fillna("delisted")
    out.loc[np.unique(hist["t"].to_numpy()[sold]), "outcome"] = "sold"
    out["left_at"] = chosen
    out["days_on_market"] = (
        (out["last_seen_at"] - out["first_seen_at"]).dt.total_seconds() // 86400
    ).astype("Int64")
    sold_rows = hist.loc[sold & hist["price_usd"].notna().to_numpy()]
    out["sold_price_usd"] = sold_rows.groupby("t")["price_usd"].last().astype("Int64")
    out = out.join(_price_path(hist))
    out["truck_id"] = truck_ids[out.index.to_numpy()]
    return (
        out.sort_values(["left_at", "truck_id"], ascending=[False, True], kind="stable")
        .loc[:, list(SOLD_COLUMNS)]
        .reset_index(drop=True)
    )


def _price_path(hist: pd.DataFrame) -> pd.DataFrame:
    """Per truck code ``t``: basis, first and last price, drops (count, total, largest).

    ``hist`` is sorted by truck and time; a repost at a lower price is a drop. ``gone`` rows
    only repeat the last price, so they are not part of the path.
    """
    priced = hist.loc[
        hist["price_usd"].notna().to_numpy()
        & hist["price_basis"].notna().to_numpy()
        & (hist["event"] != "gone").to_numpy()
    ]
    basis_text = priced["price_basis"].astype("object")
    rank = (~basis_text.isin(ASKING_BASES)).to_numpy().astype(int)
    order = np.lexsort((np.arange(len(priced)), rank, priced["t"].to_numpy()))
    first = pd.Series(basis_text.to_numpy()[order], index=priced["t"].to_numpy()[order])
    basis = first[~first.index.duplicated()]
    path = priced.loc[basis_text.to_numpy() == basis.reindex(priced["t"].to_numpy()).to_numpy()]
    t = path["t"].to_numpy()
    price = path["price_usd"].to_numpy(dtype="float64", na_value=np.nan)
    same = np.append([False], t[1:] == t[:-1])
    step = np.where(same, price - np.append([np.nan], price[:-1]), np.nan)
    drop = np.where(step < 0, -step, np.nan)
    g = pd.Series(price).groupby(t)
    drops = pd.Series(drop).groupby(t)
    out = pd.DataFrame(
        {
            "price_basis": basis,
            "first_price_usd": g.first(),
            "last_price_usd": g.last(),
            "n_drops": drops.count(),
            "largest_drop_usd": drops.max().fillna(0),
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


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="object") for c in SOLD_COLUMNS})
