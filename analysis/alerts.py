"""Alerts: underpriced 4WD trucks, watched searches, trucks turning 25 and unhealthy sources.

The rules are pure functions over the DataFrames ``analysis.load`` reads (the listings as of the
night, their history, the runs) and the deal scores of ``analysis.deals``. Each returns candidate
alerts (``ALERT_COLUMNS``, one per truck identity). ``select_alerts`` keeps those the alert
history has not announced yet (one alert per truck identity and rule; again only after a further
drop of ``refire_drop_usd``), within the daily cap; capped ones wait for the next night.

``run_alerts`` runs a night: it records the new alerts as ``pending`` (``pipelines.alert_store``)
before sending, sends one digest per channel (or one message per alert), records each outcome,
and retries what failed or was left pending on the next run. Channels are Apprise URLs from
``config["notify"]["urls"]`` and ``$KEITRUCKS_NOTIFY_URLS``; a URL is a secret, so only its scheme
and a short hash (the channel's name, e.g. ``json#1a2b3c4d``) are ever logged or stored. Every run
also echoes its alerts and writes the night's digest as Markdown (``alerts-YYYY-MM-DD.md``).

Configuration (``[alerts]``; every key has a default in ``ALERT_DEFAULTS``)::

    [alerts]
    underpriced_pct = 15      # % under the fair price of >= min_comparables comparables
    daily_cap = 20
    [[alerts.watch]]          # a watched / saved search
    name = "Acty 4x4 near Knoxville"
    model = "Acty"            # or a list; matched in the canonical model
    is_4wd = true
    max_price = 9000
    postal_code = "37902"     # or near = [35.96, -83.92]
    max_distance_mi = 150
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pandas as pd

from analysis.deals import BASIS_LABELS, LANDED, deal_settings, score_deals
from analysis.load import (
    as_of_date,
    read_history_of,
    read_listings,
    read_listings_as_of,
    read_runs,
)
from pipelines import alert_store
from pipelines.landed import LANDED_BASES

logger = logging.getLogger(__name__)

#: Rules, most important first (the order of digests and of the daily cap).
KINDS = ("source_unhealthy", "underpriced_4wd", "price_drop", "newly_eligible", "new_match")
KIND_TITLES = {
    "source_unhealthy": "Source unhealthy",
    "underpriced_4wd": "Underpriced 4WD",
    "price_drop": "Price drop",
    "newly_eligible": "Turned 25",
    "new_match": "New match",
}
#: Rules whose alert may fire again for the same truck after a further price drop.
REFIRE_KINDS = frozenset({"underpriced_4wd", "price_drop"})
#: Rules counted against the daily cap (a broken source is always worth a message).
CAPPED_KINDS = tuple(k for k in KINDS if k != "source_unhealthy")
SEARCH_RULES = ("price_drop", "new_match", "newly_eligible")

ALERT_COLUMNS = (
    "kind",
    "identity",
    "source",
    "listing_id",
    "price_usd",
    "reason",
    "rank",
    "title",
    "year",
    "model",
    "model_code",
    "is_4wd",
    "mileage_mi",
    "location",
    "url",
)

ALERT_DEFAULTS: dict[str, Any] = {
    "underpriced_pct": 15,
    "min_comparables": 3,
    "refire_drop_usd": 250,
    "daily_cap": 20,
    #: price bases a listing may have to be called underpriced (never live bids or sold prices).
    "underpriced_bases": ["asking", "fob", "cnf", "cif"],
    #: without enough comparables, the band floor applies to these bases only (US asking).
    "floor_bases": ["asking"],
    #: a watched search's price drop: at least this % or this many dollars (either).
    "drop_pct": 5,
    "drop_usd": 500,
    #: a source whose field coverage falls by this much (0-1) from its recent median.
    "coverage_drop": 0.25,
    "watch": [],
}
NOTIFY_DEFAULTS: dict[str, Any] = {"urls": [], "mode": "digest"}
NOTIFY_ENV = "KEITRUCKS_NOTIFY_URLS"
#: The channel name of alerts delivered only to stdout and the digest file.
LOCAL_CHANNEL = "local"
SEARCH_KEYS = {
    "name",
    "model",
    "model_code",
    "is_4wd",
    "min_year",
    "max_year",
    "max_price",
    "max_miles",
    "states",
    "areas",
    "sources",
    "postal_code",
    "near",
    "max_distance_mi",
    "drop_pct",
    "drop_usd",
    "since",
    "rules",
}


class AlertsConfigError(ValueError):
    """A problem in ``[alerts]`` or ``[notify]``, worded for a one-line message to the user."""


@dataclass
class AlertRun:
    """What one run did: the alerts raised (dicts), deliveries sent / failed, earlier rows
    retried, the digest written, and alerts held back by the daily cap for the next night."""

    raised: list[dict[str, Any]]
    sent: int
    failed: int
    retried: int
    digest_path: Path | None
    deferred: int = 0


# -- settings -----------------------------------------------------------------------------------


def alert_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """``ALERT_DEFAULTS`` overridden by ``config["alerts"]``, checked; searches normalized."""
    given = dict(config.get("alerts") or {})
    settings = {**ALERT_DEFAULTS, **given}
    for key in (
        "underpriced_pct",
        "min_comparables",
        "refire_drop_usd",
        "daily_cap",
        "drop_pct",
        "drop_usd",
        "coverage_drop",
    ):
        value = settings[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise AlertsConfigError(f"[alerts] {key} must be a number >= 0, not {value!r}")
    watch = settings["watch"]
    if not isinstance(watch, list):
        raise AlertsConfigError("[alerts] watch must be a list of tables ([[alerts.watch]])")
    for key in ("underpriced_bases", "floor_bases"):
        settings[key] = [str(b) for b in _as_list(settings[key])]
    settings["plausible_usd"] = tuple(deal_settings(dict(config))["plausible_usd"])
    settings["watch"] = [_search(s, i, settings) for i, s in enumerate(watch)]
    names = [s["name"] for s in settings["watch"]]
    if len(set(names)) != len(names):
        raise AlertsConfigError("[[alerts.watch]] names must be unique")
    return settings


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _search(raw: Any, index: int, settings: Mapping[str, Any]) -> dict[str, Any]:
    where = f"[[alerts.watch]] #{index + 1}"
    if not isinstance(raw, Mapping):
        raise AlertsConfigError(f"{where} must be a table")
    unknown = set(raw) - SEARCH_KEYS
    if unknown:
        raise AlertsConfigError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(SEARCH_KEYS))}"
        )
    search = {
        "name": str(raw.get("name") or f"search {index + 1}"),
        "model": [str(m).lower() for m in _as_list(raw.get("model"))],
        "model_code": [str(m).upper() for m in _as_list(raw.get("model_code"))],
        "is_4wd": raw.get("is_4wd"),
        "states": [str(s).upper() for s in _as_list(raw.get("states"))],
        "areas": [str(a).lower() for a in _as_list(raw.get("areas"))],
        "sources": [str(s) for s in _as_list(raw.get("sources"))],
        "rules": [str(r) for r in _as_list(raw.get("rules", list(SEARCH_RULES)))],
        "drop_pct": raw.get("drop_pct", settings["drop_pct"]),
        "drop_usd": raw.get("drop_usd", settings["drop_usd"]),
    }
    for key in ("min_year", "max_year", "max_price", "max_miles", "max_distance_mi"):
        value = raw.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise AlertsConfigError(f"{where}: {key} must be a number, not {value!r}")
        search[key] = value
    if search["is_4wd"] is not None and not isinstance(search["is_4wd"], bool):
        raise AlertsConfigError(f"{where}: is_4wd must be true or false")
    bad_rules = set(search["rules"]) - set(SEARCH_RULES)
    if bad_rules:
        raise AlertsConfigError(
            f"{where}: unknown rule(s) {', '.join(sorted(bad_rules))}; "
            f"known: {', '.join(SEARCH_RULES)}"
        )
    since = raw.get("since")
    try:
        search["since"] = as_of_date(since) if since is not None else None
    except ValueError:
        raise AlertsConfigError(f"{where}: since must be a date (YYYY-MM-DD)") from None
    search["center"] = _center(raw, where)
    if search["max_distance_mi"] is not None and search["center"] is None:
        raise AlertsConfigError(f"{where}: max_distance_mi needs postal_code or near = [lat, lon]")
    return search


def _center(raw: Mapping[str, Any], where: str) -> tuple[float, float] | None:
    near = raw.get("near")
    if near is not None:
        if not (
            isinstance(near, list | tuple)
            and len(near) == 2
            and all(isinstance(v, int | float) for v in near)
        ):
            raise AlertsConfigError(f"{where}: near must be [latitude, longitude]")
        return float(near[0]), float(near[1])
    code = raw.get("postal_code")
    if code is None:
        return None
    return postal_code_center(str(code), where)


def postal_code_center(code: str, where: str = "search") -> tuple[float, float]:
    """(latitude, longitude) of a US ZIP code, from the offline ``zipcodes`` package."""
    try:
        import zipcodes
    except ImportError:
        raise AlertsConfigError(
            f"{where}: postal_code needs the 'zipcodes' package (pip install zipcodes), "
            "or give near = [latitude, longitude]"
        ) from None
    try:
        found = zipcodes.matching(code.strip()[:5])
    except (TypeError, ValueError):
        found = []
    if not found:
        raise AlertsConfigError(f"{where}: unknown US postal code {code!r}")
    return float(found[0]["lat"]), float(found[0]["long"])


# -- helpers over DataFrames --------------------------------------------------------------------


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series(pd.NA, index=df.index, dtype="object")


def _flag(series: pd.Series) -> pd.Series:
    """A plain bool Series: True only where ``series`` is True (NA counts as False)."""
    return series.fillna(False).astype(bool)


def _num(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").astype("Float64")


def _identity(df: pd.DataFrame) -> pd.Series:
    key = df["source"].astype(str) + ":" + df["listing_id"].astype(str)
    return _col(df, "identity").astype("object").where(_col(df, "identity").notna(), key)


def _usd(value: Any) -> str:
    return f"${int(value):,}"


def _empty_alerts() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="object") for c in ALERT_COLUMNS})


def _candidates(rows: pd.DataFrame, kind: str, reasons: Sequence[str], ranks) -> pd.DataFrame:
    """Alerts of one rule from listing rows: one per identity, the best (then cheapest) kept."""
    if rows.empty:
        return _empty_alerts()
    out = pd.DataFrame(
        {
            "kind": kind,
            "identity": _identity(rows),
            "source": rows["source"].astype(str),
            "listing_id": rows["listing_id"].astype(str),
            "price_usd": _num(rows["price_usd"]).round().astype("Int64"),
            "reason": list(reasons),
            "rank": np.asarray(ranks, dtype="float64"),
            "title": _col(rows, "title"),
            "year": _col(rows, "year"),
            "model": _col(rows, "model"),
            "model_code": _col(rows, "model_code"),
            "is_4wd": _col(rows, "is_4wd"),
            "mileage_mi": _col(rows, "mileage_mi"),
            "location": _col(rows, "location_raw"),
            "url": _col(rows, "url"),
        },
        index=rows.index,
    )
    return (
        out.sort_values(
            ["rank", "price_usd", "identity"],
            ascending=[False, True, True],
            na_position="last",
            kind="stable",
        )
        .drop_duplicates(["kind", "identity"], keep="first")
        .reset_index(drop=True)
    )


def _for_sale(state: pd.DataFrame) -> pd.Series:
    return _flag(_col(state, "status").eq("active")) & _flag(_col(state, "kind").eq("kei_truck"))


# -- rule: underpriced 4WD ----------------------------------------------------------------------


def underpriced_4wd(
    state: pd.DataFrame,
    scores: pd.DataFrame | None,
    *,
    settings: Mapping[str, Any],
    band_low: float,
) -> pd.DataFrame:
    """Active 4WD kei trucks priced ``underpriced_pct`` under their fair price (rated, with at
    least ``min_comparables`` comparables), or, unrated, under the band floor ``band_low``.

    Never parts, wanted ads, toys, vans or other vehicles (``kind`` must be kei_truck), never a
    listing without a price or with an implausible one, never a live bid or a sold price.
    A Japanese exporter's truck (FOB, C&F, CIF) is judged on its landed cost against US asking
    prices (``score_deals``' ``basis`` "landed"), and only when it can be imported: its
    ``eligible_25y`` is True (never unknown or False); the band floor never applies to it.
    ``scores`` is ``analysis.deals.score_deals``' result (None: every listing unrated).
    """
    price = _num(_col(state, "price_usd"))
    basis = _col(state, "price_basis")
    keep = (
        _for_sale(state)
        & _flag(_col(state, "is_4wd").eq(True))
        & _flag(price.between(*settings["plausible_usd"]))
        & _flag(basis.isin(settings["underpriced_bases"]))
        & (~_flag(basis.isin(LANDED_BASES)) | _flag(_col(state, "eligible_25y").eq(True)))
    )
    rows = state.loc[keep]
    score_cols = ["fair_price_usd", "discount_pct", "n_comparables", "rated"]
    if scores is not None and not scores.empty:
        extra = [
            c
            for c in ("comparables_median_usd", "family", "value_usd", "basis")
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
    n = _num(rows["n_comparables"]).fillna(0)
    discount = _num(rows["discount_pct"])
    rated = _flag(rows["rated"].astype("boolean")) & (n >= settings["min_comparables"])
    under_fair = rated & _flag(discount >= settings["underpriced_pct"])
    price = _num(rows["price_usd"])
    under_floor = (
        ~rated & _flag(price < band_low) & _flag(rows["price_basis"].isin(settings["floor_bases"]))
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
                f"{_usd(row['price_usd'])} is under the {_usd(band_low)} band floor "
                f"(only {have} comparable{'' if have == 1 else 's'})"
            )
            ranks.append(100 * (band_low - float(row["price_usd"])) / band_low)
    return _candidates(hits, "underpriced_4wd", reasons, ranks)


def _underpriced_reason(row: Mapping[str, Any]) -> str:
    """E.g. "18% under 7 comparable 4WD Honda Acty trucks, fair price $8,900, median $8,750";
    for an exporter's truck "landed ≈ $6,488 (FOB $2,600) is 21% under 7 comparable 4WD
    Daihatsu Hijet trucks asking in the US, fair price $8,200".

    Comparables share the platform family, not the chassis code, so the family is named."""
    what = next(
        (row[k] for k in ("family", "model") if isinstance(row.get(k), str) and row[k]), None
    )
    landed = isinstance(row.get("basis"), str) and row["basis"] == LANDED
    landed = landed and _present(row.get("value_usd"))
    text = (
        f"{float(row['discount_pct']):.0f}% under {int(row['n_comparables'])} comparable 4WD "
        f"{what + ' ' if what else ''}trucks"
        + (" asking in the US" if landed else "")
        + f", fair price {_usd(row['fair_price_usd'])}"
    )
    if landed:
        quoted = BASIS_LABELS.get(row["price_basis"], str(row["price_basis"]).upper())
        text = f"landed ≈ {_usd(row['value_usd'])} ({quoted} {_usd(row['price_usd'])}) is {text}"
    median = row.get("comparables_median_usd")
    if _present(median) and int(median) != int(row["fair_price_usd"]):
        text += f", median {_usd(median)}"
    return text


# -- watched searches ---------------------------------------------------------------------------

_STATE = re.compile(r"(?:,|\b)\s*([A-Za-z]{2})\s*(?:\d{5})?\s*$")


def _state_code(location: Any) -> str | None:
    if not isinstance(location, str):
        return None
    match = _STATE.search(location.strip())
    return match.group(1).upper() if match else None


def distance_mi(lat, lon, center: tuple[float, float]) -> np.ndarray:
    """Great-circle miles from ``center`` to each (lat, lon); NaN where unknown."""
    lat = np.radians(np.asarray(lat, dtype="float64"))
    lon = np.radians(np.asarray(lon, dtype="float64"))
    clat, clon = math.radians(center[0]), math.radians(center[1])
    a = np.sin((lat - clat) / 2) ** 2 + np.cos(lat) * math.cos(clat) * np.sin((lon - clon) / 2) ** 2
    return 3958.8 * 2 * np.arcsin(np.sqrt(a))


def match_search(state: pd.DataFrame, search: Mapping[str, Any]) -> pd.Series:
    """Which listings a watched search matches (unknown values never match a set criterion)."""
    keep = _flag(_col(state, "status").eq("active")) & _flag(_col(state, "kind").eq("kei_truck"))
    if search["model"]:
        model = _col(state, "model").astype("object").fillna("").astype(str).str.lower()
        keep &= model.apply(lambda m: any(term in m for term in search["model"]))
    if search["model_code"]:
        keep &= _flag(
            _col(state, "model_code").astype("object").str.upper().isin(search["model_code"])
        )
    if search["is_4wd"] is not None:
        keep &= _flag(_col(state, "is_4wd").eq(search["is_4wd"]))
    bounds = (
        ("min_year", "year", "ge"),
        ("max_year", "year", "le"),
        ("max_price", "price_usd", "le"),
        ("max_miles", "mileage_mi", "le"),
    )
    for key, column, op in bounds:
        if search[key] is not None:
            keep &= _flag(getattr(_num(_col(state, column)), op)(search[key]))
    if search["sources"]:
        keep &= _flag(_col(state, "source").isin(search["sources"]))
    if search["states"]:
        keep &= _col(state, "location_raw").map(_state_code).isin(search["states"])
    if search["areas"]:
        text = (
            _col(state, "url").astype("object").fillna("").astype(str)
            + " "
            + _col(state, "location_raw").astype("object").fillna("").astype(str)
        ).str.lower()
        keep &= text.apply(lambda t: any(area in t for area in search["areas"]))
    if search["max_distance_mi"] is not None:
        miles = distance_mi(
            _num(_col(state, "latitude")).to_numpy(dtype="float64", na_value=np.nan),
            _num(_col(state, "longitude")).to_numpy(dtype="float64", na_value=np.nan),
            search["center"],
        )
        keep &= pd.Series(
            np.nan_to_num(miles, nan=np.inf) <= search["max_distance_mi"], index=state.index
        )
    if search["since"] is not None:
        first = pd.to_datetime(_col(state, "first_seen_at"), utc=True)
        keep &= _flag(first >= pd.Timestamp(search["since"], tz="UTC"))
    return keep.astype(bool)


def _searches_for(settings: Mapping[str, Any], rule: str) -> list[dict[str, Any]]:
    return [s for s in settings["watch"] if rule in s["rules"]]


def _merge_search_names(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One alert per (kind, identity) across searches; "{searches}" in its reason becomes the
    searches it matched ("search 'A'" or "searches 'A', 'B'")."""
    frames = [f for f in frames if not f.empty]
    if not frames:
        return _empty_alerts()
    alerts = pd.concat(frames, ignore_index=True)
    names = alerts.groupby(["kind", "identity"])["_search"].agg(lambda s: list(dict.fromkeys(s)))
    alerts = alerts.sort_values(
        ["rank", "price_usd", "identity"],
        ascending=[False, True, True],
        na_position="last",
        kind="stable",
    )
    alerts = alerts.drop_duplicates(["kind", "identity"], keep="first")
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
    """Every listing a watched search matches, once per truck (the history says which are new)."""
    frames = []
    for search in _searches_for(settings, "new_match"):
        rows = state.loc[match_search(state, search)]
        found = _candidates(
            rows, "new_match", ["matches your {searches}"] * len(rows), [0] * len(rows)
        )
        frames.append(found.assign(_search=search["name"]))
    return _merge_search_names(frames)


def price_drops(
    state: pd.DataFrame, history: pd.DataFrame, *, settings: Mapping[str, Any]
) -> pd.DataFrame:
    """Watched listings now at least ``drop_pct``% or ``drop_usd`` under their truck's highest
    earlier asking price on the same basis (over every repost of the truck)."""
    searches = _searches_for(settings, "price_drop")
    if not searches or history.empty:
        return _empty_alerts()
    identity = pd.DataFrame(
        {
            "source": state["source"].astype(str),
            "listing_id": state["listing_id"].astype(str),
            "identity": _identity(state),
        }
    )
    past = history.assign(
        source=history["source"].astype(str), listing_id=history["listing_id"].astype(str)
    ).merge(identity, on=["source", "listing_id"], how="inner")
    past = past.loc[_flag(past["status"].eq("active")) & _num(past["price_usd"]).notna()]
    peaks = (
        past.assign(price_usd=_num(past["price_usd"]))
        .groupby(["identity", "price_basis"], dropna=False)["price_usd"]
        .max()
        .rename("peak_usd")
        .reset_index()
    )
    frames = []
    for search in searches:
        rows = state.loc[match_search(state, search) & _num(_col(state, "price_usd")).notna()]
        rows = rows.assign(identity=_identity(rows)).merge(
            peaks, on=["identity", "price_basis"], how="inner"
        )
        price, peak = _num(rows["price_usd"]), _num(rows["peak_usd"])
        drop = peak - price
        hit = _flag(drop > 0) & (
            _flag(drop >= search["drop_usd"]) | _flag(100 * drop / peak >= search["drop_pct"])
        )
        rows, drop, peak = rows.loc[hit], drop[hit], peak[hit]
        reasons = [
            f"down {_usd(d)} ({100 * d / p:.0f}%) from {_usd(p)} to {_usd(p - d)}, "
            "watched {searches}"
            for d, p in zip(drop, peak, strict=True)
        ]
        found = _candidates(rows, "price_drop", reasons, list(100 * drop / peak))
        frames.append(found.assign(_search=search["name"]))
    return _merge_search_names(frames)


def newly_eligible(
    state: pd.DataFrame, *, settings: Mapping[str, Any], as_of: dt.date
) -> pd.DataFrame:
    """Watched listings that turned 25 (US import eligible) this month or last while listed:
    ``eligible_from`` (YYYY-MM) is reached, and the truck was first seen before that month."""
    month = f"{as_of:%Y-%m}"
    previous = f"{(as_of.replace(day=1) - dt.timedelta(days=1)):%Y-%m}"
    eligible_from = _col(state, "eligible_from").astype("object")
    first_month = pd.to_datetime(_col(state, "first_seen_at"), utc=True).dt.strftime("%Y-%m")
    crossed = eligible_from.isin([month, previous]) & _flag(
        eligible_from.astype("object").fillna("") > first_month.astype("object").fillna("9")
    )
    frames = []
    for search in _searches_for(settings, "newly_eligible"):
        rows = state.loc[match_search(state, search) & _flag(crossed)]
        basis = _col(rows, "eligibility_basis").astype("object")
        reasons = [
            f"turned 25 in {ef}{_basis_words(b)}: now eligible for US import; watched {{searches}}"
            for ef, b in zip(rows["eligible_from"], basis, strict=True)
        ]
        found = _candidates(rows, "newly_eligible", reasons, [0] * len(rows))
        frames.append(found.assign(_search=search["name"]))
    return _merge_search_names(frames)


def _basis_words(basis: Any) -> str:
    return f" (by {basis.replace('_', ' ')})" if isinstance(basis, str) and basis else ""


# -- rule: source unhealthy ---------------------------------------------------------------------


def _coverage(value: Any) -> dict[str, float]:
    if not isinstance(value, str) or not value:
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    return (
        {k: float(v) for k, v in data.items() if isinstance(v, int | float)}
        if isinstance(data, dict)
        else {}
    )


def _run_day(runs: pd.DataFrame) -> pd.Series:
    stamp = _col(runs, "as_of").astype("object").where(_col(runs, "as_of").notna(), None)
    started = pd.to_datetime(_col(runs, "started_at"), utc=True)
    parsed = pd.to_datetime(stamp, utc=True, format="ISO8601", errors="coerce")
    return parsed.where(parsed.notna(), started).dt.date


def unhealthy_sources(
    runs: pd.DataFrame, *, as_of: dt.date, settings: Mapping[str, Any]
) -> pd.DataFrame:
    """The latest run of each source on the night (or the night before) if it was blocked,
    failed, empty or too small, or lost field coverage against its recent healthy runs."""
    if runs.empty:
        return _empty_alerts()
    runs = runs.assign(_day=_run_day(runs))
    runs = runs.loc[
        (runs["_day"] <= as_of)
        & (runs["_day"] >= as_of - dt.timedelta(days=1))
        & ~_flag(_col(runs, "status").eq("running"))
    ]
    records = []
    for source, group in runs.groupby("source", sort=True):
        run = group.sort_values("id").iloc[-1].to_dict()
        reason = _run_problem(run)
        if reason is None:
            reason = _coverage_problem(
                run, runs_before=_healthy_before(runs, run), settings=settings
            )
        if reason is not None:
            records.append(
                {
                    "kind": "source_unhealthy",
                    "identity": f"{source}/run/{int(run['id'])}",
                    "source": source,
                    "listing_id": None,
                    "price_usd": pd.NA,
                    "reason": f"{source}: {reason}",
                    "rank": 0.0,
                }
            )
    if not records:
        return _empty_alerts()
    out = pd.DataFrame(records)
    for col in ALERT_COLUMNS:
        if col not in out.columns:
            out[col] = None
    return out.loc[:, list(ALERT_COLUMNS)].astype({"price_usd": "Int64"})


def _healthy_before(runs: pd.DataFrame, run: dict[str, Any]) -> pd.DataFrame:
    same = runs.loc[
        (runs["source"] == run["source"])
        & (runs["id"] < run["id"])
        & _flag(_num(_col(runs, "healthy")).eq(1))
    ]
    return same.sort_values("id").tail(7)


def _run_problem(run: Mapping[str, Any]) -> str | None:
    status = run.get("status")
    detail = next(
        (
            str(run[k])
            for k in ("blocked_reason", "health_reason", "finish_reason")
            if isinstance(run.get(k), str) and run[k]
        ),
        None,
    )
    if status == "blocked":
        return f"blocked ({detail or 'block page'}); nothing marked gone"
    if status in ("failed", "abandoned"):
        return f"run {status} ({detail or 'no reason recorded'}); nothing marked gone"
    if not run.get("healthy"):
        reason = run.get("health_reason") or "no reason recorded"
        return f"unhealthy run ({reason}); nothing marked gone"
    return None


def _coverage_problem(
    run: Mapping[str, Any], *, runs_before: pd.DataFrame, settings: Mapping[str, Any]
) -> str | None:
    now = _coverage(run.get("coverage"))
    if not now or runs_before.empty:
        return None
    earlier = [_coverage(c) for c in runs_before["coverage"]]
    lost = []
    for name, value in sorted(now.items()):
        past = [c[name] for c in earlier if name in c]
        if past and float(np.median(past)) - value >= settings["coverage_drop"]:
            lost.append(f"{name} {float(np.median(past)):.0%} -> {value:.0%}")
    return f"field coverage fell: {', '.join(lost)}" if lost else None


# -- selection ----------------------------------------------------------------------------------


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
    source = _col(state, "source").astype("object")
    night = seen.where(seen <= day).groupby(source).max()
    if not runs.empty:
        finished = runs.assign(_day=_run_day(runs)).loc[
            lambda r: (r["_day"] <= day) & ~_flag(_col(r, "status").eq("running"))
        ]
        night = pd.Series(night.to_dict() | finished.groupby("source")["_day"].max().to_dict())
    return state.loc[_flag(seen == source.map(night))]


def evaluate_rules(
    state: pd.DataFrame,
    scores: pd.DataFrame | None,
    history: pd.DataFrame,
    runs: pd.DataFrame,
    *,
    as_of: dt.date,
    settings: Mapping[str, Any],
    band_low: float,
) -> pd.DataFrame:
    """Every rule's candidates, most important first (``KINDS`` order, then rank).

    The listing rules see only the listings the night saw (``seen_last_night``): after a failed
    run a truck that left the site stays "active" but must not be announced. ``scores`` (the
    comparables) come from the whole state.
    """
    fresh = seen_last_night(state, runs, as_of)
    frames = [
        unhealthy_sources(runs, as_of=as_of, settings=settings),
        underpriced_4wd(fresh, scores, settings=settings, band_low=band_low),
        price_drops(fresh, history, settings=settings),
        newly_eligible(fresh, settings=settings, as_of=as_of),
        new_matches(fresh, settings=settings),
    ]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return _empty_alerts()
    out = pd.concat(frames, ignore_index=True)
    order = out["kind"].map({k: i for i, k in enumerate(KINDS)})
    return (
        out.assign(_order=order)
        .sort_values(
            ["_order", "rank", "price_usd", "identity"],
            ascending=[True, False, True, True],
            na_position="last",
            kind="stable",
        )
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def select_alerts(
    candidates: pd.DataFrame,
    memory: Mapping[tuple[str, str], alert_store.AlertMemory],
    *,
    refire_drop_usd: float,
    cap: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(to raise, deferred by the cap) from ``candidates`` in their order.

    A (kind, identity) already in ``memory`` is skipped, unless its rule may refire and the
    price is now at least ``refire_drop_usd`` under the lowest price it was alerted at. At
    most ``cap`` alerts of ``CAPPED_KINDS`` are raised; the rest are deferred (not recorded,
    so they come back the next night while they still hold).
    """
    keep, defer, reasons = [], [], []
    capped = 0
    for index, row in candidates.iterrows():
        reason = row["reason"]
        before = memory.get((row["kind"], row["identity"]))
        if before is not None:
            price, low = row["price_usd"], before.lowest_price_usd
            if (
                row["kind"] not in REFIRE_KINDS
                or pd.isna(price)
                or low is None
                or price > low - refire_drop_usd
            ):
                continue
            reason = f"{reason}; down a further {_usd(low - price)} since the alert at {_usd(low)}"
        if row["kind"] in CAPPED_KINDS:
            if capped >= cap:
                defer.append(index)
                continue
            capped += 1
        keep.append(index)
        reasons.append(reason)
    chosen = candidates.loc[keep].assign(reason=reasons).reset_index(drop=True)
    return chosen, candidates.loc[defer].reset_index(drop=True)


# -- messages -----------------------------------------------------------------------------------

#: Characters that could start emphasis, code or a link inside a line of Markdown.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]~])")
_SAFE_URL = re.compile(r"^https?://[^\s<>\"']+$")


#: An ANSI escape sequence (CSI ... final byte, or ESC and one character).
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-_])")
#: C0/C1 control characters: a terminal showing the digest would run them.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
#: Bidi embeddings, overrides and isolates (U+202E flips the rest of the line).
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def plain_text(value: Any) -> str:
    """One line with no HTML, control characters, ANSI escapes or bidi controls: Apprise
    renders Markdown to HTML for some channels (e-mail), and the digest is read in terminals."""
    text = _BIDI.sub("", _CONTROL.sub(" ", _ANSI.sub("", str(value))))
    return " ".join(text.split()).replace("<", "&lt;").replace(">", "&gt;")


def md_text(value: Any) -> str:
    """Scraped text made inert inside a Markdown line (no markup, links or HTML)."""
    return _MD_SPECIAL.sub(r"\\\1", plain_text(value))


def _present(value: Any) -> bool:
    return (
        value is not None
        and not (isinstance(value, float) and math.isnan(value))
        and value is not pd.NA
    )


def format_alert(alert: Mapping[str, Any]) -> str:
    """One alert as a few Markdown lines: what, the facts, why, the link."""
    title = KIND_TITLES.get(alert["kind"], alert["kind"])
    if alert["kind"] == "source_unhealthy":
        return f"- **{title}**: {plain_text(alert['reason'])}"
    facts = []
    if _present(alert.get("price_usd")):
        facts.append(_usd(alert["price_usd"]))
    what = " ".join(
        str(alert[k]) for k in ("year", "model", "model_code") if _present(alert.get(k))
    )
    if what:
        facts.append(what)
    if _present(alert.get("is_4wd")):
        facts.append("4WD" if alert["is_4wd"] else "2WD")
    if _present(alert.get("mileage_mi")):
        facts.append(f"{int(alert['mileage_mi']):,} mi")
    if _present(alert.get("location")):
        facts.append(str(alert["location"]))
    facts.append(str(alert.get("source") or ""))
    name = alert.get("title") if _present(alert.get("title")) else alert.get("listing_id")
    lines = [
        f"- **{title}**: {md_text(name)}",
        f"  {md_text(' · '.join(f for f in facts if f))}",
        f"  Why: {plain_text(alert['reason'])}",
    ]
    url = alert.get("url")
    if isinstance(url, str) and _SAFE_URL.match(url):
        lines.append(f"  <{url}>")
    if alert.get("retry_of"):
        lines.append(f"  (first raised for {alert['retry_of']}; resent after a failed delivery)")
    return "\n".join(lines)


def render_message(alerts: Sequence[Mapping[str, Any]], *, day: dt.date) -> tuple[str, str]:
    """(title, Markdown body) of a digest of ``alerts``."""
    new = sum(1 for a in alerts if not a.get("retry_of"))
    resent = len(alerts) - new
    counts = f"{new} new" + (f", {resent} resent" if resent else "")
    title = f"Kei truck alerts {day.isoformat()}: {counts}"
    if len(alerts) == 1:
        only = alerts[0]
        title = f"Kei truck alert: {KIND_TITLES.get(only['kind'], only['kind'])}"
        if _present(only.get("price_usd")):
            title += f" {_usd(only['price_usd'])}"
    body = "\n".join(format_alert(a) for a in alerts)
    return title, body


def render_digest(alerts: Sequence[Mapping[str, Any]], *, day: dt.date) -> str:
    """The night's digest file: every alert raised for ``day``, with where it was delivered."""
    lines = [f"# Kei truck alerts, {day.isoformat()}", ""]
    if not alerts:
        lines.append("No new alerts tonight.")
    for kind in KINDS:
        group = [a for a in alerts if a["kind"] == kind]
        if not group:
            continue
        lines += [f"## {KIND_TITLES[kind]} ({len(group)})", ""]
        for alert in group:
            lines.append(format_alert(alert))
            deliveries = alert.get("deliveries") or {}
            if deliveries:
                lines.append(
                    "  Delivery: " + ", ".join(f"{c} {s}" for c, s in sorted(deliveries.items()))
                )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# -- channels and delivery ----------------------------------------------------------------------


@dataclass(frozen=True)
class Channel:
    """An Apprise URL. ``name`` (scheme + short hash) is what logs and the table may show."""

    name: str
    scheme: str
    url: str = field(repr=False)


def notify_urls(config: Mapping[str, Any], environ: Mapping[str, str]) -> list[str]:
    """Apprise URLs from ``config["notify"]["urls"]`` then ``$KEITRUCKS_NOTIFY_URLS`` (comma or
    space separated), duplicates removed."""
    urls = _as_list((config.get("notify") or {}).get("urls"))
    urls += re.split(r"[,\s]+", environ.get(NOTIFY_ENV, ""))
    return list(dict.fromkeys(str(u).strip() for u in urls if u and str(u).strip()))


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "?"


def secret_parts(url: str) -> set[str]:
    """The pieces of a URL that may be secrets (everything past the scheme), for redaction."""
    try:
        parts = urlsplit(url)
        pieces = {parts.username, parts.password, parts.hostname, parts.fragment}
        pieces |= set(re.split(r"[/@:]", parts.netloc + parts.path))
        pieces |= {v for _, v in parse_qsl(parts.query)}
    except ValueError:
        pieces = set(re.split(r"[/@:?&=#]", url.split("://", 1)[-1]))
    pieces.add(url)
    return {p for p in pieces if p and len(p) >= 4}


def redact(text: str, secrets: set[str]) -> str:
    for piece in sorted(secrets, key=len, reverse=True):
        text = text.replace(piece, "***")
    return text


class _RedactFilter(logging.Filter):
    """Rewrites Apprise's log records so no URL piece of our channels reaches any handler."""

    def __init__(self, secrets: set[str]):
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = None
        return True


#: Loggers that may see a channel URL while Apprise sends (its own, and the HTTP stack's).
_URL_LOGGERS = ("apprise", "urllib3", "requests")


@contextmanager
def _apprise_guard(secrets: set[str]) -> Iterator[Any]:
    """Import Apprise quietly and redact our secrets from every log record of Apprise and the
    HTTP libraries under it (urllib3 logs request paths at DEBUG) while it works."""
    redactor = _RedactFilter(secrets)
    import apprise  # noqa: F401 (registers its loggers before we look them up)

    names = [
        name
        for name in [*_URL_LOGGERS, *logging.root.manager.loggerDict]
        if name.split(".")[0] in _URL_LOGGERS
    ]
    loggers = [logging.getLogger(name) for name in dict.fromkeys(names)]
    for each in loggers:
        each.addFilter(redactor)
    try:
        with warnings.catch_warnings():
            # Apprise's e-mail plugin imports the stdlib's deprecated imghdr module.
            warnings.filterwarnings("ignore", message=".*imghdr.*", category=DeprecationWarning)
            yield sys.modules["apprise"]
    finally:
        for each in loggers:
            each.removeFilter(redactor)


def _instantiate_quietly(apprise: Any, url: str) -> Any:
    """``Apprise.instantiate`` with Apprise's own logger held at CRITICAL: on a URL it cannot
    use it logs an ERROR line of its own, which our ``AlertsConfigError`` says better."""
    apprise_logger = logging.getLogger("apprise")
    level = apprise_logger.level
    apprise_logger.setLevel(logging.CRITICAL)
    try:
        return apprise.Apprise.instantiate(url)
    finally:
        apprise_logger.setLevel(level)


def build_channels(urls: Sequence[str]) -> list[Channel]:
    """One Channel per URL; an URL Apprise cannot use is a configuration error (scheme only)."""
    if not urls:
        return []
    channels = []
    secrets = set().union(*(secret_parts(u) for u in urls))
    with _apprise_guard(secrets) as apprise:
        for position, url in enumerate(urls, start=1):
            scheme = _scheme(url)
            if _instantiate_quietly(apprise, url) is None:
                raise AlertsConfigError(
                    f"notification URL #{position} ({scheme}://...) is not a URL Apprise can use"
                )
            digest = hashlib.sha256(url.encode()).hexdigest()[:8]
            channels.append(Channel(name=f"{scheme}#{digest}", scheme=scheme, url=url))
    return channels


def send(channel: Channel, title: str, body: str) -> tuple[bool, str | None]:
    """Deliver one message; (delivered?, error with the channel's secrets removed)."""
    secrets = secret_parts(channel.url)
    with _apprise_guard(secrets) as apprise:
        notifier = apprise.Apprise()
        notifier.add(channel.url)
        try:
            result = notifier.notify(
                body=body, title=title, body_format=apprise.NotifyFormat.MARKDOWN
            )
        except Exception as exc:  # a plugin crash must be recorded as a failed send, not lost
            return False, redact(f"{type(exc).__name__}: {exc}", secrets)[:500]
    if result:
        return True, None
    problems = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR")]
    return False, redact("; ".join(problems) or "delivery failed", secrets)[:500]


def deliver(
    channels: Sequence[Channel], rows: Sequence[dict[str, Any]], *, mode: str, day: dt.date
) -> list[tuple[int, bool, str | None]]:
    """Send the alert rows (each with its channel, alert fields and details) and return the
    outcome per row: one message per channel in ``digest`` mode, per row in ``immediate``."""
    outcomes = []
    for channel in channels:
        mine = [r for r in rows if r["channel"] == channel.name]
        if not mine:
            continue
        batches = [mine] if mode == "digest" else [[r] for r in mine]
        for batch in batches:
            title, body = render_message(batch, day=day)
            ok, error = send(channel, title, body)
            if not ok:
                logger.warning("alert delivery to %s failed: %s", channel.name, error)
            else:
                logger.info("sent %d alert(s) to %s", len(batch), channel.name)
            outcomes += [(r["id"], ok, error) for r in batch]
    return outcomes


# -- the night ----------------------------------------------------------------------------------

DETAIL_COLUMNS = ("title", "year", "model", "model_code", "is_4wd", "mileage_mi", "location", "url")


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _records(alerts: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: _plain(v) for k, v in row.items() if k != "rank"} for row in alerts.to_dict("records")
    ]


def _details(state: pd.DataFrame) -> dict[tuple[str, str], dict[str, Any]]:
    """(source, listing_id) -> the descriptive fields a message shows."""
    if state.empty:
        return {}
    view = pd.DataFrame(
        {
            "source": state["source"].astype(str),
            "listing_id": state["listing_id"].astype(str),
            **{c: _col(state, "location_raw" if c == "location" else c) for c in DETAIL_COLUMNS},
        }
    )
    return {(r["source"], r["listing_id"]): r for r in _records(view)}


def _with_details(row: Mapping[str, Any], details: Mapping[tuple[str, str], dict]) -> dict:
    extra = details.get((row.get("source"), str(row.get("listing_id"))), {})
    return {**{c: extra.get(c) for c in DETAIL_COLUMNS}, **dict(row)}


def _score(state: pd.DataFrame, day: dt.date, config: Mapping[str, Any]) -> pd.DataFrame | None:
    return score_deals(state, as_of=day, config=dict(config))


def with_landed_costs(state: pd.DataFrame, stored: pd.DataFrame) -> pd.DataFrame:
    """``state`` with ``landed_usd`` taken from ``stored`` (listings table rows: the latest
    price and its landed cost) where the price as of the night is still the stored one, since
    the estimate is of the latest price; <NA> elsewhere."""
    if stored.empty or "landed_usd" not in stored.columns:
        return state.assign(landed_usd=pd.Series(pd.NA, index=state.index, dtype="Int64"))
    latest = pd.DataFrame(
        {
            "source": stored["source"].astype(str),
            "listing_id": stored["listing_id"].astype(str),
            "_price": _num(stored["price_usd"]),
            "_basis": _col(stored, "price_basis").astype("object"),
            "_landed": _num(stored["landed_usd"]),
        }
    ).drop_duplicates(["source", "listing_id"])
    keys = pd.DataFrame(
        {"source": state["source"].astype(str), "listing_id": state["listing_id"].astype(str)}
    )
    found = keys.merge(latest, on=["source", "listing_id"], how="left").set_index(state.index)
    same = _flag(found["_price"].eq(_num(state["price_usd"]))) & _flag(
        found["_basis"].eq(_col(state, "price_basis").astype("object"))
    )
    return state.assign(landed_usd=found["_landed"].where(same, pd.NA).round().astype("Int64"))


def _notify_mode(config: Mapping[str, Any]) -> str:
    mode = str((config.get("notify") or {}).get("mode", NOTIFY_DEFAULTS["mode"]))
    if mode not in ("digest", "immediate"):
        raise AlertsConfigError(f"[notify] mode must be 'digest' or 'immediate', not {mode!r}")
    return mode


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def run_alerts(
    db_path: str | os.PathLike,
    *,
    as_of: dt.date | str,
    config: dict,
    dry_run: bool = False,
    digest_dir: Path | None = None,
    echo: Callable[[str], None] | None = None,
) -> AlertRun:
    """Raise the night's alerts from the database, deliver them, and record what happened.

    ``as_of`` is the night (a date or ISO string): the listings' state, the daily cap and the
    alerts' ``created_at`` are of that night, never the clock. ``dry_run`` reads only: it works
    out and echoes the alerts but records, sends and writes nothing. ``digest_dir`` receives
    ``alerts-<date>.md``; ``echo`` gets one line per alert and a summary line.

    Raises ``AlertsConfigError`` for a bad ``[alerts]``/``[notify]`` configuration and
    ``analysis.load.DatabaseMissing`` when there is no database.
    """
    say = echo or (lambda line: None)
    day = as_of_date(as_of)
    settings = alert_settings(config)
    mode = _notify_mode(config)
    channels = build_channels(notify_urls(config, os.environ))
    band_low = float((config.get("band") or {}).get("low", 5000))

    state = read_listings_as_of(db_path, day)
    if "landed_usd" not in state.columns:  # the as-of read does not carry the exporters' estimate
        exporters = read_listings(db_path, where="price_basis IN (?, ?, ?)", params=LANDED_BASES)
        state = with_landed_costs(state, exporters)
    scores = _score(state, day, config)
    history = _watched_history(db_path, state, settings, day)
    runs = read_runs(db_path)
    candidates = evaluate_rules(
        state, scores, history, runs, as_of=day, settings=settings, band_low=band_low
    )
    details = _details(state)

    with alert_store.alert_db(db_path, readonly=dry_run) as conn:
        memory = alert_store.read_alert_memory(conn)
        room = max(
            0, int(settings["daily_cap"]) - alert_store.count_raised_on(conn, day, CAPPED_KINDS)
        )
        chosen, deferred = select_alerts(
            candidates, memory, refire_drop_usd=settings["refire_drop_usd"], cap=room
        )
        raised = _records(chosen)
        for alert in raised:
            say(("would raise " if dry_run else "alert ") + _echo_line(alert))
        if deferred.shape[0]:
            logger.warning(
                "daily cap of %s reached: %d alert(s) wait for the next night",
                settings["daily_cap"],
                len(deferred),
            )
        if dry_run:
            say(
                f"alerts {day}: dry run, {len(raised)} would be raised, "
                f"{len(deferred)} held by the daily cap; nothing sent or recorded"
            )
            return AlertRun(raised, 0, 0, 0, None, len(deferred))

        names = [c.name for c in channels]
        retry = [
            {**_with_details(r, details), "retry_of": r["created_at"][:10]}
            for r in alert_store.read_undelivered(conn, names)
        ]
        orphaned = alert_store.count_orphaned(conn, names)
        if orphaned:
            logger.warning(
                "%d undelivered alert(s) belong to channels no longer configured", orphaned
            )
        if not channels:
            logger.info("no notification channels configured: alerts go to stdout and the digest")
            alert_store.record_alerts(
                conn,
                raised,
                [LOCAL_CHANNEL],
                created_at=alert_store.night_stamp(day),
                status="sent",
                sent_at=_utc_now(),
            )
            outcomes = []
        else:
            rows = alert_store.record_alerts(
                conn, raised, names, created_at=alert_store.night_stamp(day)
            )
            rows = retry + [{**raised[r["alert"]], **r} for r in rows]
            outcomes = deliver(channels, rows, mode=mode, day=day)
            alert_store.mark_delivery(conn, outcomes, at=_utc_now())
        digest_path = None
        if digest_dir is not None:
            night = [_with_details(a, details) for a in alert_store.read_alerts_on(conn, day)]
            digest_path = Path(digest_dir) / f"alerts-{day.isoformat()}.md"
            digest_path.parent.mkdir(parents=True, exist_ok=True)
            digest_path.write_text(render_digest(night, day=day), encoding="utf-8")

    sent = sum(1 for _, ok, _ in outcomes if ok)
    failed = len(outcomes) - sent
    retried_ids = {r["id"] for r in retry}
    retried = sum(1 for row_id, _, _ in outcomes if row_id in retried_ids)
    say(
        f"alerts {day}: {len(raised)} raised, {len(deferred)} held by the daily cap, "
        f"{sent} delivered, {failed} failed, {retried} retried"
        + (f"; digest {digest_path}" if digest_path else "")
    )
    return AlertRun(raised, sent, failed, retried, digest_path, len(deferred))


def _watched_history(
    db_path, state: pd.DataFrame, settings: Mapping[str, Any], day: dt.date
) -> pd.DataFrame:
    """History rows of every listing of a truck a price-drop search watches (reposts too)."""
    searches = _searches_for(settings, "price_drop")
    if not searches or state.empty:
        return pd.DataFrame()
    watched = np.zeros(len(state), dtype=bool)
    for search in searches:
        watched |= match_search(state, search).to_numpy()
    identities = set(_identity(state)[watched])
    trucks = state.loc[_identity(state).isin(identities)]
    keys = zip(trucks["source"].astype(str), trucks["listing_id"].astype(str), strict=True)
    return read_history_of(db_path, keys, day)


def _echo_line(alert: Mapping[str, Any]) -> str:
    price = f" {_usd(alert['price_usd'])}" if _present(alert.get("price_usd")) else ""
    where = (
        f"{alert['source']}:{alert['listing_id']}" if alert.get("listing_id") else alert["source"]
    )
    return f"{alert['kind']:<16} {where}{price}: {alert['reason']}"
