"""The nightly report: CSV files, PNG charts and one self-contained HTML page, per as-of date.

``write_report(db, out, as_of=...)`` writes into ``out/<YYYY-MM-DD>/``:

- ``price_trends.csv`` (``analysis.trends.TREND_COLUMNS``), ``band_summary.csv``
  (``BAND_COLUMNS``), ``deals.csv`` (``analysis.deals.DEAL_COLUMNS``, comparables separated by
  spaces), ``sold.csv`` (``analysis.sold.SOLD_COLUMNS``), ``eligibility_upcoming.csv``
  (``analysis.eligibility.ELIGIBILITY_COLUMNS``): UTF-8, header row, empty cell = unknown;
- ``trend_asking.png``, ``band_share.png``, ``eligibility.png`` and ``states_map.png`` (the
  active trucks per seller state on a tile-grid map of the US);
- ``report.html``: headline numbers, the charts (embedded as base64), the best deals with
  links, and what changed on the night; every scraped text is HTML-escaped, and only http(s)
  links are made clickable.

Only history observed by the end of ``as_of`` is used, so the report of any past night can be
regenerated. The trends cover the last ``[report] weeks`` ISO weeks (default 26).
"""

from __future__ import annotations

import base64
import copy
import ctypes
import datetime as dt
import functools
import html
import logging
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import freshness, load, report_csv, road_rules
from analysis.ad_says import condition_words
from analysis.deals import LANDED, buyable, project_trucks, score_deals, spread_text
from analysis.eligibility import NOW, eligibility_upcoming, upcoming_counts
from analysis.frames import column, flag, num
from analysis.identity import add_family, assign_truck_ids
from analysis.sold import ended_lids, infer_sold, likely_ended, truck_lids
from analysis.trends import SERIES_BY_BASIS, band_of, band_summary, describe, price_trends
from keitrucks.core import tables
from pipelines.schema import PRICE_LABELS

logger = logging.getLogger(__name__)

DEFAULT_WEEKS = 26
#: Listings last seen this many days before the window still matter (gone inside it).
MARGIN_DAYS = 14
#: A trend series in words, from the bases it gathers, e.g. "Japan C&F / Japan CIF".
SERIES_LABELS = {
    series: " / ".join(PRICE_LABELS[b] for b, s in SERIES_BY_BASIS.items() if s == series)
    for series in dict.fromkeys(SERIES_BY_BASIS.values())
}
CSV_FILES = (
    "price_trends.csv",
    "band_summary.csv",
    "deals.csv",
    "sold.csv",
    "eligibility_upcoming.csv",
)


@dataclass
class ReportResult:
    #: the dated folder ``out_dir/<YYYY-MM-DD>/``.
    folder: Path
    files: list[Path] = field(default_factory=list)
    #: headline numbers (as in the HTML page), for callers that print a summary.
    headline: dict[str, Any] = field(default_factory=dict)
    #: the deal scores of the report (``analysis.deals.score_deals``), for the database.
    deals: pd.DataFrame | None = None
    #: -- freshness banner: its sentences, for callers to warn with ([] when fresh).
    warnings: list[str] = field(default_factory=list)


@dataclass
class ReportData:
    """Everything the report shows, computed from the database as of one date."""

    as_of: dt.date
    start: dt.date
    band: tuple[int, int]
    listings: pd.DataFrame
    trends: pd.DataFrame
    band_summary: pd.DataFrame
    deals: pd.DataFrame
    sold: pd.DataFrame
    eligibility: pd.DataFrame
    changes: pd.DataFrame
    night: dt.date | None
    #: the buyer's state's road rule (None without [buyer] state) and trucks by seller state.
    road_rule: Any = None
    by_state: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: "source:listing_id" -> SVG of its price over the window, for the deals shown.
    sparklines: dict[str, str] = field(default_factory=dict)
    #: False where the listings' pages are not worth a link (the demo's sample marketplace,
    #: gone with the demo's local server): titles are shown as text. ``[report] links``.
    links: bool = True
    #: -- freshness banner: which sources failed on the last night, or no crawl since
    #: (``analysis.freshness``); None: not computed.
    fresh: freshness.Freshness | None = None


def window_start(as_of, weeks: int) -> dt.date:
    """The Monday ``weeks - 1`` weeks before the week of ``as_of``."""
    day = load.as_of_date(as_of)
    monday = day - dt.timedelta(days=day.weekday())
    return monday - dt.timedelta(weeks=max(weeks, 1) - 1)


