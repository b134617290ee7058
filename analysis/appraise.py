"""Appraise one truck from anywhere against the tracker's market: what it is, what it is worth,
whether the tracker would call it a deal, and what to ask the seller.

``appraise(listing, market, as_of=..., config=...)`` is pure: ``listing`` is one normalized
listing (raw fields with the normalizer's, e.g. ``pipelines.jsonl.normalize_record``'s output,
``landed_usd`` filled for an exporter's price by ``with_landed_usd``), ``market`` the tracker's
listings as of the day (``read_market``). It returns a plain dict (JSON-ready): the truck, its
flags, eligibility, landed cost, the buyer's state rule, the fair price with its comparables,
``deal`` and the reasons.

Nothing here judges a deal itself. The listing joins the market as one more active listing, the
report's ``analysis.deals.score_deals`` rates it against its comparables, and ``deal`` is True
exactly when the alerts' own rule (``analysis.alerts.rules.underpriced_4wd``, then the buyer's
road-status wish, ``analysis.alerts.run.with_buyer_rule``) raises an underpriced alert for it.
The reasons only explain, in words, which of the rule's requirements the truck misses.

The market is narrowed before scoring without changing the result: comparables are only ever
of the listing's own platform family and seen within ``recent_days``, so only those rows (and
the other rows of the same trucks) are scored.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import os
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from analysis import road_rules
from analysis.alerts.rules import underpriced_4wd
from analysis.alerts.run import with_buyer_rule, with_landed_costs
from analysis.alerts.settings import alert_settings
from analysis.appraise_card import FOUR_WD_NOT_WORKING
from analysis.appraise_questions import questions_for
from analysis.deals import TITLE_PROBLEMS, deal_settings, score_deals, trust_problems
from analysis.eligibility import NOW, eligibility_status
from analysis.identity import add_family, family_of
from analysis.load import as_of_date, read_listings, read_listings_as_of, read_model_names
from analysis.trends import band_of
from keitrucks.core import states
from pipelines.landed import (
    LANDED_BASES,
    LandedCostError,
    landed_cost,
    landed_inputs,
    landed_settings,
)
from pipelines.normalize.text import terms
from pipelines.schema import PRICE_LABELS

logger = logging.getLogger(__name__)

#: The source and id an appraised listing takes when it has none of its own.
PASTED_SOURCE = "pasted"
PASTED_ID = "appraised"
#: The normalizer's notes a buyer should read, in words.
NOTE_WORDS = {
    "year:outside_code_window": "the year is outside the production years of its chassis code",
    "year:implausible": "the year given is not a possible year",
    "price:monthly": "the price is a monthly payment, not the price",
    "price:down": "the price is a down payment or deposit, not the price",
    "price:on_request": "no price stated (call, ask or make an offer)",
    "price:placeholder": "the price is a placeholder ($1, $123 ...), not a price",
    "price:implausible": "the price is implausible for a kei truck",
    "price:ambiguous": "the listing names more than one price",
    "is_4wd:conflict": "the listing says both 2WD and 4WD",
    "is_4wd:not_working": FOUR_WD_NOT_WORKING,
    "mileage_mi:unit_conflict": "the mileage unit is unclear (km or miles)",
    "make:field_and_title_disagree": "the make field and the title disagree",
}
#: An eligibility basis in words.
BASIS_WORDS = {"model code window": "chassis code's production years"}
#: "title in hand", "have the title": the seller holds a title and names no brand (a title
#: status of its own would be a guess: clean, salvage or rebuilt are all held in hand).
TITLE_HELD = re.compile(terms("title_said"), re.IGNORECASE)
#: A listing whose own words say it is no longer for sale ("1996 Carry 4x4 $3,000 - SOLD"): it
#: is rated against the market (what it went for) but is never a deal.
GONE_WORDS = {
    "sold": "sold: the listing says it is sold",
    "ended": "the listing says the sale has ended",
}
EMPTY_MARKET = "the market is empty: no listings to compare with (run a crawl first)"
#: Hook for sellers' own claims ("street legal in TN"): the first of these fields a listing
#: carries is shown on the card as the seller's claim, never as the tracker's finding.
SELLER_CLAIM_FIELDS = ("road_claims", "road_claim", "seller_claims")


# -- the market ---------------------------------------------------------------------------------


def read_market(
    db_path: str | os.PathLike,
    as_of,
    config: Mapping | None = None,
    listing: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The tracker's listings as of ``as_of`` that can be comparables: those last seen within
    ``recent_days`` (and earlier reposts of the same trucks), with exporters' ``landed_usd``,
    as the nightly alerts read them. With ``listing``, only the listings of its platform family
    and model years within ``year_window`` are read (comparables never cross them; every
    listing of the same trucks comes too), which keeps one appraisal fast on a year of history.
    ``attrs["window_listings"]`` counts the listings of the window, every family. Raises
    ``analysis.load.DatabaseMissing`` when there is no database (or it is not the tracker's)."""
    day = as_of_date(as_of)
    recent = int(deal_settings(dict(config or {}))["recent_days"])
    since = day - dt.timedelta(days=recent + 1)
    models = codes = years = None
    names = read_model_names(db_path, since=since)
    if listing is not None:
        year, window = listing.get("year"), int(deal_settings(dict(config or {}))["year_window"])
        years = (int(year) - window, int(year) + window) if year is not None else (0, -1)
        family = family_of(listing.get("model"), listing.get("year"), listing.get("model_code"))
        families = [
            family_of(m, y, c) if family else None
            for m, y, c in zip(names["model"], names["year"], names["model_code"], strict=True)
        ]
        mine = names.loc[[f is not None and f == family for f in families]]
        models = {m for m in mine["model"] if isinstance(m, str)}
        codes = {
            c for m, c in zip(mine["model"], mine["model_code"], strict=True) if m is None and c
        }
    state = read_listings_as_of(db_path, day, since=since, models=models, codes=codes, years=years)
    if "landed_usd" not in state.columns:  # an older database: the stored estimates
        exporters = read_listings(
            db_path,
            where="price_basis IN (?, ?, ?) AND last_seen_at >= ?",
            params=(*LANDED_BASES, since.isoformat()),
        )
        state = with_landed_costs(state, exporters)
    state.attrs["window_listings"] = int(names["n"].sum())
    return state


