"""Deal scores: a fair price for every active kei truck from its comparables, and its discount.

Everything is compared on the US axis. A US listing's value is its price in USD and its
comparables share its price basis (asking with asking, sold with sold, bid_to with bid_to). A
Japanese exporter's listing (basis FOB, C&F or CIF) is valued at its estimated landed cost in
the US (``landed_usd``, see ``pipelines/landed.py``) and compared with US *asking* prices: "what
this truck would cost me landed, against what the same truck asks in the US". Landed and
Japan-side figures are never anyone's comparables. Comparables also share the platform family,
the drive (4WD or 2WD), a model year within ``year_window``, and were seen within
``recent_days`` of the as-of date (active listings, and listings gone recently at their last
price). Where both sides state them, they also share the mileage band (``mileage_bands_mi``),
the body (dump, crawler, fire truck, scissor lift ...), the cab (jumbo) and the transmission;
an unstated value on either side does not exclude. Each physical truck counts once
(``truck_id``), and the listing's own truck is never its own comparable. The closest
``max_comparables`` (by year distance, then recency) are kept; the fair price is their
recency-weighted median (weight halves every ``half_life_days``), their spread the middle half
of their prices (``comparables_low_usd`` - ``comparables_high_usd``). Fewer than
``min_comparables`` (default 3) and the listing is unrated.

Only trucks a buyer can trust are scored or compared (``buyable``): a kei truck for sale (kind
kei_truck) that is not said not to run, has no title problem (``TITLE_PROBLEMS``) and is not
sale pending. Running-condition or title-problem trucks are "project trucks"
(``project_trucks``), shown apart. Pure pandas; the alerts rule "underpriced 4WD" reads these
columns.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.frames import column, flag, identity_of, listing_key, num, string_ranks, usd
from analysis.identity import add_family
from analysis.load import as_of_end
from pipelines.deal_store import SCORE_COLUMNS
from pipelines.landed import LANDED_BASES
from pipelines.schema import PRICE_LABELS

DEFAULTS: dict[str, Any] = {
    "year_window": 2,
    "recent_days": 90,
    "half_life_days": 30,
    "max_comparables": 20,
    "min_comparables": 3,
    #: comparables outside this range (USD) are ignored as implausible.
    "plausible_usd": (500, 60000),
    #: bases that are prices a buyer can pay; a live auction's current bid is not rated.
    "rated_bases": ("asking", "fob", "cnf", "cif"),
    #: upper edges of the mileage bands comparables share (miles): 0-30k, 30-60k, 60-100k, more.
    "mileage_bands_mi": (30000, 60000, 100000),
}

#: Title statuses a buyer cannot simply register: never a deal, never a comparable.
TITLE_PROBLEMS = {
    "salvage": "salvage title",
    "rebuilt": "rebuilt title",
    "branded": "branded title (brand not named)",
    "no_title": "no title",
    "offroad_only": "off-road only title",
}
#: Attributes comparables share when both sides state them (unstated matches anything).
MATCHED_WHEN_KNOWN = ("mileage_band", "body", "cab", "transmission")

#: The ``basis`` of an exporter's listing: valued at its landed cost, compared with US asking.
LANDED = "landed"
#: The price basis a landed cost is compared with.
LANDED_COMPARED_WITH = "asking"
#: How an exporter's price basis is written in messages.
BASIS_LABELS = {"fob": "FOB", "cnf": "C&F", "cif": "CIF"}

#: The columns of ``score_deals``' result, in order (stable: the alerts and deals.csv use them).
DEAL_COLUMNS = (
    "source",
    "listing_id",
    "identity",
    "truck_id",
    "url",
    "title",
    "make",
    "model",
    "family",
    "model_code",
    "year",
    "is_4wd",
    "mileage_mi",
    "location_raw",
    "price_usd",
    "price_basis",
    "basis",
    "fair_price_usd",
    "discount_pct",
    "n_comparables",
    "comparables",
    "comparables_median_usd",
    "comparables_low_usd",
    "comparables_high_usd",
    "rated",
    "why",
    "value_usd",
    "price_label",
    "body",
    "cab",
    "transmission",
    "runs",
    "title_status",
    "road_claims",
)


def deal_settings(config: dict | None) -> dict[str, Any]:
    """DEFAULTS overridden by ``config["deals"]``; ``min_comparables`` also from ``[alerts]``."""
    config = config or {}
    out = dict(DEFAULTS)
    if "min_comparables" in config.get("alerts", {}):
        out["min_comparables"] = config["alerts"]["min_comparables"]
    out.update(config.get("deals", {}))
    return out


def trust_problems(listings: pd.DataFrame) -> pd.Series:
    """Why a buyer cannot take each listing at its price: "" when nothing is wrong, else e.g.
    "does not run; salvage title", "sale pending", "parts" (its kind when not a kei truck)."""
    kind, runs, title = (column(listings, c) for c in ("kind", "runs", "title_status"))
    pending = flag(column(listings, "sale_pending").eq(True)).to_numpy()
    said_not_run = runs.isin([v for v in runs.unique() if _is_false(v)])
    some = (
        ~flag(kind.eq("kei_truck")).to_numpy()
        | said_not_run.to_numpy()
        | title.isin(list(TITLE_PROBLEMS)).to_numpy()
        | pending
    )
    # most listings have no problem: words are written only for the rows that have one
    out = np.full(len(listings), "", dtype=object)
    rows = np.flatnonzero(some)  # only these rows' values become Python objects
    values = zip(
        kind.iloc[rows].to_numpy(dtype=object),
        runs.iloc[rows].to_numpy(dtype=object),
        title.iloc[rows].to_numpy(dtype=object),
        pending[rows],
        strict=True,
    )
    keys = ("kind", "runs", "title_status", "pending")
    out[some] = [_problems(dict(zip(keys, row, strict=True))) for row in values]
    return pd.Series(out, index=listings.index, dtype="object")


def _problems(row: dict[str, Any]) -> str:
    kind = row["kind"] if isinstance(row["kind"], str) else "kind unknown"
    found = [
        kind.replace("_", " ") if kind != "kei_truck" else "",
        "does not run" if _is_false(row["runs"]) else "",
        TITLE_PROBLEMS.get(row["title_status"], "") if isinstance(row["title_status"], str) else "",
        "sale pending" if row["pending"] else "",
    ]
    return "; ".join(f for f in found if f)


def buyable(listings: pd.DataFrame) -> pd.Series:
    """True for a kei truck a buyer can take at its price: kind kei_truck, not said not to run
    (``runs`` False), no title problem (``TITLE_PROBLEMS``), not sale pending. Only these are
    scored as deals or used as comparables."""
    if listings.empty:
        return pd.Series(False, index=listings.index, dtype=bool)
    return trust_problems(listings).eq("")


def project_trucks(listings: pd.DataFrame) -> tuple[pd.DataFrame, int | None]:
    """Active kei trucks that do not run or have a title problem (not sale pending): the rows
    with ``problem`` (e.g. "does not run; salvage title"), cheapest first, and the median of
    their US asking prices (None without one). Never scored as deals."""
    if listings.empty:
        return listings.assign(problem=pd.Series([], dtype="object")), None
    problem = trust_problems(listings)
    keep = (
        flag(column(listings, "status").eq("active"))
        & flag(column(listings, "kind").eq("kei_truck"))
        & ~flag(column(listings, "sale_pending").eq(True))
        & problem.ne("")
    )
    rows = listings.loc[keep].assign(problem=problem[keep])
    rows = rows.sort_values("price_usd", na_position="last", kind="stable")
    asking = num(column(rows, "price_usd")).where(flag(column(rows, "price_basis").eq("asking")))
    median = asking.median()
    return rows.reset_index(drop=True), None if pd.isna(median) else int(round(float(median)))


def weighted_median(values, weights) -> float | None:
    """The weighted median (the midpoint when the cumulative weight splits exactly in half);
    None without values or weight."""
    v = np.asarray(values, dtype="float64")
    w = np.asarray(weights, dtype="float64")
    fair = _weighted_medians(v[None, :], w[None, :], np.array([v.size]))[0][0]
    return None if np.isnan(fair) else float(fair)


def _weighted_medians(values, weights, n) -> tuple[np.ndarray, np.ndarray]:
    """``weighted_median`` of each row's first ``n`` values and weights (NaN when there are
    none or they weigh nothing), and each row's values sorted (padded with +inf after ``n``).
    All rows at once: one sort and one cumulative sum instead of a call per scored truck."""
    width = values.shape[1]
    real = np.arange(width) < n[:, None]
    values = np.where(real, values, np.inf)
    order = np.argsort(values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    if width == 0:
        return np.full(len(n), np.nan), ordered
    cum = np.cumsum(np.take_along_axis(np.where(real, weights, 0.0), order, axis=1), axis=1)
    rows = np.arange(len(n))
    total = cum[rows, np.maximum(n - 1, 0)]
    half = total / 2
    i = np.minimum((cum < half[:, None]).sum(axis=1), width - 1)  # searchsorted, per row
    at = cum[rows, i]
    # math.isclose(at, half, rel_tol=1e-12): the cumulative weight splits exactly in half
    split = np.abs(at - half) <= 1e-12 * np.maximum(np.abs(at), np.abs(half))
    split &= i + 1 < n
    after = ordered[rows, np.minimum(i + 1, width - 1)]
    middle = np.where(split, (ordered[rows, i] + after) / 2, ordered[rows, i])
    return np.where((n > 0) & (total > 0), middle, np.nan), ordered


def _quartiles(ordered: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The 25th, 50th and 75th percentiles (linear, as ``np.percentile``) of each row's first
    ``n`` (at least 1) sorted values: one row of three per row."""
    at = np.array([0.25, 0.5, 0.75]) * (n[:, None] - 1)
    low = np.floor(at).astype(int)
    high = np.minimum(low + 1, n[:, None] - 1)
    below = np.take_along_axis(ordered, low, axis=1)
    above = np.take_along_axis(ordered, high, axis=1)
    return below + (above - below) * (at - low)