def compute_report(db_path: str | os.PathLike, *, as_of, config: dict | None = None) -> ReportData:
    """Read what the report needs (narrowly) and compute every table."""
    config = config if config is not None else _default_config()
    day = load.as_of_date(as_of)
    weeks = int(config.get("report", {}).get("weeks", DEFAULT_WEEKS))
    start = window_start(day, weeks)
    since = start - dt.timedelta(days=MARGIN_DAYS)
    listings, history, before = _read_listings_and_history(db_path, day, since=since, start=start)
    _release_freed_memory()  # the reads' rows, 80 MB at 1M rows
    # memory: the trends (the largest working set) run first, while only the listings and the
    # history are held; the history goes before the sold trucks (the next largest) are worked
    trends, summary = _trends(listings, history, start=start, day=day, config=config)
    deals = score_deals(listings, as_of=day, config=config)
    shown = deal_listings(shown_deals(deals), listings)
    # the shown deals' rows kept for their sparklines, drawn last: with matplotlib (30 MB)
    shown_history = history.loc[history["lid"].isin(shown["lid"])]
    changes = night_changes(listings, history, as_of=day)
    night = _last_night(history, day)
    ended_history = _ended_history(db_path, listings, history, start=start, day=day, read=before)
    del history
    _release_freed_memory()
    sold = infer_sold(listings, ended_history, start=start, as_of=day)
    del ended_history
    _release_freed_memory()  # the sold trucks' working set, before sparklines and tables
    sparklines = deal_sparklines(shown, shown_history, start, day)
    return ReportData(
        as_of=day,
        start=start,
        band=band_of(config),
        listings=listings,
        trends=trends,
        band_summary=summary,
        deals=deals,
        sold=sold,
        eligibility=eligibility_upcoming(listings, as_of=day),
        changes=changes,
        night=night,
        road_rule=road_rules.buyer_view(config, day),
        by_state=road_rules.state_counts(listings, config, day),
        sparklines=sparklines,
        links=bool(config.get("report", {}).get("links", True)),
        fresh=freshness.freshness(load.read_runs_until(db_path, day), day),  # freshness banner
    )


@dataclass(frozen=True)
class _RowsBefore:
    """History rows before the window (``read_history_of_lids``) of the listings ``lids``."""

    lids: np.ndarray
    rows: pd.DataFrame


def _read_listings_and_history(
    db_path: str | os.PathLike, day: dt.date, *, since: dt.date, start: dt.date
) -> tuple[pd.DataFrame, pd.DataFrame, _RowsBefore | None]:
    """The listings as of ``day`` seen since ``since``, described and paired into trucks, the
    history window from ``start``, and the rows before the window of the listings that likely
    left the market (``likely_ended``; None when not read).

    Through the Arrow driver, the history window is read in a thread meanwhile: the reads
    spend their time in the driver's C code, which lets the GIL go (``load`` keeps them on
    one copy of SQLite). The rows before the window, which the sold trucks need, are read
    after the listings while the window is still being read: on four years of history the
    window's read is the longer (1.7 s against 0.4 s at 10M rows), and they took 1 s after it.
    Through sqlite3 the reads would mostly wait for each other (Python objects of every value)
    and hold their rows at once (90 MB more at 1M rows): one after the other, and the rows
    before the window only when known to be needed. An error of any read is raised here as the
    read raised it."""

    def trucks() -> pd.DataFrame:
        return assign_truck_ids(add_family(load.read_listings_as_of(db_path, day, since=since)))

    if not load.reads_by_driver(db_path):
        return trucks(), load.read_history_window(db_path, start, day), None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="history-read") as reader:
        reading = reader.submit(load.read_history_window, db_path, start, day)
        listings = trucks()
        lids = likely_ended(listings, start=start)
        before = None
        if lids.size:
            before = _RowsBefore(lids, load.read_history_of_lids(db_path, lids, before=start))
        return listings, reading.result(), before


def _ended_history(
    db_path: str | os.PathLike,
    listings: pd.DataFrame,
    history: pd.DataFrame,
    *,
    start: dt.date,
    day: dt.date,
    read: _RowsBefore | None = None,
) -> pd.DataFrame:
    """Every history row by the end of ``day`` of the trucks that left the market in the
    window (``infer_sold``'s input), sorted by lid, observed_at and id. The window's rows are
    taken from ``history``; earlier rows, for listings first seen before it, from ``read``
    where it has them, else read now."""
    ended = truck_lids(listings, ended_lids(history, start=start, as_of=day))
    older = listings.loc[
        np.isin(listings["lid"].to_numpy(), ended)
        & (listings["first_seen_at"] < pd.Timestamp(start, tz="UTC")).to_numpy(),
        "lid",
    ]
    inside = np.flatnonzero(
        ~history["before"].to_numpy() & np.isin(history["lid"].to_numpy(), ended)
    )
    window = history.iloc[inside].drop(columns="before")
    if older.empty:  # the whole life of every ended truck is inside the window
        return _in_time_order(window.reset_index(drop=True))
    earlier = _rows_before(db_path, older.to_numpy(), start, read)
    return _in_time_order(pd.concat(_same_words([earlier, window]), ignore_index=True))


def _rows_before(
    db_path: str | os.PathLike, lids: np.ndarray, start: dt.date, read: _RowsBefore | None
) -> pd.DataFrame:
    """``load.read_history_of_lids(db_path, lids, before=start)``, its rows taken from ``read``
    for the listings it read, the others read now."""
    if read is None:
        return load.read_history_of_lids(db_path, lids, before=start)
    mine = read.rows.iloc[np.flatnonzero(np.isin(read.rows["lid"].to_numpy(), lids))]
    missing = np.setdiff1d(lids, read.lids)
    if not missing.size:
        return mine.reset_index(drop=True)
    more = load.read_history_of_lids(db_path, missing, before=start)
    both = pd.concat(_same_words([mine, more]), ignore_index=True)
    # in the read's order, by listing, then time, then id
    order = np.lexsort(
        (both["id"].to_numpy(), both["observed_at"].array.asi8, both["lid"].to_numpy())
    )
    return both.iloc[order].reset_index(drop=True)