def with_landed_usd(listing: Mapping[str, Any], config: Mapping | None) -> dict[str, Any]:
    """``listing`` with ``landed_usd`` (and ``landed`` the estimate's parts) for an exporter's
    FOB/C&F/CIF price, computed by the crawl's own landed-cost code; None otherwise."""
    out = dict(listing)
    out["landed_usd"], out["landed"] = None, None
    inputs = landed_inputs(out, landed_settings(config))
    day = _day_of(out.get("scraped_at"))
    if inputs is None or day is None:
        return out
    try:
        cost = landed_cost(
            inputs.price,
            inputs.currency,
            inputs.basis,
            observed_on=day,
            destination_port=inputs.destination_port,
            config=config,
            fob_price=inputs.fob_price,
            build_year=out.get("year"),
            kind=out.get("kind"),
        )
    except LandedCostError as exc:
        out["landed"] = {"total_usd": None, "problem": str(exc)}
        return out
    out["landed_usd"] = cost.total_usd
    out["landed"] = {
        "total_usd": cost.total_usd,
        "quoted": f"{PRICE_LABELS.get(inputs.basis, inputs.basis)} {inputs.price:,} "
        f"{inputs.currency}",
        "parts": [{"usd": p.amount_usd, "what": p.describe()} for p in cost.parts if p.included],
        "notes": list(cost.notes),
    }
    return out


def _day_of(value: Any) -> dt.date | None:
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        return None