def _prepare(listings: pd.DataFrame, end: pd.Timestamp, half_life: float, bands) -> pd.DataFrame:
    """``listings`` with what scoring reads: key, identity, truck_id (the identity where none),
    age_days and weight (recency), buyable, mileage_band, body/cab/transmission as objects, and
    the US axis (``_us_axis``)."""
    df = listings
    if "family" not in df.columns:
        df = add_family(df)
    key = listing_key(df)
    identity = identity_of(df, key=key)
    truck = column(df, "truck_id").astype("object").where(lambda s: s.notna(), identity)
    seen = pd.to_datetime(column(df, "last_seen_at"), utc=True)
    age = ((end - seen).dt.total_seconds() / 86400).clip(lower=0)
    return df.assign(
        key=key,
        identity=identity,
        truck_id=truck,
        age_days=age,
        weight=np.power(0.5, age.to_numpy(dtype="float64", na_value=np.nan) / half_life),
        buyable=buyable(df),
        mileage_band=mileage_band(column(df, "mileage_mi"), bands),
        **{c: column(df, c).astype("object") for c in ("body", "cab", "transmission")},
        **_us_axis(df),
    )


def mileage_band(miles: pd.Series, edges) -> pd.Series:
    """The band index of each mileage (0 under the first edge, ...), <NA> when unknown."""
    values = num(miles)
    band = np.searchsorted(np.asarray(edges, dtype="float64"), values.fillna(0), side="right")
    return pd.Series(band, index=miles.index, dtype="Int64").where(values.notna(), pd.NA)