def _same_words(parts: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """History reads whose word columns are categoricals over the words of them all, so that
    ``pd.concat`` keeps them categoricals (it makes objects of categoricals over different
    words: 20 MB instead of 2.5 for 800k rows)."""
    for name in ("event", "price_basis", "status"):
        if all(isinstance(part[name].dtype, pd.CategoricalDtype) for part in parts):
            words = parts[0][name].cat.categories
            for part in parts[1:]:
                words = words.append(part[name].cat.categories.difference(words))
            parts = [part.assign(**{name: part[name].cat.set_categories(words)}) for part in parts]
    return parts


def _trends(
    listings: pd.DataFrame, history: pd.DataFrame, *, start: dt.date, day: dt.date, config: dict
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The price trends and band summary, their trucks described once (and let go before the
    sold trucks are worked out, the report's peak of memory)."""
    labels = describe(listings)
    trends = price_trends(listings, history, start=start, as_of=day, config=config, labels=labels)
    return trends, band_summary(listings, as_of=day, config=config, labels=labels)


def _release_freed_memory() -> None:
    """Give the memory of the frames just let go back to the system. glibc keeps the freed
    blocks of its heap for reuse, and they count in the process's memory (240 MB of them after
    ``compute_report`` at 1M history rows) while new large arrays are mapped apart from them.
    A few milliseconds; nothing off glibc."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, None where the C library has none (macOS, Windows, musl)."""
    try:
        return ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError, TypeError):
        return None


def _in_time_order(history: pd.DataFrame) -> pd.DataFrame:
    """``history`` sorted by lid, observed_at and id (stable, index kept, as ``sort_values``).
    The rows of the window come in that order already: then the sort is skipped."""
    keys = [history["lid"].to_numpy(), history["observed_at"].array.asi8, history["id"].to_numpy()]
    later = np.ones(max(len(history) - 1, 0), dtype=bool)  # each row after the one before it
    equal = np.ones_like(later)
    for key in keys:
        later &= ~equal | (key[1:] >= key[:-1])
        equal &= key[1:] == key[:-1]
    if later.all():
        return history
    return history.take(np.lexsort(keys[::-1]))


def deal_listings(deals: pd.DataFrame, listings: pd.DataFrame) -> pd.DataFrame:
    """lid, source and listing_id of the listings of ``deals``."""
    keys = deals["source"].astype(str) + ":" + deals["listing_id"].astype(str)
    # keys built only for the listings with a deal's listing_id, not for every listing
    maybe = listings.loc[
        listings["listing_id"].isin(deals["listing_id"]), ["lid", "source", "listing_id"]
    ]
    return maybe.loc[
        (maybe["source"].astype(str) + ":" + maybe["listing_id"].astype(str)).isin(keys)
    ]


def deal_sparklines(
    lids: pd.DataFrame, history: pd.DataFrame, start: dt.date, day: dt.date
) -> dict[str, str]:
    """ "source:listing_id" -> the SVG sparkline of the price of each listing of ``lids``
    (``deal_listings``) from ``start`` (the trends' window) to ``day``, from its ``history``
    rows; a price from before the window counts from ``start``."""
    from analysis import charts  # matplotlib (30 MB) loaded once the frames are made

    rows = history.loc[history["lid"].isin(lids["lid"]), ["lid", "observed_at", "price_usd"]]
    by_lid = dict(tuple(rows.groupby("lid", sort=False)))  # grouped once, not masked per deal
    out = {}
    for lid, source, listing_id in lids.itertuples(index=False):
        mine = by_lid.get(lid, rows.iloc[:0])
        points = [
            (max(when.date(), start), float(price))
            for when, price in zip(mine["observed_at"], mine["price_usd"], strict=True)
            if not pd.isna(price)
        ]
        out[f"{source}:{listing_id}"] = charts.sparkline_svg(points, day, since=start)
    return out


def shown_start(data: ReportData) -> str:
    """The first week the trends show data for ("the week of 2026-06-01"), not the window's
    start: a database younger than the window starts later. "no data yet" without a week."""
    weeks = data.trends["week_start"].dropna() if "week_start" in data.trends else []
    if len(weeks) == 0:
        return "no data yet"
    return f"the week of {str(min(weeks))[:10]}"


def for_sale(listings: pd.DataFrame) -> pd.Series:
    """True for each listing for sale as of the report: ``pipelines.schema.FOR_SALE_WHERE``
    (the ``for_sale`` view) on the as-of listings. Active, a kei truck a buyer can take at its
    price (``analysis.deals.buyable``), with a US price: a US asking price, or an importable
    exporter's truck with its landed cost."""
    if listings.empty:
        return pd.Series(False, index=listings.index, dtype=bool)
    basis = column(listings, "price_basis")
    asking = flag(basis.eq("asking")) & num(column(listings, "price_usd")).notna()
    landed = (
        basis.isin(("fob", "cnf", "cif"))
        & flag(column(listings, "eligible_25y").eq(True))
        & num(column(listings, "landed_usd")).notna()
    )
    active = flag(column(listings, "status").eq("active"))
    return (active & buyable(listings) & flag(asking | landed)).astype(bool)


def _default_config() -> dict:
    from keitrucks.core.config import DEFAULT_CONFIG

    return copy.deepcopy(DEFAULT_CONFIG)


def _last_night(history: pd.DataFrame, day: dt.date) -> dt.date | None:
    seen = history.loc[~history["before"], "observed_at"]
    seen = seen.loc[seen < load.as_of_end(day)]
    return None if seen.empty else seen.max().date()


#: The columns of the "what changed" table, in order.
CHANGE_COLUMNS = (
    "change",
    "source",
    "listing_id",
    "title",
    "model",
    "year",
    "is_4wd",
    "old_price_usd",
    "price_usd",
    "price_basis",
    "url",
    "days_listed",
)
#: Changes that take a listing off the market: shown with its last price and how long it was
#: listed ("sold after 34 days").
LEFT_MARKET = ("sold", "ended", "gone")
CHANGE_ORDER = ("new", "price_drop", "price_rise", "relisted", "sold", "ended", "gone")


def night_changes(listings: pd.DataFrame, history: pd.DataFrame, *, as_of) -> pd.DataFrame:
    """What changed on the last night with history by ``as_of`` (``CHANGE_COLUMNS``): new
    listings, price drops and rises (with the old price), relists, sold, ended and gone."""
    night = _last_night(history, load.as_of_date(as_of))
    if night is None:
        return pd.DataFrame({c: pd.Series([], dtype="object") for c in CHANGE_COLUMNS})
    begin = pd.Timestamp(night, tz="UTC")
    tonight = (history["observed_at"] >= begin).to_numpy() & ~history["before"].to_numpy()
    # each row of the night beside the row before it (of the same listing, else unknown)
    at = np.flatnonzero(tonight)
    lid = history["lid"].to_numpy()
    same = (at > 0) & (lid[at] == lid[np.maximum(at - 1, 0)])
    rows = history.iloc[at]
    before = history.iloc[np.maximum(at - 1, 0)].set_axis(rows.index)
    old = before["price_usd"].astype("Float64").where(same)
    # a sold page often shows no price: its basis is the one of the price it was listed at
    basis = rows["price_basis"].astype("object")
    basis = basis.where(basis.notna(), before["price_basis"].astype("object").where(same))
    rows = rows.assign(old_price_usd=old, price_basis=basis)
    change = rows["event"].astype("object").copy()
    price_change = (rows["event"] == "price_change").to_numpy()
    lower = (rows["price_usd"] < rows["old_price_usd"]).fillna(False).to_numpy()
    change[price_change & lower] = "price_drop"
    change[price_change & ~lower] = "price_rise"
    status_change = (rows["event"] == "status_change").to_numpy()
    change[status_change] = rows.loc[status_change, "status"].astype("object")
    rows = rows.assign(change=change, old_price_usd=rows["old_price_usd"].round().astype("Int64"))
    info = ["lid", "source", "listing_id", "title", "model", "year", "is_4wd", "url"]
    out = rows.merge(listings[[*info, "first_seen_at"]], on="lid", how="inner")
    first = out["first_seen_at"].dt.tz_convert("UTC").dt.normalize().dt.tz_localize(None)
    # up to the night (pinned by the frames' golden files); the page counts a truck that left
    # as "Recently sold" does, first to last sighting (``days_seen``)
    out["days_listed"] = (pd.Timestamp(night) - first).dt.days.astype("Int64")
    order = {c: i for i, c in enumerate(CHANGE_ORDER)}
    out = out.assign(_o=out["change"].map(order).fillna(len(order)))
    return (
        out.sort_values(["_o", "source", "listing_id"], kind="stable")
        .loc[:, list(CHANGE_COLUMNS)]
        .reset_index(drop=True)
    )


def headline_numbers(data: ReportData) -> dict[str, Any]:
    """The few numbers at the top of the page."""
    band = data.band_summary
    overall = band.loc[
        (band["series"] == "asking") & (band["family"] == "all") & (band["drive"] == "all")
    ]
    four = band.loc[
        (band["series"] == "asking") & (band["family"] == "all") & (band["drive"] == "4WD")
    ]
    changes = data.changes["change"].value_counts()
    rated = data.deals.loc[data.deals["rated"]]
    selling = for_sale(data.listings)
    return {
        "trucks_for_sale": int(selling.sum()),
        "for_sale_4wd": int((selling & flag(column(data.listings, "is_4wd").eq(True))).sum()),
        "trucks_asking": int(overall["listings"].iloc[0]) if not overall.empty else 0,
        "trucks_4wd": int(four["listings"].iloc[0]) if not four.empty else 0,
        "median_asking_usd": _maybe_int(overall["median_usd"].iloc[0])
        if not overall.empty
        else None,
        "share_in_band": _maybe_float(overall["share_in"].iloc[0]) if not overall.empty else None,
        "new": int(changes.get("new", 0)),
        "price_drops": int(changes.get("price_drop", 0)),
        "gone": int(changes.get("gone", 0)),
        "sold": int(changes.get("sold", 0)),
        "deals_15pct": int((rated["discount_pct"] >= 15).sum()),
        "sold_or_delisted": len(data.sold),
        "eligible_now": int((data.eligibility["month"] == "now").sum()),
        "eligible_next_12_months": int((data.eligibility["month"] != "now").sum()),
    }


def _maybe_int(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _maybe_float(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


#: Columns a phone shows first in each row's card, after the row's first cell: a price next to
#: what it is (an exporter's landed cost, a FOB price), then the verdict and what the ad says
#: of the truck (runs, title, odometer: "not stated" is a question to ask).
CARD_FIRST = (
    "Price",
    "Price is",
    "Quoted",
    "Fair price",
    "Under",
    "Ad says",
    "Was",
    "Now",
    "Problem",
)

#: The eligibility chart, shown in its own section rather than with the trends.
ELIGIBILITY_PNG = "eligibility.png"
STATES_PNG = "states_map.png"
#: The map's words for screen readers (the table below it holds the same numbers).
STATES_ALT = (
    "Map of the US, one square per state, darker for more kei trucks for sale there; "
    "the table below lists the same counts"
)


def source_name(source: str | None) -> str:
    """A source's display name ("BE FORWARD") instead of its id ("beforward")."""
    return tables.source_names().get(source or "", source or "")


#: The steps of ``write_report``, in order, as ``step`` hears of them (a progress bar's labels).
REPORT_STEPS = ("reading the history", "drawing the charts", "writing HTML", "writing the tables")


def write_report(
    db_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    as_of: dt.date | str,
    config: dict | None = None,
    step: Callable[[int, str], Any] | None = None,
) -> ReportResult:
    """Compute the report of ``as_of`` from the database and write it to ``out_dir/<date>/``.

    ``step(index, name)`` hears of each step of :data:`REPORT_STEPS` as it starts, and
    ``step(len(REPORT_STEPS), "done")`` at the end. Raises ``analysis.load.DatabaseMissing``
    when the database does not exist.
    """
    step = step or (lambda index, name: None)
    step(0, REPORT_STEPS[0])
    data = compute_report(db_path, as_of=as_of, config=config)
    _release_freed_memory()  # what computing let go: the charts and page work above it
    folder = Path(out_dir) / data.as_of.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    step(1, REPORT_STEPS[1])
    from analysis import charts  # matplotlib (30 MB) loaded once the frames are made

    share, share_phone = charts.band_share_charts(data.trends, data.band, widths=(8, 5))
    phone = {
        "trend_asking.png": charts.trend_chart(data.trends, data.band, columns=1),
        "band_share.png": share_phone,
    }
    pngs = {
        "trend_asking.png": charts.trend_chart(data.trends, data.band),
        "band_share.png": share,
        ELIGIBILITY_PNG: charts.eligibility_chart(
            upcoming_counts(data.eligibility, as_of=data.as_of)
        ),
        STATES_PNG: charts.states_map(data.by_state, buyer_state=_buyer_state(data)),
    }
    images = []
    for name, png in pngs.items():
        (folder / name).write_bytes(png)
        images.append(folder / name)
    step(2, REPORT_STEPS[2])
    numbers = headline_numbers(data)
    page = render_html(data, numbers, pngs, phone)
    (folder / "report.html").write_text(page, encoding="utf-8")
    # memory: only the page reads the listings (190 MB at 1M rows): the CSV files come after
    # it, without them
    data = replace(data, listings=data.listings.iloc[:0])
    _release_freed_memory()
    tables = []
    step(3, REPORT_STEPS[3])
    for name, frame in _csv_frames(data):
        path = folder / name
        _write_csv(frame, path)
        tables.append(path)
        del frame
        _release_freed_memory()  # one file's cells at a time: sold.csv's alone are 80 MB
    files = [*tables, *images, folder / "report.html"]
    step(len(REPORT_STEPS), "done")
    logger.info("report for %s written to %s", data.as_of, folder)
    warnings = freshness.warnings(data.fresh) if data.fresh else []  # freshness banner
    return ReportResult(
        folder=folder, files=files, headline=numbers, deals=data.deals, warnings=warnings
    )


def _csv_frames(data: ReportData) -> Iterator[tuple[str, pd.DataFrame]]:
    """(file name, frame) of each report CSV (``CSV_FILES``), labelled (``with_price_label``),
    made one at a time as they are written."""
    yield "price_trends.csv", with_price_label(data.trends)
    yield "band_summary.csv", with_price_label(data.band_summary)
    comparables = data.deals["comparables"].map(" ".join)
    yield "deals.csv", with_price_label(data.deals.assign(comparables=comparables))
    del comparables
    yield "sold.csv", with_price_label(data.sold)
    yield "eligibility_upcoming.csv", with_price_label(data.eligibility)


def with_price_label(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``price_label`` (what its prices are, in words: "US asking", "Japan FOB"
    ...) right after its ``price_basis`` or trend ``series`` column; unchanged when it has
    neither or already has the label."""
    if "price_label" in frame.columns:
        return frame
    for name, labels in (("price_basis", PRICE_LABELS), ("series", SERIES_LABELS)):
        if name in frame.columns:
            out = frame.copy(deep=False)  # copy-on-write: the columns are shared, not copied
            # a list, not Series.map: pandas' map costs 0.15 s on a large report's 160k rows
            words = [labels.get(v, v) for v in out[name].astype("object").tolist()]
            out.insert(out.columns.get_loc(name) + 1, "price_label", words)
            return out
    return frame


def csv_columns(columns) -> list[str]:
    """The header of a report CSV whose frame has ``columns`` (``with_price_label``'s)."""
    return with_price_label(pd.DataFrame(columns=list(columns))).columns.tolist()


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """One report CSV (``analysis.report_csv``: pandas' ``to_csv`` bytes, faster)."""
    report_csv.write_csv(frame, path)


# -- HTML ---------------------------------------------------------------------------------------


#: C0/C1 control characters other than tab, newline and carriage return: HTML parse errors, and
#: terminal escapes in scraped text.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: Bidi embeddings, overrides and isolates: one in a seller's title flips the rest of its cell.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def esc(value: Any) -> str:
    """HTML-escaped text of a value; empty for unknown. Control characters become U+FFFD and
    bidi controls are dropped."""
    if value is None or (not isinstance(value, list | tuple) and pd.isna(value)):
        return ""
    text = _BIDI.sub("", _CONTROL.sub("\ufffd", str(value)))
    return html.escape(text, quote=True)


def link(url: Any, text: Any) -> str:
    """An escaped link when ``url`` is http(s), otherwise just the escaped text."""
    if isinstance(url, str) and url.lower().startswith(("http://", "https://")):
        return f'<a href="{esc(url)}" rel="noopener noreferrer">{esc(text)}</a>'
    return esc(text)


def _usd(value) -> str:
    return "" if value is None or pd.isna(value) else f"${int(value):,}"


def _drive(value) -> str:
    return "" if value is None or pd.isna(value) else ("4WD" if bool(value) else "2WD")


def _table(headers: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f"<p class=muted>{esc(empty)}</p>"
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    # on a phone each row is a card, each cell labelled with its column (STYLE's @media), the
    # columns a buyer decides on first
    labels = [
        f' data-label="{esc(h)}"' + (" class=key" if h in CARD_FIRST else "") for h in headers
    ]
    body = "".join(
        "<tr>"
        + "".join(f"<td{label}>{c}</td>" for label, c in zip(labels, row, strict=True))
        + "</tr>"
        for row in rows
    )
    return f"<table class=cards><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:70em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
.numbers{display:flex;flex-wrap:wrap;gap:.8em}.numbers div{background:#f3f5f7;padding:.5em .8em;
border-radius:6px}.numbers b{display:block;font-size:1.3em}table{border-collapse:collapse;
font-size:.88em}td,th{border-bottom:1px solid #e3e3e3;padding:.25em .5em;text-align:left}
.muted{color:#777}img{max-width:100%;height:auto}svg.spark{vertical-align:middle}
@media (max-width:40em){body{margin:.6em}h1{font-size:1.25em}.numbers{gap:.4em}
.numbers div{padding:.35em .6em;font-size:.9em}
table.cards,table.cards tbody,table.cards tr,table.cards td{display:block}
table.cards thead{position:absolute;left:-10000px}
table.cards tr{border:1px solid #ddd;border-radius:6px;margin:.5em 0;padding:.35em .6em;
display:flex;flex-direction:column}table.cards td.key{order:-1}table.cards td:first-child{order:-2}
table.cards td{border:0;padding:.1em 0;display:flex;gap:.6em}
table.cards td::before{content:attr(data-label);flex:0 0 7.5em;color:#666}
table.cards td:first-child{font-weight:600;display:block}
table.cards td:first-child::before{content:none}
table.cards td:empty{display:none}}
"""


#: The frames whose rows link to their listing's page.
LINKED_FRAMES = ("listings", "deals", "changes", "sold", "eligibility")
NO_LINKS_NOTE = (
    "Sample listings: titles are not links, since the sample marketplace ran only while the "
    "demo did."
)


def without_links(data: ReportData) -> ReportData:
    """``data`` with no listing URL, so every title shows as text (``ReportData.links``)."""
    return replace(data, **{name: getattr(data, name).assign(url=None) for name in LINKED_FRAMES})


def render_html(
    data: ReportData,
    numbers: dict[str, Any],
    pngs: dict[str, bytes],
    phone_pngs: dict[str, bytes] | None = None,
) -> str:
    """The self-contained report page; ``phone_pngs`` replace charts of the same name on a
    narrow screen (one column of panels)."""
    phone_pngs = phone_pngs or {}
    note = "" if data.links else f" {NO_LINKS_NOTE}"
    data = data if data.links else without_links(data)
    band = f"${data.band[0]:,}-${data.band[1]:,}"
    share = numbers["share_in_band"]
    cards = [
        ("For sale at a US price", f"{numbers['trucks_for_sale']:,}"),
        ("of them 4WD", f"{numbers['for_sale_4wd']:,}"),
        ("Median US asking", _usd(numbers["median_asking_usd"]) or "n/a"),
        (f"US asking inside {band}", "n/a" if share is None else f"{share:.0%}"),
        ("New tonight", str(numbers["new"])),
        ("Price drops tonight", str(numbers["price_drops"])),
        ("Gone tonight", str(numbers["gone"])),
        ("Deals 15%+ under", str(numbers["deals_15pct"])),
        ("Eligible in 12 months", str(numbers["eligible_next_12_months"])),
    ]
    night = data.night.isoformat() if data.night else "no crawl yet"
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        '<meta name=viewport content="width=device-width,initial-scale=1">',
        f"<title>Kei truck market report {esc(data.as_of.isoformat())}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Kei truck market, {esc(data.as_of.isoformat())}</h1>",
        freshness.banner_html(data.fresh) if data.fresh else "",  # freshness banner
        f"<p class=muted>Trends from {esc(shown_start(data))}; last crawl night "
        f"{esc(night)}. Each truck is counted once across sites and reposts. Asking, "
        f"Japan-side and auction prices are kept apart.{esc(note)}</p>",
        "<div class=numbers>"
        + "".join(f"<div>{esc(label)}<b>{esc(value)}</b></div>" for label, value in cards)
        + "</div>",
        "<h2>Best deals</h2>",
        _deals_html(data.deals, data.sparklines),
        "<h2>Project trucks</h2>",
        _projects_html(data.listings),
        "<h2>Price trends</h2>",
        *(
            _img(name, png, phone_pngs.get(name))
            for name, png in pngs.items()
            if name not in (ELIGIBILITY_PNG, STATES_PNG)
        ),
        "<h2>What changed on the last night</h2>",
        _changes_html(data.changes, data.listings, data.sold),
        "<h2>Where can I drive it?</h2>",
        road_rules.section_html(
            data.road_rule, data.by_state, figure=_states_img(data, pngs.get(STATES_PNG))
        ),
        "<h2>Becoming eligible for US import (25 years)</h2>",
        _eligibility_html(data, pngs.get(ELIGIBILITY_PNG)),
        "<h2>Recently sold or delisted</h2>",
        _sold_html(data.sold),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def shown_deals(deals: pd.DataFrame, limit: int = 15) -> pd.DataFrame:
    """The deals the page lists: rated and under their fair price, best first."""
    return deals.loc[deals["rated"] & (deals["discount_pct"] > 0)].head(limit)


def _deals_html(deals: pd.DataFrame, sparklines: dict[str, str] | None = None) -> str:
    sparklines = sparklines or {}
    rows = [
        [
            link(r["url"], r["title"] or r["listing_id"]) + _claims_html(r.get("road_claims")),
            sparklines.get(f"{r['source']}:{r['listing_id']}", ""),
            esc(source_name(r["source"])),
            esc(r["year"]),
            esc(_drive(r["is_4wd"])),
            esc(_usd(r["value_usd"])),
            esc(r["price_label"]),
            esc(_quoted(r)),
            esc(_usd(r["fair_price_usd"])),
            # one decimal: 14.9% shown as "15%" reads as a deal the alerts and "15%+" skip
            esc(f"{r['discount_pct']:.1f}%"),
            esc(", ".join(condition_words(r))),
            esc(r["n_comparables"]),
            esc(spread_text(r)),
            esc(r["location_raw"]),
        ]
        for r in shown_deals(deals).to_dict("records")
    ]
    headers = [
        "Listing",
        "Price history",
        "Source",
        "Year",
        "Drive",
        "Price",
        "Price is",
        "Quoted",
        "Fair price",
        "Under",
        "Ad says",
        "Comparables",
        "Their middle half",
        "Location",
    ]
    return _table(headers, rows, "No listing is priced under its comparables.")


def _claims_html(claims: Any) -> str:
    """The seller's road claims under a listing's link, worded as claims."""
    if not isinstance(claims, str) or not claims:
        return ""
    return f"<br><span class=muted>{esc(road_rules.seller_says(claims))}</span>"


def change_prices(row: dict[str, Any]) -> tuple[str, str]:
    """(Was, Now) of a change: a listing that left the market was at its last price and is now
    "sold after 12 days" (or "gone ...", "ended ...", and "sold at $11,350 ..." when the sale
    has a price of its own, an auction's); a new one was nothing."""
    old, now = row["old_price_usd"], row["price_usd"]
    if row["change"] not in LEFT_MARKET:
        return _usd(old), _usd(now)
    last = old if not pd.isna(old) else now
    # an auction's result is a price of its own: "sold at $11,350"
    final = "" if pd.isna(now) or pd.isna(old) or now == old else f" at {_usd(now)}"
    days = row.get("days_listed")
    after = "" if days is None or pd.isna(days) else f" after {int(days)} day"
    after += "s" if after and int(days) != 1 else ""
    return _usd(last), f"{row['change']}{final}{after}"


def price_words(basis: Any, *, left: bool = False) -> str:
    """What a price is, in words; a live auction's bid is "last bid" once the truck has left
    the market ("current bid" beside an auction that ended last week misleads)."""
    if left and basis == "bid":
        return "last bid"
    return PRICE_LABELS.get(basis, basis)


#: A change counted in the summary line, by its count: "1 price drop", "13 price drops".
CHANGE_COUNT_WORDS = {
    "price_drop": ("price drop", "price drops"),
    "price_rise": ("price rise", "price rises"),
}


def change_count(change: str, n: int) -> str:
    """ "13 price drops", "1 price rise", "7 gone": a count of one kind of change."""
    one, many = CHANGE_COUNT_WORDS.get(change, (change.replace("_", " "),) * 2)
    return f"{n} {one if n == 1 else many}"


def days_seen(changes: pd.DataFrame, listings: pd.DataFrame, sold: pd.DataFrame) -> pd.Series:
    """Whole days each changed listing was seen for sale, counted as "Recently sold or
    delisted" counts them (one truck, one number on the page): its truck's days there (first
    to last sighting across sites and reposts), else the listing's own first to last sighting.
    The night it is found gone is no day it was seen."""
    keys = ["source", "listing_id"]
    seen = listings.drop_duplicates(keys)[[*keys, "truck_id", "first_seen_at", "last_seen_at"]]
    rows = changes[keys].merge(seen, on=keys, how="left")
    own = (rows["last_seen_at"] - rows["first_seen_at"]).dt.total_seconds() // 86400
    truck = sold.drop_duplicates("truck_id").set_index("truck_id")["days_on_market"]
    days = rows["truck_id"].map(truck).astype("Float64").fillna(own.astype("Float64"))
    return days.astype("Int64").set_axis(changes.index)


def _changes_html(
    changes: pd.DataFrame, listings: pd.DataFrame, sold: pd.DataFrame, limit: int = 60
) -> str:
    counts = changes["change"].value_counts()
    summary = ", ".join(esc(change_count(str(c), int(n))) for c, n in counts.items())
    changes = changes.assign(days_listed=days_seen(changes, listings, sold))
    rows = [
        [
            esc(str(r["change"]).replace("_", " ")),
            link(r["url"], r["title"] or r["listing_id"]),
            esc(source_name(r["source"])),
            *(esc(price) for price in change_prices(r)),
            esc(price_words(r["price_basis"], left=r["change"] in LEFT_MARKET)),
        ]
        for r in changes.head(limit).to_dict("records")
    ]
    table = _table(["Change", "Listing", "Source", "Was", "Now", "Price is"], rows, "No changes.")
    return (f"<p>{summary}</p>" if summary else "") + table


def _img(name: str, png: bytes, phone: bytes | None = None) -> str:
    data = base64.b64encode(png).decode("ascii")
    img = f'<img alt="{esc(name)}" src="data:image/png;base64,{data}">'
    if phone is None:
        return f"<p>{img}</p>"
    narrow = base64.b64encode(phone).decode("ascii")
    source = f'<source media="(max-width:40em)" srcset="data:image/png;base64,{narrow}">'
    return f"<p><picture>{source}{img}</picture></p>"


def _buyer_state(data: ReportData) -> str | None:
    return data.road_rule.rule.state if data.road_rule is not None else None


def _states_img(data: ReportData, png: bytes | None) -> str:
    """The tile-grid map of trucks by state, above its table (none without a known state)."""
    if not png or data.by_state.empty:
        return ""
    encoded = base64.b64encode(png).decode("ascii")
    return f'<p><img alt="{esc(STATES_ALT)}" src="data:image/png;base64,{encoded}"></p>'


def _eligibility_html(data: ReportData, png: bytes | None = None) -> str:
    """Trucks still in Japan: how many can be imported now, a chart of those turning 25 in
    the coming months, and the list of those, soonest first."""
    counts = upcoming_counts(data.eligibility, as_of=data.as_of)
    now = int(counts.loc[counts["month"] == NOW, "listings"].sum())
    soon = data.eligibility.loc[data.eligibility["month"] != NOW]
    head = (
        f"<p>For sale in Japan (exporter prices): <b>{now}</b> trucks are 25 years old and can "
        f"be imported now; <b>{len(soon)}</b> more turn 25 in the next 12 months. A truck "
        "turning 25 in a month counts as importable from the next month (the day is unknown)."
        "</p>"
    )
    chart = _img(ELIGIBILITY_PNG, png) if png and len(soon) else ""
    rows = [
        [
            esc(r["month"]),
            link(r["url"], r["title"] or r["listing_id"]),
            esc(source_name(r["source"])),
            esc(r["model_code"]),
            esc(_usd(r["price_usd"])),
            esc(PRICE_LABELS.get(r["price_basis"], r["price_basis"])),
        ]
        for r in soon.head(40).to_dict("records")
    ]
    return (
        head
        + chart
        + _table(
            ["Turns 25", "Listing", "Source", "Code", "Price", "Price is"],
            rows,
            "No truck for sale in Japan turns 25 in the next 12 months.",
        )
    )


def _projects_html(listings: pd.DataFrame, limit: int = 25) -> str:
    """Trucks that do not run or have a title problem: never deals, listed apart with the
    median of their US asking prices."""
    projects, median = project_trucks(listings)
    if projects.empty:
        return "<p>No truck for sale that does not run or has a title problem.</p>"
    head = (
        f"<p>{len(projects)} trucks that do not run or have a title problem; never scored as "
        "deals"
        + (f"; median US asking {esc(_usd(median))}" if median is not None else "")
        + ".</p>"
    )
    rows = [
        [
            link(r["url"], r["title"] or r["listing_id"]),
            esc(source_name(r["source"])),
            esc(r["year"]),
            esc(r["problem"]),
            esc(_usd(r["price_usd"])),
            esc(PRICE_LABELS.get(r["price_basis"], r["price_basis"])),
        ]
        for r in projects.head(limit).to_dict("records")
    ]
    return head + _table(["Listing", "Source", "Year", "Problem", "Price", "Price is"], rows, "")


def _quoted(row: dict[str, Any]) -> str:
    """An exporter's own price beside its landed cost, e.g. "Japan FOB $2,600"; "" else."""
    if row["basis"] != LANDED or pd.isna(row["price_usd"]):
        return ""
    return f"{PRICE_LABELS.get(row['price_basis'], row['price_basis'])} {_usd(row['price_usd'])}"


def _sold_html(sold: pd.DataFrame, limit: int = 25) -> str:
    rows = [
        [
            esc(str(r["outcome"]).replace("_", " ")),
            link(r["url"], r["title"] or r["truck_id"]),
            esc(", ".join(source_name(s) for s in str(r["sources"] or "").split())),
            esc(r["days_on_market"]),
            esc(price_words(r["price_basis"], left=True)),
            esc(_usd(r["first_price_usd"])),
            esc(_usd(r["last_price_usd"])),
            esc(_usd(r["sold_price_usd"])),
            esc(r["n_drops"]),
        ]
        for r in sold.head(limit).to_dict("records")
    ]
    headers = [
        "Outcome",
        "Truck",
        "Sources",
        "Days listed",
        "Price is",
        "First price",
        "Last price",
        "Sold",
        "Drops",
    ]
    return _table(headers, rows, "No truck left the market in this period.")