# -- the appraisal ------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A JSON-ready value: None for NA/NaN, Python scalars for NumPy ones."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _subject_frame(listing: Mapping[str, Any], market: pd.DataFrame, day: dt.date):
    """The listing as one active row of the market (seen on ``day``), and the market without
    its own stored row (the same source and id: the stored copy is the same truck)."""
    source = str(listing.get("source") or PASTED_SOURCE)
    listing_id = str(listing.get("listing_id") or PASTED_ID)
    seen = pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=6)
    row = {c: listing.get(c) for c in market.columns if c in listing}
    row |= {
        "source": source,
        "listing_id": listing_id,
        "status": "active",
        "first_seen_at": seen,
        "last_seen_at": seen,
        "landed_usd": listing.get("landed_usd"),
        "identity": f"{source}:{listing_id}",
    }
    if not market.empty:
        same = (market["source"].astype(str) == source) & (
            market["listing_id"].astype(str) == listing_id
        )
        if same.any():
            stored = market.loc[same].iloc[0]
            if isinstance(stored.get("identity"), str):
                row["identity"] = stored["identity"]
            market = market.loc[~same]
    subject = pd.DataFrame([row])
    for name in subject.columns:
        if name in market.columns and subject[name].notna().any():
            with contextlib.suppress(TypeError, ValueError):
                subject[name] = subject[name].astype(market[name].dtype)
    return subject, market


def _narrow(market: pd.DataFrame, subject: pd.DataFrame) -> pd.DataFrame:
    """The market rows that can matter to the subject's score: its family (comparables never
    cross it) and every other row of the same trucks (one row per truck is kept)."""
    if market.empty:
        return market
    family = subject["family"].iloc[0]
    if family is None or pd.isna(family):
        return market.iloc[0:0]
    mine = market["family"].eq(family).fillna(False).to_numpy(dtype=bool, copy=True)
    identities = market.get("identity")
    if identities is not None:
        mine = mine | identities.isin(set(identities[mine].dropna())).to_numpy(dtype=bool)
    return market.loc[mine]


def appraise(
    listing: Mapping[str, Any],
    market: pd.DataFrame,
    *,
    as_of,
    config: Mapping | None = None,
    market_name: str | None = None,
) -> dict[str, Any]:
    """The appraisal of one normalized ``listing`` against ``market`` (``read_market``'s frame,
    empty when there is none) on the day ``as_of``; see the module docstring."""
    config = dict(config or {})
    day = as_of_date(as_of)
    settings = alert_settings(config)
    subject, rest = _subject_frame(listing, market, day)
    subject = add_family(subject)
    if not rest.empty and "family" not in rest.columns:
        rest = add_family(rest)
    frame = pd.concat([_narrow(rest, subject), subject], ignore_index=True)
    key = (subject["source"].iloc[0], subject["listing_id"].iloc[0])
    scores = score_deals(frame, as_of=day, config=config, only=[key])
    mine = scores.loc[
        (scores["source"].astype(str) == key[0]) & (scores["listing_id"].astype(str) == key[1])
    ]
    score = {k: _plain(v) for k, v in mine.iloc[0].items()} if not mine.empty else None
    me = frame.loc[
        (frame["source"].astype(str) == key[0]) & (frame["listing_id"].astype(str) == key[1])
    ]
    hits = underpriced_4wd(me, scores, settings=settings, band_low=float(band_of(config)[0]))
    hits = with_buyer_rule(hits, settings, config, day)
    deal = bool((hits["kind"] == "underpriced_4wd").any()) if not hits.empty else False
    if listing.get("status") in GONE_WORDS:  # scored as for sale above: what it went for
        deal = False
    problems = trust_problems(me).iloc[0]
    out = {
        "as_of": day.isoformat(),
        "truck": _truck(listing, score),
        "flags": {
            "runs": _plain(listing.get("runs")),
            "title_status": _plain(listing.get("title_status")),
            "title_held": _title_held(listing),
            "sale_pending": _plain(listing.get("sale_pending")),
            "status": _plain(listing.get("status")),
            "problems": problems or None,
        },
        "seller_claim": _seller_claim(listing),
        "eligibility": _eligibility(listing, day),
        "landed": listing.get("landed"),
        "road_rule": _road_rule(listing, config, day),
        "market": {
            "name": market_name,
            "listings": int(market.attrs.get("window_listings", len(market))),
            "family_listings": int(len(frame) - 1),
            "recent_days": int(deal_settings(config)["recent_days"]),
        },
        "fair_price": _fair(score),
        "comparables": _comparables(score, frame),
        "deal": deal,
        "alert": hits.iloc[0]["reason"] if deal else None,
        "reasons": [] if deal else _reasons(listing, score, problems, settings, config, day),
        "questions": questions_for(listing),
        "notes": [NOTE_WORDS.get(n, n) for n in listing.get("normalize_notes") or ()],
    }
    if out["market"]["listings"] == 0:
        out["market"]["empty"] = EMPTY_MARKET
        if not deal:
            out["reasons"].insert(0, EMPTY_MARKET)
    return out


