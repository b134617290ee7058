"""The alert rules: pure functions over the DataFrames ``analysis.load`` reads.

Each returns candidate alerts (``ALERT_COLUMNS``, one per truck identity): underpriced 4WD
trucks, a watched search's price drops, new matches and trucks turning 25, and unhealthy
sources. ``evaluate_rules`` runs them all on the listings the night saw, most important first.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from analysis.ad_says import condition_words
from analysis.alerts.frames import (
    ALERT_COLUMNS,
    BEST_FIRST,
    best_per_identity,
    candidates,
    empty_alerts,
    for_sale,
    present,
)
from analysis.alerts.settings import KINDS
from analysis.deals import LANDED, buyable, spread_text, trust_problems
from analysis.eligibility import month_index, month_label
from analysis.frames import column, flag, identity_of, num, usd
from keitrucks.core import states, tables
from pipelines.landed import LANDED_BASES
from pipelines.schema import PRICE_LABELS

logger = logging.getLogger(__name__)

#: Sources the user enters by hand (``keitrucks track``): no crawl, no health verdict.
HAND_SOURCES = tables.sources_where("by_hand")

# -- rule: underpriced 4WD ----------------------------------------------------------------------


def underpriced_4wd(
    state: pd.DataFrame,
    scores: pd.DataFrame | None,
    *,
    settings: Mapping[str, Any],
    band_low: float,
) -> pd.DataFrame:
    """Active 4WD kei trucks a buyer can trust, priced well under like trucks.

    What an alert requires:

    - the truck is ``analysis.deals.buyable``: kind kei_truck (never parts, wanted ads, toys,
      vans, clones or other vehicles), not said not to run (``runs`` False), no title problem
      (salvage, branded, rebuilt, no_title, offroad_only), not sale pending; status active, 4WD;
    - a plausible price (``plausible_usd``) on a basis of ``underpriced_bases``: never a live
      bid or a sold price;
    - either, rated: at least ``min_comparables`` comparables (same platform, drive, basis,
      year +-2, and mileage band, body, cab and transmission where both state them) and at
      least ``underpriced_pct`` under their fair price;
    - or, unrated (too few comparables): a US asking price (``floor_bases``) under the band
      floor ``band_low``, a known model and year, and ``eligible_25y`` True;
    - a Japanese exporter's truck (FOB, C&F, CIF) is judged on its landed cost against US
      asking prices (``score_deals``' ``basis`` "landed"), and only when ``eligible_25y`` is
      True (never unknown or False); the band floor never applies to it.

    The reason names what a buyer checks (``buyer_flags``: runs, title, mileage, drive,
    model, code, year; "not stated" when the listing does not say) and the price with what it
    is, against the fair price, the comparables' count and middle half. ``scores`` is
    ``analysis.deals.score_deals``' result (None: every listing unrated).
    """
    price = num(column(state, "price_usd"))
    basis = column(state, "price_basis")
    keep = (
        for_sale(state)
        & buyable(state)
        & flag(column(state, "is_4wd").eq(True))
        & flag(price.between(*settings["plausible_usd"]))
        & flag(basis.isin(settings["underpriced_bases"]))
        & (~flag(basis.isin(LANDED_BASES)) | flag(column(state, "eligible_25y").eq(True)))
    )
    rows = state.loc[keep]
    score_cols = ["fair_price_usd", "discount_pct", "n_comparables", "rated"]
    if scores is not None and not scores.empty:
        extra = [
            c
            for c in (
                "comparables_median_usd",
                "comparables_low_usd",
                "comparables_high_usd",
                "family",
                "value_usd",
                "basis",
            )
            if c in scores.columns
        ]
        rows = rows.merge(
            scores[["source", "listing_id", *score_cols, *extra]].drop_duplicates(
                ["source", "listing_id"]
            ),
            on=["source", "listing_id"],
            how="left",
            suffixes=("", "_deal"),
        )
    else:
        rows = rows.assign(fair_price_usd=pd.NA, discount_pct=pd.NA, n_comparables=0, rated=False)
    n = num(rows["n_comparables"]).fillna(0)
    discount = num(rows["discount_pct"])
    rated = flag(rows["rated"].astype("boolean")) & (n >= settings["min_comparables"])
    under_fair = rated & flag(discount >= settings["underpriced_pct"])
    price = num(rows["price_usd"])
    under_floor = (
        ~rated
        & flag(price < band_low)
        & flag(rows["price_basis"].isin(settings["floor_bases"]))
        & flag(column(rows, "model").notna())
        & flag(num(column(rows, "year")).notna())
        & flag(column(rows, "eligible_25y").eq(True))
    )
    hits = rows.loc[under_fair | under_floor]
    reasons, ranks = [], []
    for row, by_comparables in zip(hits.to_dict("records"), under_fair[hits.index], strict=True):
        if by_comparables:
            reasons.append(_underpriced_reason(row))
            ranks.append(float(row["discount_pct"]))
        else:
            have = 0 if pd.isna(row["n_comparables"]) else int(row["n_comparables"])
            reasons.append(
                f"{buyer_flags(row)}, {_price_words(row)} is under the {usd(band_low)} band "
                f"floor (only {have} comparable{'' if have == 1 else 's'})"
            )
            ranks.append(100 * (band_low - float(row["price_usd"])) / band_low)
    return candidates(hits, "underpriced_4wd", reasons, ranks)


def buyer_flags(row: Mapping[str, Any]) -> str:
    """What a buyer checks first, e.g. "runs: yes, title: clean, 41k mi, 4WD, Honda Acty HA4
    1996"; an unknown flag says "not stated" so the buyer knows to ask."""
    drive = row.get("is_4wd")
    parts = [
        *condition_words(row),
        ("4WD" if drive else "2WD") if present(drive) else "drive: not stated",
    ]
    what = " ".join(
        str(int(row[k])) if k == "year" else str(row[k])
        for k in ("model", "model_code", "year")
        if present(row.get(k))
    )
    return ", ".join([*parts, what or "model: not stated"])


def _price_words(row: Mapping[str, Any]) -> str:
    """The price with what it is: "US asking $4,100", or for an exporter's truck "landed in
    the US ≈ $6,488 (Japan FOB $2,600)"."""
    quoted = f"{PRICE_LABELS.get(row['price_basis'], row['price_basis'])} {usd(row['price_usd'])}"
    landed = isinstance(row.get("basis"), str) and row["basis"] == LANDED
    if landed and present(row.get("value_usd")):
        return f"{PRICE_LABELS[LANDED]} ≈ {usd(row['value_usd'])} ({quoted})"
    return quoted


def _underpriced_reason(row: Mapping[str, Any]) -> str:
    """E.g. "runs: yes, title: clean, 41k mi, 4WD, Honda Acty HA4 1996, US asking $4,100 vs
    fair $6,800 (9 comparables, middle half $5,900-7,400): 40% under"; for an exporter's
    truck the price reads "landed in the US ≈ $6,488 (Japan FOB $2,600) vs fair US asking
    $8,300 (...)"."""
    landed = isinstance(row.get("basis"), str) and row["basis"] == LANDED
    landed = landed and present(row.get("value_usd"))
    n = int(row["n_comparables"])
    spread = spread_text(dict(row))
    return (
        f"{buyer_flags(row)}, {_price_words(row)} vs fair "
        + (f"{PRICE_LABELS['asking']} " if landed else "")
        + f"{usd(row['fair_price_usd'])} ({n} comparable{'' if n == 1 else 's'}"
        + (f", middle half {spread}" if spread != "unknown" else "")
        + f"): {float(row['discount_pct']):.0f}% under"
    )


# -- watched searches ---------------------------------------------------------------------------


def _listing_states(state: pd.DataFrame) -> pd.Series:
    """Each listing's two-letter state: the normalized ``state``, else read off its location
    the same way the normalizer reads it (a database normalized before states were read)."""
    stored = column(state, "state").astype("object")
    return stored.where(stored.notna(), column(state, "location_raw").map(_state_of))


def _state_of(location: Any) -> str | None:
    return states.state_of(location) if isinstance(location, str) else None


def distance_mi(lat, lon, center: tuple[float, float]) -> np.ndarray:
    """Great-circle miles from ``center`` to each (lat, lon); NaN where unknown."""
    lat = np.radians(np.asarray(lat, dtype="float64"))
    lon = np.radians(np.asarray(lon, dtype="float64"))
    clat, clon = math.radians(center[0]), math.radians(center[1])
    a = np.sin((lat - clat) / 2) ** 2 + np.cos(lat) * math.cos(clat) * np.sin((lon - clon) / 2) ** 2
    return 3958.8 * 2 * np.arcsin(np.sqrt(a))


def us_price(state: pd.DataFrame) -> pd.Series:
    """What a US buyer pays for each listing: its price, or for an exporter's truck (FOB, C&F,
    CIF) its landed cost (<NA> when not estimated): a Japan-side price leaves out freight, duty
    and fees, often half the cost."""
    exporter = flag(column(state, "price_basis").isin(LANDED_BASES))
    return num(column(state, "price_usd")).where(~exporter, num(column(state, "landed_usd")))


def importable(state: pd.DataFrame) -> pd.Series:
    """False for an exporter's truck not known to be 25 years old (``eligible_25y``): a US
    buyer cannot bring it in, whatever its price."""
    exporter = flag(column(state, "price_basis").isin(LANDED_BASES))
    return ~exporter | flag(column(state, "eligible_25y").eq(True))


def match_search(state: pd.DataFrame, search: Mapping[str, Any]) -> pd.Series:
    """Which listings a watched search matches (unknown values never match a set criterion).
    ``max_price`` is what a US buyer pays (``us_price``: an exporter's landed cost)."""
    keep = for_sale(state)
    if search["model"]:
        model = column(state, "model").astype("object").fillna("").astype(str).str.lower()
        keep &= model.apply(lambda m: any(term in m for term in search["model"]))
    if search["model_code"]:
        keep &= flag(
            column(state, "model_code").astype("object").str.upper().isin(search["model_code"])
        )
    if search["is_4wd"] is not None:
        keep &= flag(column(state, "is_4wd").eq(search["is_4wd"]))
    bounds = (
        ("min_year", num(column(state, "year")), "ge"),
        ("max_year", num(column(state, "year")), "le"),
        ("max_price", us_price(state), "le"),
        ("max_miles", num(column(state, "mileage_mi")), "le"),
    )
    for key, values, op in bounds:
        if search[key] is not None:
            keep &= flag(getattr(values, op)(search[key]))
    if search["sources"]:
        keep &= flag(column(state, "source").isin(search["sources"]))
    if search["states"]:
        keep &= _listing_states(state).isin(search["states"])
    if not search.get("road_ok", True):  # the buyer's state's rule is not one they accept
        keep &= False
    if search["areas"]:
        text = (
            column(state, "url").astype("object").fillna("").astype(str)
            + " "
            + column(state, "location_raw").astype("object").fillna("").astype(str)
        ).str.lower()
        keep &= text.apply(lambda t: any(area in t for area in search["areas"]))
    if search["max_distance_mi"] is not None:
        miles = distance_mi(
            num(column(state, "latitude")).to_numpy(dtype="float64", na_value=np.nan),
            num(column(state, "longitude")).to_numpy(dtype="float64", na_value=np.nan),
            search["center"],
        )
        keep &= pd.Series(
            np.nan_to_num(miles, nan=np.inf) <= search["max_distance_mi"], index=state.index
        )
    if search["since"] is not None:
        first = pd.to_datetime(column(state, "first_seen_at"), utc=True)
        keep &= flag(first >= pd.Timestamp(search["since"], tz="UTC"))
    return keep.astype(bool)


def searches_for(settings: Mapping[str, Any], rule: str) -> list[dict[str, Any]]:
    return [s for s in settings["watch"] if rule in s["rules"]]


def _merge_search_names(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One alert per (kind, identity) across searches; "{searches}" in its reason becomes the
    searches it matched ("search 'A'" or "searches 'A', 'B'")."""
    frames = [f for f in frames if not f.empty]
    if not frames:
        return empty_alerts()
    alerts = pd.concat(frames, ignore_index=True)
    names = alerts.groupby(["kind", "identity"])["_search"].agg(lambda s: list(dict.fromkeys(s)))
    alerts = best_per_identity(alerts)
    reasons = []
    for kind, identity, reason in zip(
        alerts["kind"], alerts["identity"], alerts["reason"], strict=True
    ):
        found = names[(kind, identity)]
        quoted = ", ".join(f"'{n}'" for n in found)
        reasons.append(
            reason.replace("{searches}", ("searches " if len(found) > 1 else "search ") + quoted)
        )
    return alerts.assign(reason=reasons).drop(columns="_search").reset_index(drop=True)


def new_matches(state: pd.DataFrame, *, settings: Mapping[str, Any]) -> pd.DataFrame:
    """Every listing a watched search matches, once per truck (the history says which are new).

    Requires: an active kei truck (``for_sale``) seen on the night that matches every set
    criterion of a search with the ``new_match`` rule; an unknown value never matches a set
    criterion; an exporter's truck only when importable (``importable``). Project trucks (not
    running, title problem) and pending sales still match: a watched search is the buyer's own
    filter, not a deal verdict."""
    frames = []
    for search in searches_for(settings, "new_match"):
        rows = state.loc[match_search(state, search) & importable(state)]
        reasons = _with_notes(rows, ["matches your {searches}"] * len(rows))
        found = candidates(rows, "new_match", reasons, [0] * len(rows))
        frames.append(found.assign(_search=search["name"]))
    return _merge_search_names(frames)


def price_drops(
    state: pd.DataFrame, history: pd.DataFrame, *, settings: Mapping[str, Any]
) -> pd.DataFrame:
    """Watched listings now at least ``drop_pct``% or ``drop_usd`` under their truck's highest
    earlier asking price on the same basis (over every repost of the truck).

    Requires: a match of a search with the ``price_drop`` rule (as ``new_matches``, so an
    exporter's truck only when importable), a price, and an earlier active price of the same
    truck on the same price basis (a FOB price is never compared with an asking price); the
    message names the basis (``price_label``)."""
    searches = searches_for(settings, "price_drop")
    if not searches or history.empty:
        return empty_alerts()
    identity = pd.DataFrame(
        {
            "source": state["source"].astype(str),
            "listing_id": state["listing_id"].astype(str),
            "identity": identity_of(state),
        }
    )
    past = history.assign(
        source=history["source"].astype(str), listing_id=history["listing_id"].astype(str)
    ).merge(identity, on=["source", "listing_id"], how="inner")
    past = past.loc[flag(past["status"].eq("active")) & num(past["price_usd"]).notna()]
    peaks = (
        past.assign(price_usd=num(past["price_usd"]))
        .groupby(["identity", "price_basis"], dropna=False)["price_usd"]
        .max()
        .rename("peak_usd")
        .reset_index()
    )
    frames = []
    for search in searches:
        rows = state.loc[
            match_search(state, search)
            & importable(state)
            & num(column(state, "price_usd")).notna()
        ]
        rows = rows.assign(identity=identity_of(rows)).merge(
            peaks, on=["identity", "price_basis"], how="inner"
        )
        price, peak = num(rows["price_usd"]), num(rows["peak_usd"])
        drop = peak - price
        hit = flag(drop > 0) & (
            flag(drop >= search["drop_usd"]) | flag(100 * drop / peak >= search["drop_pct"])
        )
        rows, drop, peak = rows.loc[hit], drop[hit], peak[hit]
        reasons = [
            f"down {usd(d)} ({100 * d / p:.0f}%) from {usd(p)} to {usd(p - d)}, "
            "watched {searches}"
            for d, p in zip(drop, peak, strict=True)
        ]
        reasons = _with_notes(rows, reasons)
        found = candidates(rows, "price_drop", reasons, list(100 * drop / peak))
        frames.append(found.assign(_search=search["name"]))
    return _merge_search_names(frames)


def newly_eligible(
    state: pd.DataFrame, *, settings: Mapping[str, Any], as_of: dt.date
) -> pd.DataFrame:
    """Watched listings that became importable under the US 25-year rule this month or last
    while listed. Within its ``eligible_from`` month (YYYY-MM) a truck may not be 25 yet (the
    day is unknown), so it is importable from the first day of the next month, as the report's
    eligibility section counts it (``analysis.eligibility``): an alert saying "now eligible" on
    the 26th of the month a truck turns 25 could send a buyer to import it days early.

    Requires: a match of a search with the ``newly_eligible`` rule (as ``new_matches``), a
    known ``eligible_from`` whose next month is this month or the last, and a first sighting
    before that next month (the truck was listed while not yet importable)."""
    this = as_of.year * 12 + as_of.month - 1
    eligible_from = column(state, "eligible_from").astype("object")
    importable_from = eligible_from.map(
        lambda m: month_index(m) + 1 if isinstance(m, str) and _MONTH.match(m) else np.nan
    ).astype("float64")
    first = pd.to_datetime(column(state, "first_seen_at"), utc=True)
    first_index = (first.dt.year * 12 + first.dt.month - 1).astype("float64")
    crossed = importable_from.isin([this, this - 1]) & (importable_from > first_index)
    frames = []
    for search in searches_for(settings, "newly_eligible"):
        rows = state.loc[match_search(state, search) & flag(crossed)]
        basis = column(rows, "eligibility_basis").astype("object")
        reasons = [
            f"turned 25 in {ef}{_basis_words(b)}: eligible for US import since "
            f"{month_label(int(start))}-01; watched {{searches}}"
            for ef, b, start in zip(
                rows["eligible_from"], basis, importable_from[rows.index], strict=True
            )
        ]
        found = candidates(rows, "newly_eligible", _with_notes(rows, reasons), [0] * len(rows))
        frames.append(found.assign(_search=search["name"]))
    return _merge_search_names(frames)


_MONTH = re.compile(r"^\d{4}-\d{2}")


def _with_notes(rows: pd.DataFrame, reasons: list[str]) -> list[str]:
    """A watched search's reasons with what the ad says is wrong first ("does not run; salvage
    title (as the ad says): matches your search 'w'": a watched search matches project trucks
    too, and a buyer must not drive out for one unwarned), and an exporter's landed cost last."""
    problems = trust_problems(rows)
    exporter = flag(column(rows, "price_basis").isin(LANDED_BASES))
    landed = num(column(rows, "landed_usd")).where(exporter)
    return [
        (f"{problem} (as the ad says): " if problem else "")
        + reason
        + ("" if pd.isna(cost) else f"; {PRICE_LABELS[LANDED]} ≈ {usd(cost)}")
        for problem, reason, cost in zip(problems, reasons, landed, strict=True)
    ]


def _basis_words(basis: Any) -> str:
    return f" (by {basis.replace('_', ' ')})" if isinstance(basis, str) and basis else ""


# -- rule: source unhealthy ---------------------------------------------------------------------


def _run_day(runs: pd.DataFrame) -> pd.Series:
    stamp = column(runs, "as_of").astype("object").where(column(runs, "as_of").notna(), None)
    started = pd.to_datetime(column(runs, "started_at"), utc=True)
    parsed = pd.to_datetime(stamp, utc=True, format="ISO8601", errors="coerce")
    return parsed.where(parsed.notna(), started).dt.date


def night_runs(runs: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """The latest finished run of each source on the night ``as_of`` or the night before."""
    if runs.empty:
        return runs
    day = _run_day(runs)
    recent = runs.loc[
        (day <= as_of)
        & (day >= as_of - dt.timedelta(days=1))
        & ~flag(column(runs, "status").eq("running"))
    ]
    return recent.sort_values("id").drop_duplicates("source", keep="last").sort_values("source")


def last_crawl_day(runs: pd.DataFrame, as_of: dt.date) -> dt.date | None:
    """The night of the latest finished crawl on or before ``as_of`` (listings typed in by hand
    are no crawl); None when there is none."""
    if runs.empty:
        return None
    day = _run_day(runs)
    done = (
        (day <= as_of)
        & ~flag(column(runs, "status").eq("running"))
        & ~flag(column(runs, "source").isin(HAND_SOURCES))
    )
    return day[done].max() if done.any() else None


def unhealthy_sources(runs: pd.DataFrame, health: pd.DataFrame, *, as_of: dt.date) -> pd.DataFrame:
    """An alert for each source whose latest run of the night (``night_runs``) the health check
    recorded as not ok (``health``: ``analysis.load.read_source_health`` rows).

    The verdict is the health check's, never judged again here: a run without a recorded
    verdict is logged as a warning and raises nothing.
    """
    latest = night_runs(runs, as_of)
    if not latest.empty:
        latest = latest.loc[~latest["source"].isin(HAND_SOURCES)]
    if latest.empty:
        return empty_alerts()
    verdicts = {int(row["run_id"]): row for row in health.to_dict("records")}
    records = []
    for run in latest.to_dict("records"):
        verdict = verdicts.get(int(run["id"]))
        if verdict is None:
            logger.warning(
                "%s: no recorded health verdict for run %s of %s: no source alert raised",
                run["source"],
                int(run["id"]),
                as_of,
            )
            continue
        if verdict["status"] == "ok":
            continue
        records.append(
            {
                "kind": "source_unhealthy",
                "identity": f"{run['source']}/run/{int(run['id'])}",
                "source": run["source"],
                "listing_id": None,
                "price_usd": pd.NA,
                "reason": f"{run['source']}: {verdict_text(verdict, run.get('gone_marked'))}",
                "rank": 0.0,
            }
        )
    if not records:
        return empty_alerts()
    out = pd.DataFrame(records).reindex(columns=list(ALERT_COLUMNS))
    return out.astype({"price_usd": "Int64"})


def verdict_text(verdict: Mapping[str, Any], gone_marked: Any = None) -> str:
    """One line from a recorded verdict: its reasons, how long the source has been failing,
    and "nothing marked gone" when the run marked nothing gone."""
    reasons = _reasons(verdict.get("reasons"))
    text = "; ".join(reasons) or str(verdict.get("status") or "unhealthy")
    nights = verdict.get("failed_nights")
    nights = int(nights) if present(nights) else 0
    if verdict.get("state") == "dead":
        text += f"; looks dead: {nights} nights without a healthy run"
    elif nights > 1:
        text += f"; {nights} nights in a row without a healthy run"
    if not present(gone_marked) or int(gone_marked) == 0:
        text += "; nothing marked gone"
    return text


def _reasons(value: Any) -> list[str]:
    """The JSON list of one-line reasons of a verdict ([] when absent or unreadable)."""
    try:
        data = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return []
    return [str(r) for r in data if r] if isinstance(data, list) else []


# -- the night's rules --------------------------------------------------------------------------


def seen_last_night(state: pd.DataFrame, runs: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """The listings of ``state`` that their source's latest crawl up to ``day`` saw.

    A listing counts when the UTC date of its ``last_seen_at`` is the night of its source's
    latest finished run on or before ``day`` (without runs: the source's latest ``last_seen_at``
    date). A listing a failed run did not see stays "active" (nothing goes gone after a failed
    run) but is left out here, so no rule announces it.
    """
    if "last_seen_at" not in state.columns or state.empty:
        return state
    seen = pd.to_datetime(state["last_seen_at"], utc=True, errors="coerce").dt.date
    source = column(state, "source").astype("object")
    night = seen.where(seen <= day).groupby(source).max()
    if not runs.empty:
        finished = runs.assign(_day=_run_day(runs)).loc[
            lambda r: (r["_day"] <= day) & ~flag(column(r, "status").eq("running"))
        ]
        night = pd.Series(night.to_dict() | finished.groupby("source")["_day"].max().to_dict())
    return state.loc[flag(seen == source.map(night))]


def evaluate_rules(
    state: pd.DataFrame,
    scores: pd.DataFrame | None,
    history: pd.DataFrame,
    runs: pd.DataFrame,
    health: pd.DataFrame,
    *,
    as_of: dt.date,
    settings: Mapping[str, Any],
    band_low: float,
) -> pd.DataFrame:
    """Every rule's candidates, most important first (``KINDS`` order, then rank).

    The listing rules see only the listings the night saw (``seen_last_night``): after a failed
    run a truck that left the site stays "active" but must not be announced. ``scores`` (the
    comparables) come from the whole state; ``health`` is the health check's recorded verdicts
    on the night's runs (``analysis.load.read_source_health``).
    """
    fresh = seen_last_night(state, runs, as_of)
    frames = [
        unhealthy_sources(runs, health, as_of=as_of),
        underpriced_4wd(fresh, scores, settings=settings, band_low=band_low),
        price_drops(fresh, history, settings=settings),
        newly_eligible(fresh, settings=settings, as_of=as_of),
        new_matches(fresh, settings=settings),
    ]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return empty_alerts()
    out = pd.concat(frames, ignore_index=True)
    order = out["kind"].map({k: i for i, k in enumerate(KINDS)})
    by, ascending = BEST_FIRST
    return (
        out.assign(_order=order)
        .sort_values(
            ["_order", *by], ascending=[True, *ascending], na_position="last", kind="stable"
        )
        .drop(columns="_order")
        .reset_index(drop=True)
    )
