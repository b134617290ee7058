"""``analysis.report.compute_report`` over the reference modules of this package."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from analysis import freshness, report, road_rules
from analysis.eligibility import eligibility_upcoming
from report_reference import load
from report_reference.deals import score_deals
from report_reference.identity import add_family, assign_truck_ids
from report_reference.sold import ended_lids, infer_sold, truck_lids
from report_reference.trends import band_of, band_summary, price_trends


def compute_report(db_path, *, as_of, config: dict) -> report.ReportData:
    day = load.as_of_date(as_of)
    weeks = int(config.get("report", {}).get("weeks", report.DEFAULT_WEEKS))
    start = report.window_start(day, weeks)
    since = start - dt.timedelta(days=report.MARGIN_DAYS)
    listings = load.read_listings_as_of(db_path, day, since=since)
    listings = assign_truck_ids(add_family(listings))
    history = load.read_history_window(db_path, start, day)
    ended = truck_lids(listings, ended_lids(history, start=start, as_of=day))
    older = listings.loc[
        np.isin(listings["lid"].to_numpy(), ended)
        & (listings["first_seen_at"] < pd.Timestamp(start, tz="UTC")).to_numpy(),
        "lid",
    ]
    ended_history = pd.concat(
        [
            load.read_history_of_lids(db_path, older, before=start),
            history.loc[~history["before"] & np.isin(history["lid"].to_numpy(), ended)].drop(
                columns="before"
            ),
        ],
        ignore_index=True,
    ).sort_values(["lid", "observed_at", "id"], kind="stable")
    deals = score_deals(listings, as_of=day, config=config)
    return report.ReportData(
        as_of=day,
        start=start,
        band=band_of(config),
        listings=listings,
        trends=price_trends(listings, history, start=start, as_of=day, config=config),
        band_summary=band_summary(listings, as_of=day, config=config),
        deals=deals,
        sold=infer_sold(listings, ended_history, start=start, as_of=day),
        eligibility=eligibility_upcoming(listings, as_of=day),
        changes=report.night_changes(listings, history, as_of=day),
        night=report._last_night(history, day),
        road_rule=road_rules.buyer_view(config, day),
        by_state=road_rules.state_counts(listings, config, day),
        sparklines=report.deal_sparklines(report.shown_deals(deals), listings, history, start, day),
        links=bool(config.get("report", {}).get("links", True)),
        fresh=freshness.freshness(load.read_runs_until(db_path, day), day),
    )