def _us_axis(df: pd.DataFrame) -> dict[str, pd.Series]:
    """value_usd (the figure compared), basis (its basis) and compare_with (the comparables'
    basis): an exporter's landed cost against US asking prices, any other price against its own
    basis."""
    price_basis = column(df, "price_basis").astype("object")
    landed = price_basis.isin(LANDED_BASES).fillna(False).astype(bool)
    price = num(df["price_usd"])
    landed_usd = num(column(df, "landed_usd"))
    return {
        "value_usd": price.where(~landed, landed_usd).round().astype("Int64"),
        "basis": price_basis.where(~landed, LANDED),
        "compare_with": price_basis.where(~landed, LANDED_COMPARED_WITH),
    }


def _codes(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """What comparables are chosen by, for every row of ``_prepare``'s frame, as NumPy arrays.
    Values compared for equality become integer codes (equal codes: equal values, -1: unknown)
    so choosing is integer arithmetic, not comparisons of Python objects:

    - group: the comparables group of a row as a comparable (family, is_4wd, price_basis);
      want: the group a row looks for comparables in (family, is_4wd, compare_with);
    - truck, year (``known_year``), each ``MATCHED_WHEN_KNOWN`` attribute (``attrs``, one row
      each), key_rank (the position of the key in sorted order), gone (not active), age,
      weight, price, key."""
    bases = _factorized_together(df["price_basis"], df["compare_with"])
    family = pd.factorize(df["family"])[0].astype(np.int64)
    drive = pd.factorize(df["is_4wd"])[0].astype(np.int64)
    known = (family >= 0) & (drive >= 0)
    width = max(int(codes.max(initial=0)) for codes in bases) + 1
    base = (family * (int(drive.max(initial=0)) + 1) + drive) * width

    def group(basis: np.ndarray) -> np.ndarray:
        return np.where(known & (basis >= 0), base + basis, -1)

    year = df["year"].to_numpy(dtype="float64", na_value=np.nan)
    key = df["key"].to_numpy(dtype=object)
    return {
        "group": group(bases[0]),
        "want": group(bases[1]),
        "truck": pd.factorize(df["truck_id"])[0],
        "basis": bases[0],
        "known_year": ~np.isnan(year),
        "year": np.where(np.isnan(year), 0, year).astype(np.int64),
        "attrs": np.array([pd.factorize(df[name])[0] for name in MATCHED_WHEN_KNOWN]),
        "key_rank": string_ranks(key),
        "gone": (df["status"] != "active").to_numpy(dtype=bool),
        "age": df["age_days"].to_numpy(dtype="float64", na_value=np.nan),
        "weight": df["weight"].to_numpy(dtype="float64"),
        "price": pd.to_numeric(df["price_usd"], errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        ),
        "key": key,
    }


def _factorized_together(*columns: pd.Series) -> list[np.ndarray]:
    """The codes of ``columns`` numbered together, as ``pd.factorize`` of them one after the
    other (equal values: equal codes, -1: unknown), each factorized in its own dtype (an
    Arrow text column is not made Python objects first)."""
    numbers: dict[Any, int] = {}
    out = []
    for values in columns:
        codes, uniques = pd.factorize(values)
        renumber = [numbers.setdefault(u, len(numbers)) for u in uniques]
        out.append(np.array([*renumber, -1], dtype=np.int64)[codes])
    return out


def _pool(df: pd.DataFrame, codes: dict[str, np.ndarray], settings: dict[str, Any]) -> np.ndarray:
    """The comparables, as positions in ``df``: priced, recent, ``buyable`` kei trucks with
    known family, drive, year and basis, on a US basis (an exporter's Japan-side or landed
    figure is never a comparable). One row per physical truck and basis (the most recently
    seen, active before gone, then by key), ordered by group, then recency, then key."""
    low, high = settings["plausible_usd"]
    price = pd.to_numeric(df["price_usd"], errors="coerce")
    keep = (
        df["buyable"]
        & price.between(low, high)
        & df["price_basis"].notna()
        & ~df["price_basis"].isin(LANDED_BASES)
        & df["is_4wd"].notna()
        & df["year"].notna()
        & df["family"].notna()
        & (df["age_days"] <= settings["recent_days"])
    )
    rows = np.flatnonzero(keep.fillna(False).to_numpy(dtype=bool))
    rank = codes["key_rank"][rows]
    rows = rows[np.lexsort((rank, codes["gone"][rows], codes["age"][rows]))]
    truck_basis = codes["truck"][rows] * (int(codes["basis"].max(initial=0)) + 1)
    first = np.unique(truck_basis + codes["basis"][rows], return_index=True)[1]
    rows = rows[np.sort(first)]
    return rows[np.lexsort((codes["key_rank"][rows], codes["age"][rows], codes["group"][rows]))]


def score_deals(
    listings: pd.DataFrame,
    *,
    as_of,
    config: dict | None = None,
    only: Collection[tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """One row per active kei truck listing of ``listings`` with its fair price and discount.

    ``listings`` is the state as of ``as_of`` (``analysis.load.read_listings_as_of``): columns
    source, listing_id, kind, status, price_usd, price_basis, is_4wd, year, model (or family),
    last_seen_at; optional landed_usd (exporters' landed cost; without it they are unrated),
    eligible_25y, identity, truck_id, model_code, url, title, make, mileage_mi, location_raw.
    Only ``buyable`` listings are scored; buyable gone or sold ones only serve as comparables.

    Result columns (``DEAL_COLUMNS``):

    - source, listing_id, identity (storage's, reposts shared), truck_id (cross-source),
      url, title, make, model, family (platform), model_code, year, is_4wd, mileage_mi,
      location_raw, price_usd, price_basis: the listing (price_usd is its own price, e.g. the
      FOB price of an exporter's listing);
    - basis: the basis of the figure compared: the listing's price_basis, or "landed" for an
      exporter's listing (fob/cnf/cif), whose comparables are US asking prices;
    - fair_price_usd: recency-weighted median of the comparables (Int64, whole dollars;
      <NA> when unrated);
    - discount_pct: 100 * (fair - value) / fair, one decimal; positive = under the fair
      price (<NA> when unrated);
    - n_comparables: how many comparables were used (at most ``max_comparables``);
    - comparables: list of "source:listing_id" of those comparables, closest first;
    - comparables_median_usd: their plain (unweighted) median, for messages;
    - comparables_low_usd, comparables_high_usd: the middle half of their prices (25th and
      75th percentiles), how tightly they agree;
    - rated: True when the listing has a value on a rated basis (not a live bid; an exporter
      with a landed cost) and at least ``min_comparables`` comparables;
    - why: one line, e.g. "18% under 7 comparable 4WD Honda Acty trucks (asking), fair $8,900,
      median $8,750", or for an exporter "landed ≈ $6,488 (FOB $2,600): 21% under 7
      comparable 4WD Daihatsu Hijet trucks asking in the US, fair $8,200, median $8,200";
    - value_usd: the figure compared with the fair price: price_usd, or landed_usd for an
      exporter's listing (<NA> when unknown);
    - price_label: what value_usd is for a buyer ("US asking", "landed in the US", ...);
    - body, cab, transmission, runs, title_status: the listing's, as stated (<NA> unstated).

    Sorted by discount (best deals first), unrated last. ``only`` ((source, listing_id) pairs)
    scores just those listings, against the same comparables (``keitrucks appraise``: one truck
    in a market of thousands).
    """
    settings = deal_settings(config)
    end = as_of_end(as_of)
    if listings.empty:
        return pd.DataFrame({c: pd.Series([], dtype="object") for c in DEAL_COLUMNS})
    df = _prepare(listings, end, settings["half_life_days"], settings["mileage_bands_mi"])
    codes = _codes(df)
    scored = df["buyable"] & flag(df["status"] == "active")
    if only is not None:
        wanted = {f"{source}:{listing_id}" for source, listing_id in only}
        scored &= df["key"].isin(wanted)
    subjects = np.flatnonzero(scored.to_numpy(dtype=bool))
    found = _find_comparables(codes, subjects, _pool(df, codes, settings), settings)
    kept = [c for c in (*DEAL_COLUMNS, "key", "eligible_25y") if c in df.columns]
    out = df.iloc[subjects].loc[:, kept].assign(**found)
    value = out["value_usd"].astype("Float64")
    fair = out["fair_price_usd"].astype("Float64")
    rated = (
        (out["n_comparables"] >= settings["min_comparables"])
        & value.notna()
        & out["price_basis"].isin(list(settings["rated_bases"]))
    )
    rated = rated.fillna(False).astype(bool)
    discount = (100 * (fair - value) / fair).round(1).where(rated, pd.NA)
    out = out.assign(
        rated=rated,
        fair_price_usd=out["fair_price_usd"].where(rated, pd.NA),
        discount_pct=discount.astype("Float64"),
        eligible_25y=column(out, "eligible_25y"),
        price_label=out["basis"].map(PRICE_LABELS).where(out["basis"].notna(), pd.NA),
    )
    out = out.assign(why=why_lines(out))
    for col in DEAL_COLUMNS:
        if col not in out.columns:
            out[col] = pd.NA
    # rated first, then by discount (unknown last), then by key: a lexsort on numbers
    discount = out["discount_pct"].to_numpy(dtype="float64", na_value=np.nan)
    order = np.lexsort(
        (codes["key_rank"][subjects], np.where(np.isnan(discount), np.inf, -discount), ~rated)
    )
    return out.iloc[order].loc[:, list(DEAL_COLUMNS)].reset_index(drop=True)


def _find_comparables(
    codes: dict[str, np.ndarray],
    subjects: np.ndarray,
    pool: np.ndarray,
    settings: dict[str, Any],
) -> dict[str, Any]:
    """The comparables of each subject (positions in ``_codes``' rows) among ``pool``
    (``_pool``): the columns fair_price_usd, n_comparables, comparables,
    comparables_median_usd, comparables_low_usd and comparables_high_usd, in subjects' order.

    Subjects sharing a group, year and stated attributes share their nearest comparables
    (``_nearest``); each then drops its own truck from them, so a result is computed once per
    (nearest list, position of the own truck in it)."""
    limit = settings["max_comparables"]
    asks = subjects[(codes["want"][subjects] >= 0) & codes["known_year"][subjects]]
    wants = np.column_stack(
        [codes["want"][asks], codes["year"][asks], codes["attrs"][:, asks].T]
    ).reshape(len(asks), 2 + len(MATCHED_WHEN_KNOWN))
    first, want_of = _distinct(wants)
    wants = wants[first]
    heads = _nearest(codes, pool, wants, settings)  # positions in pool, -1 after the last
    # where the subject's own truck is among the first ``limit`` (at most once: one row per
    # truck and basis), -1 when it is not
    head_trucks = np.append(codes["truck"][pool], -1)[heads]  # -1: after the last
    mine = head_trucks[want_of] == codes["truck"][asks][:, None]
    mine[:, limit] = False
    own = np.where(mine.any(axis=1), mine.argmax(axis=1), -1)
    pairs = np.column_stack([want_of, own]).reshape(len(asks), 2)
    first, pair_of = _distinct(pairs)
    per_pair = _fair_prices(codes, pool, heads, pairs[first], limit)
    at = np.full(len(codes["truck"]), -1)
    at[asks] = pair_of
    return _per_subject(per_pair, at[subjects])


def _distinct(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first position of each distinct row of the integer matrix ``rows`` and the number
    of each row's distinct value (``np.unique(axis=0)``, which sorts whole rows, costs more)."""
    code = np.zeros(len(rows), dtype=np.int64)
    for values in rows.T:
        values = pd.factorize(values)[0]
        code = pd.factorize(code * (int(values.max(initial=0)) + 1) + values)[0]
    return np.unique(code, return_index=True)[1], code


def _nearest(
    codes: dict[str, np.ndarray], pool: np.ndarray, wants: np.ndarray, settings: dict[str, Any]
) -> np.ndarray:
    """For each row (group, year, attribute codes) of ``wants``, the first ``max_comparables``
    + 1 comparables of ``pool``: same group, year within ``year_window``, each stated attribute
    equal or unstated, by year distance then the pool's order (recency, key). Positions in
    ``pool``, -1 after the last."""
    window, limit = settings["year_window"], settings["max_comparables"]
    groups, years, attrs = codes["group"][pool], codes["year"][pool], codes["attrs"][:, pool]
    starts = np.searchsorted(groups, wants[:, 0], side="left")
    ends = np.searchsorted(groups, wants[:, 0], side="right")
    heads = np.full((len(wants), limit + 1), -1, dtype=np.int64)
    for row, (want, start, end) in enumerate(zip(wants.tolist(), starts, ends, strict=True)):
        distance = np.abs(years[start:end] - want[1])
        like = distance <= window
        for name, value in enumerate(want[2:]):
            if value >= 0:
                stated = attrs[name, start:end]
                like &= (stated < 0) | (stated == value)
        near = np.flatnonzero(like)
        near = near[np.argsort(distance[near], kind="stable")][: limit + 1]
        heads[row, : near.size] = near + start
    return heads


def _fair_prices(
    codes: dict[str, np.ndarray],
    pool: np.ndarray,
    heads: np.ndarray,
    pairs: np.ndarray,
    limit: int,
) -> dict[str, Any]:
    """The comparables' figures of each (nearest list, own position) pair: its nearest list
    without the own truck (when there, -1 when not), at most ``limit``; then their weighted
    median, plain median and middle half, whole dollars, and their keys."""
    head = heads[pairs[:, 0]]
    own = pairs[:, 1]
    count = (head >= 0).sum(axis=1)
    n = np.minimum(limit, count - (own >= 0))
    j = np.arange(limit)
    skip = (own[:, None] >= 0) & (j >= own[:, None])  # the places after the own truck shift by one
    take = np.where(j < n[:, None], np.take_along_axis(head, j + skip, axis=1), -1)
    rows = np.append(pool, 0)[take]  # after the last (-1): any row, ignored
    fair, ordered = _weighted_medians(codes["price"][rows], codes["weight"][rows], n)
    quartiles = np.full((len(n), 3), np.nan)
    some = n > 0
    quartiles[some] = _quartiles(ordered[some], n[some])
    keys = codes["key"][rows]
    return {
        "fair_price_usd": np.rint(fair),
        "n_comparables": n,
        "comparables": [keys[p, : n[p]].tolist() for p in range(len(n))],
        "comparables_median_usd": np.rint(quartiles[:, 1]),
        "comparables_low_usd": np.rint(quartiles[:, 0]),
        "comparables_high_usd": np.rint(quartiles[:, 2]),
    }


def _per_subject(per_pair: dict[str, Any], pair_of: np.ndarray) -> dict[str, Any]:
    """The pairs' columns for each subject (its pair in ``pair_of``, -1: no comparables):
    Int64 figures (<NA> unknown), n_comparables 0 and no comparables where none."""
    has = pair_of >= 0
    at = np.where(has, pair_of, 0)
    out: dict[str, Any] = {}
    for name, values in per_pair.items():
        if name == "comparables":
            out[name] = [
                values[p] if h else [] for p, h in zip(at.tolist(), has.tolist(), strict=True)
            ]
            continue
        picked = values[at] if len(values) else np.zeros(len(at))
        if name == "n_comparables":
            out[name] = pd.array(np.where(has, picked, 0).astype(np.int64), dtype="Int64")
            continue
        missing = ~has | np.isnan(picked)
        out[name] = pd.arrays.IntegerArray(np.where(missing, 0, picked).astype(np.int64), missing)
    return out


def why_lines(out: pd.DataFrame) -> list[str]:
    """The why line of each scored row of ``out`` (``score_deals``' columns before sorting), e.g.
    "18% under 7 comparable 4WD Honda Acty trucks (US asking), fair $8,900, median $8,750,
    middle half $8,100-9,400": each line is pieces of text (``_WHY_PIECES``) and words, in the
    order of the first of ``_why_kinds`` that holds for the row."""
    if out.empty:
        return []
    # speed: each piece is worded once per distinct value and the lines joined by Arrow, a
    # column at a time (an f-string per row took 0.3 s for the 36k rows of a large market)
    pieces = {name: _worded(out, columns, word) for name, (columns, word) in _WHY_PIECES.items()}
    lines = np.empty(len(out), dtype=object)
    done = np.zeros(len(out), dtype=bool)
    for holds, parts in _why_kinds(out):
        mine = holds & ~done
        done |= mine
        if mine.any():
            lines[mine] = _joined([pieces.get(p, p) for p in parts], mine)
    return lines.tolist()


def _why_kinds(out: pd.DataFrame) -> list[tuple[np.ndarray, list[str]]]:
    """The kinds of why lines, first match wins: where each holds (per row of ``out``) and its
    parts (a name of ``_WHY_PIECES``, else the words themselves)."""
    known = {c: out[c].notna().to_numpy() for c in ("price_usd", "value_usd", "basis")}
    landed = flag(out["basis"].eq(LANDED)).to_numpy()
    bid = flag(out["basis"].eq("bid")).to_numpy()
    rated = out["rated"].to_numpy(dtype=bool)
    counted = ["n", " comparable ", "what"]
    figures = [", fair ", "fair", ", median ", "median", ", middle half ", "spread"]
    as_landed = ["landed in the US ≈ ", "value", " (", "quoted", " ", "price", ")"]
    in_the_us = [*counted, " asking in the US"]
    return [
        (~known["price_usd"], ["no price"]),
        (
            landed & ~known["value_usd"],
            ["unrated: no landed cost estimate for its ", "price_basis", " price"],
        ),
        (landed & ~rated, ["unrated: ", *in_the_us, "; ", *as_landed, "note"]),
        (landed, [*as_landed, ": ", "side", " ", *in_the_us, *figures, "note"]),
        (
            ~rated & bid,
            ["unrated: a live auction's current bid is not a price"],
        ),
        (~rated & known["basis"], ["unrated: ", *counted, " (", "basis", ")"]),
        (~rated, ["unrated: ", *counted]),
        (rated, ["side", " ", *counted, " (", "basis", ")", *figures]),
    ]


def _money(value: Any) -> str:
    return "" if value is None else usd(value)


def _what(row: dict[str, Any]) -> str:
    drive = {True: "4WD", False: "2WD"}.get(row["is_4wd"], "")
    return " ".join(x for x in (drive, row["family"], "trucks") if x)


def _note(row: dict[str, Any]) -> str:
    young = _is_false(row["eligible_25y"])
    return "; under 25 years old: not importable to the US yet" if young else ""


def _worded(out: pd.DataFrame, columns: tuple[str, ...], word) -> pa.Array:
    """``word`` of each row of ``out[columns]`` (a dict of plain values, None where unknown),
    called once per distinct combination of them."""
    codes = np.column_stack([pd.factorize(out[c])[0] for c in columns])
    first, combination = _distinct(codes)
    values = {c: out[c].iloc[first].to_numpy(dtype=object, na_value=None) for c in columns}
    texts = [word({c: values[c][k] for c in columns}) for k in range(len(first))]
    return pa.array(texts, type=pa.string()).take(combination)


def _joined(parts: list, rows: np.ndarray) -> np.ndarray:
    """The texts of ``parts`` (Arrow arrays over all rows, or words) joined, for ``rows``."""
    keep = pa.array(rows)
    parts = [p if isinstance(p, str) else p.filter(keep) for p in parts]
    if all(isinstance(p, str) for p in parts):
        return np.full(int(rows.sum()), "".join(parts), dtype=object)
    return pc.binary_join_element_wise(*parts, "").to_numpy(zero_copy_only=False)


def _label(basis: Any) -> str:
    return PRICE_LABELS.get(basis, str(basis))


def _side(row: dict[str, Any]) -> str:
    pct = float(row["discount_pct"])
    return f"{abs(pct):.0f}% under" if pct >= 0 else f"{abs(pct):.0f}% over"


def _fair_text(row: dict[str, Any]) -> str:
    return (
        f", fair {usd(row['fair_price_usd'])}, median {usd(row['comparables_median_usd'])}"
        f", middle half {spread_text(row)}"
    )


def spread_text(row: dict[str, Any]) -> str:
    """The middle half of the comparables' prices, e.g. "$5,900-7,400"."""
    low, high = row.get("comparables_low_usd"), row.get("comparables_high_usd")
    if _unknown(low) or _unknown(high):
        return "unknown"
    return f"{usd(low)}-{int(high):,}"


def _unknown(value: Any) -> bool:
    """``pd.isna`` of one value, without its cost for a plain int (never unknown)."""
    return value is None or (not isinstance(value, int) and pd.isna(value))


def _is_false(value: Any) -> bool:
    return value is not None and not pd.isna(value) and not bool(value)


#: The pieces of why lines: name -> (the columns it is worded from, its words for one row of
#: them: a dict of plain values, None where unknown).
_WHY_PIECES: dict[str, tuple[tuple[str, ...], Any]] = {
    "n": (("n_comparables",), lambda r: str(r["n_comparables"])),
    "what": (("is_4wd", "family"), _what),
    "basis": (("basis",), lambda r: _label(r["basis"])),
    "price_basis": (("price_basis",), lambda r: _label(r["price_basis"])),
    "quoted": (("price_basis",), lambda r: PRICE_LABELS.get(r["price_basis"], r["price_basis"])),
    "price": (("price_usd",), lambda r: _money(r["price_usd"])),
    "value": (("value_usd",), lambda r: _money(r["value_usd"])),
    "side": (("discount_pct",), lambda r: "" if r["discount_pct"] is None else _side(r)),
    "fair": (("fair_price_usd",), lambda r: _money(r["fair_price_usd"])),
    "median": (("comparables_median_usd",), lambda r: _money(r["comparables_median_usd"])),
    "spread": (("comparables_low_usd", "comparables_high_usd"), spread_text),
    "note": (("eligible_25y",), _note),
}


def score_rows(deals: pd.DataFrame) -> list[dict[str, Any]]:
    """``score_deals``' result as plain rows for the ``deal_scores`` table
    (``pipelines.deal_store``): Python ints, floats and strings, None for unknown, the
    comparables joined by spaces, ``rated`` 1 or 0."""
    wanted = [c for c in DEAL_COLUMNS if c in STORED_COLUMNS]
    frame = deals.loc[:, wanted].astype("object")
    frame = frame.where(frame.notna(), None)
    out = []
    for row in frame.to_dict("records"):
        row["comparables"] = " ".join(row["comparables"] or ())
        row["rated"] = int(bool(row["rated"]))
        out.append({k: _plain(v) for k, v in row.items()})
    return out


#: The ``score_deals`` columns the ``deal_scores`` table keeps (the listing's own fields are in
#: ``listings``; ``as_of`` is the night's).
STORED_COLUMNS = tuple(c for c in SCORE_COLUMNS if c != "as_of")


def _plain(value: Any) -> Any:
    """A NumPy scalar as its Python value (sqlite3 binds only Python types)."""
    return value.item() if isinstance(value, np.generic) else value