def _truck(listing: Mapping[str, Any], score: Mapping[str, Any] | None) -> dict[str, Any]:
    basis = listing.get("price_basis")
    fields = (
        "title",
        "source",
        "url",
        "kind",
        "make",
        "model",
        "model_code",
        "year",
        "build_month",
        "date_basis",
        "is_4wd",
        "transmission",
        "engine_cc",
        "body",
        "cab",
        "mileage_mi",
        "price",
        "currency",
        "price_usd",
        "price_basis",
        "location_raw",
        "state",
    )
    out = {name: _plain(listing.get(name)) for name in fields}
    out["price_label"] = PRICE_LABELS.get(basis) if isinstance(basis, str) else None
    out["family"] = score.get("family") if score else None
    return out


def _title_held(listing: Mapping[str, Any]) -> bool | None:
    """True when the ad says the seller holds the title but names no title status."""
    if listing.get("title_status"):
        return None
    text = " ".join(str(listing.get(k) or "") for k in ("title", "description"))
    return True if TITLE_HELD.search(text) else None


def _seller_claim(listing: Mapping[str, Any]) -> Any:
    for name in SELLER_CLAIM_FIELDS:
        value = listing.get(name)
        if value:
            return value
    return None


def _eligibility(listing: Mapping[str, Any], day: dt.date) -> dict[str, Any]:
    eligible_from = listing.get("eligible_from")
    status = eligibility_status(eligible_from, day)
    if status == NOW:
        words = f"eligible for US import since {eligible_from} (25 years)"
    elif status:
        words = f"not eligible for US import until {status} (25 years)"
    elif listing.get("eligible_25y") is not None:  # dated by its chassis code's years
        basis = str(listing.get("eligibility_basis") or "").replace("_", " ")
        basis = BASIS_WORDS.get(basis, basis)
        yes = listing.get("eligible_25y") is True
        words = f"{'eligible' if yes else 'not eligible'} for US import (25 years) by its {basis}"
    else:
        words = "unknown: no build year or chassis code to date it"
    return {
        "eligible_25y": _plain(listing.get("eligible_25y")),
        "eligible_from": eligible_from,
        "basis": listing.get("eligibility_basis"),
        "words": words,
    }


def _road_rule(listing: Mapping[str, Any], config: Mapping, day: dt.date) -> dict | None:
    """The buyer's state's rule (``[buyer] state``), else the seller's state's, labelled so."""
    view = road_rules.buyer_view(config, day)
    whose = "your state"
    if view is None:
        buyer = config.get("buyer") or {}
        view = states.rule_for(
            listing.get("state"), today=day, overrides=buyer.get("rule_overrides") or ()
        )
        whose = "the seller's state"
    if view is None:
        return None
    rule = view.rule
    return {
        "whose": whose,
        "state": rule.state,
        "road_status": rule.road_status,
        "words": view.words,
        "road_use": view.road_use,
        "limit": view.limit,
        "source_date": rule.source_date,
        "source_type": rule.source_type,
        "confidence": rule.confidence,
        "source_url": rule.source_url,
        "cautions": list(view.cautions),
        "line": road_rules.rule_line(view, whose=whose),
    }


def _fair(score: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if score is None:
        return None
    names = (
        "rated",
        "fair_price_usd",
        "value_usd",
        "price_label",
        "basis",
        "discount_pct",
        "n_comparables",
        "comparables_median_usd",
        "comparables_low_usd",
        "comparables_high_usd",
        "why",
    )
    return {name: score.get(name) for name in names}


def _comparables(score: Mapping[str, Any] | None, frame: pd.DataFrame) -> list[dict[str, Any]]:
    keys = list((score or {}).get("comparables") or [])
    if not keys:
        return []
    index = frame["source"].astype(str) + ":" + frame["listing_id"].astype(str)
    rows = frame.assign(_key=index).drop_duplicates("_key").set_index("_key")
    out = []
    for key in keys:
        if key not in rows.index:
            continue
        row = rows.loc[key]
        seen = row.get("last_seen_at")
        out.append(
            {
                "source": str(row["source"]),
                "listing_id": str(row["listing_id"]),
                "url": _plain(row.get("url")),
                "title": _plain(row.get("title")),
                "model": _plain(row.get("model")),
                "year": _plain(row.get("year")),
                "is_4wd": _plain(row.get("is_4wd")),
                "mileage_mi": _plain(row.get("mileage_mi")),
                "price_usd": _plain(row.get("price_usd")),
                "price_label": PRICE_LABELS.get(row.get("price_basis"), row.get("price_basis")),
                "status": _plain(row.get("status")),
                "seen": None if pd.isna(seen) else pd.Timestamp(seen).date().isoformat(),
            }
        )
    return out


def _problem_words(problem: str) -> str:
    if problem == "other vehicle":
        return "not a Japanese kei truck (another vehicle or a clone)"
    if problem == "kind unknown":
        return "not recognisably a kei truck (no make or model the tracker knows)"
    return problem


def _reasons(
    listing: Mapping[str, Any],
    score: Mapping[str, Any] | None,
    problems: str,
    settings: Mapping[str, Any],
    config: Mapping,
    day: dt.date,
) -> list[str]:
    """Why the truck is not a deal, in the order a buyer cares: what it is, its condition, its
    price, its market. Words only: the verdict is the alert rule's."""
    reasons = [GONE_WORDS[s] for s in [listing.get("status")] if s in GONE_WORDS]
    if listing.get("kind") not in ("kei_truck", "kei_van"):
        return reasons + [_problem_words(p) for p in (problems or "kind unknown").split("; ")]
    for problem in filter(None, (problems or "").split("; ")):
        reasons.append(_problem_words(problem))
    title = listing.get("title_status")
    if title in TITLE_PROBLEMS and TITLE_PROBLEMS[title] not in reasons:
        reasons.append(TITLE_PROBLEMS[title])
    for note in listing.get("normalize_notes") or ():
        if note.startswith(("year:", "is_4wd:", "price:")):
            reasons.append(NOTE_WORDS.get(note, note))
    if listing.get("is_4wd") is not True:
        if listing.get("is_4wd") is False:
            reasons.append("2WD: the underpriced alert is for 4WD trucks")
        elif "is_4wd:not_working" not in (listing.get("normalize_notes") or ()):  # said above
            reasons.append("drive not stated: the underpriced alert is for 4WD trucks")
    basis = listing.get("price_basis")
    if listing.get("price_usd") is None:
        reasons.append("no price")
    elif basis is None:
        reasons.append(
            "a price whose terms are not stated (a yen price: ask whether it is FOB, C&F or CIF)"
            if listing.get("currency") == "JPY"
            else "a price whose terms are not stated"
        )
    elif basis not in settings["underpriced_bases"]:
        reasons.append(f"a {PRICE_LABELS.get(basis, basis)} price is not an asking price")
    if basis in LANDED_BASES and listing.get("eligible_25y") is not True:
        reasons.append("an exporter's truck not yet 25 years old (or undated) cannot be imported")
    if listing.get("year") is None:
        reasons.append("no year: it cannot be compared with like trucks")
    if listing.get("eligible_25y") is not True and basis not in LANDED_BASES:
        reasons.append(f"import eligibility: {_eligibility(listing, day)['words']}")
    if score is not None and basis is not None:
        if not score.get("rated"):
            reasons.append(str(score.get("why")))
        elif (score.get("discount_pct") or 0) < settings["underpriced_pct"]:
            reasons.append(
                f"{score['why']}: the alert needs {settings['underpriced_pct']}% under"
                if (score.get("discount_pct") or 0) >= 0
                else str(score["why"])
            )
    if not road_rules.road_use_allowed(settings["road_status"], config, day):
        wanted = ", ".join(settings["road_status"])
        reasons.append(
            f"your state's road rule is not one you asked for ([alerts] road_status: {wanted})"
        )
    return list(dict.fromkeys(r for r in reasons if r))
