"""The report's internals against the straightforward computation they replaced (issue #18).

A seeded market of a few dozen trucks over ten weeks of nights (four sources, reposts, the same
truck on two sites, frame numbers, price drops and rises, gone and relisted listings, exporter
FOB prices with a landed cost, sold and unsold auctions, project trucks) is stored through the
real storage layer. For several as-of dates (the last night, a past night, a day without a
crawl) and window lengths, every frame of ``analysis.report.compute_report`` must equal the
one ``tests/report_reference`` (the pre-#18 code, kept verbatim) computes, dtypes included, and
the CSV files and the HTML page written from both must be the same bytes.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from contextlib import closing

import numpy as np
import pandas as pd
import pytest
from report_reference.compute import compute_report as reference_report
from test_analysis_helpers import night, truck

from analysis import report
from keitrucks.core.config import DEFAULT_CONFIG

SOURCES = ("craigslist", "ebay", "beforward", "bringatrailer")
MODELS = (
    ("Honda Acty", "HA4"),
    ("Suzuki Carry", "DA63T"),
    ("Mazda Scrum", "DG63T"),
    ("Daihatsu Hijet", "S110P"),
    ("Subaru Sambar", None),
)
FIRST = dt.date(2026, 8, 3)
NIGHTS = 70


def _spec(rng: np.random.Generator, k: int) -> dict:
    model, code = MODELS[int(rng.integers(len(MODELS)))]
    year = int(rng.integers(1993, 2001)) if rng.random() < 0.95 else None
    spec = {
        "model": model,
        "year": year,
        "is_4wd": [True, False, None][int(rng.choice(3, p=[0.6, 0.3, 0.1]))],
        "mileage_mi": int(rng.integers(8000, 90000)) if rng.random() < 0.85 else None,
        "location_raw": f"Town {int(rng.integers(6))}, TN",
        "state": "TN" if rng.random() < 0.7 else "GA",
    }
    if code and rng.random() < 0.5:
        spec["model_code"] = code
    if code and rng.random() < 0.15:
        spec["description"] = f"frame {code}-{100000 + k}"
    if rng.random() < 0.1:
        spec["runs"] = False
    if rng.random() < 0.05:
        spec["title_status"] = "salvage"
    if rng.random() < 0.04:
        spec["sale_pending"] = True
    if rng.random() < 0.2:
        spec["body"] = "dump"
    if rng.random() < 0.2:
        spec["transmission"] = ["manual", "automatic"][int(rng.integers(2))]
    return spec


def _market(seed: int = 18) -> list[tuple[str, str, list[dict]]]:
    """(day, source, listings seen) per run, in time order."""
    rng = np.random.default_rng(seed)
    trucks = []  # [source, listing_id, spec, price, first night, last night, repost_of]
    for k in range(140):
        source = SOURCES[int(rng.choice(4, p=[0.45, 0.2, 0.2, 0.15]))]
        first = int(rng.integers(0, NIGHTS - 3))
        life = int(rng.integers(3, 50))
        spec = _spec(rng, k)
        base = 3000 if source == "beforward" else 8000
        trucks.append([source, f"{source[:2]}{k}", spec, base + 50 * int(rng.integers(-40, 60))])
        trucks[-1] += [first, first + life, None]
        if rng.random() < 0.12:  # the same truck on a second site
            other = "ebay" if source == "craigslist" else "craigslist"
            trucks.append([other, f"x{k}", dict(spec), trucks[-1][3], first + 2, first + life])
            trucks[-1].append(None)
        if rng.random() < 0.1:  # reposted under a new id after it went
            trucks.append([source, f"r{k}", dict(spec), trucks[-1][3] - 300])
            trucks[-1] += [first + life + 2, first + life + 20, f"{source[:2]}{k}"]
    runs = []
    for n in range(NIGHTS):
        day = (FIRST + dt.timedelta(days=n)).isoformat()
        for source in SOURCES:
            if (n + SOURCES.index(source)) % 3:  # each source every third night or so
                continue
            seen = []
            for t in trucks:
                src, listing_id, spec, price, first, last, repost_of = t
                if src != source or not first <= n <= last or rng.random() < 0.03:
                    continue
                if rng.random() < 0.15:
                    t[3] = price = price + 50 * int(rng.integers(-12, 6))
                row = {**spec}
                if source == "beforward":
                    row.update(price_basis="fob", landed_usd=price + 3400, location_raw="Yokohama")
                if source == "bringatrailer":
                    closing = n + 3 > last
                    row.update(
                        price_basis=("sold" if price % 100 else "bid_to") if closing else "bid",
                        status=("sold" if price % 100 else "ended") if closing else "active",
                    )
                if repost_of:
                    row["repost_of"] = repost_of
                seen.append(truck(source, listing_id, price, **row))
            runs.append((day, source, seen))
    return runs


@pytest.fixture(scope="module")
def market_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("equivalence") / "market.db"
    for day, source, seen in _market():
        night(db, day, source, seen)
    return db


def _config(weeks: int) -> dict:
    config = {key: dict(value) for key, value in DEFAULT_CONFIG.items() if isinstance(value, dict)}
    config["report"] = {**config.get("report", {}), "weeks": weeks}
    config["buyer"] = {"state": "TN"}
    return config


FRAMES = ("listings", "trends", "band_summary", "deals", "sold", "eligibility", "changes")
LAST = FIRST + dt.timedelta(days=NIGHTS - 1)


@pytest.mark.parametrize(
    ("as_of", "weeks"),
    [
        (LAST, 26),  # the whole history inside the window
        (LAST, 4),  # a short window: rows before it, listings gone before it
        (FIRST + dt.timedelta(days=40), 3),  # a past night, with history after it
        (FIRST + dt.timedelta(days=41), 2),  # a day without a crawl of every source
        (LAST + dt.timedelta(days=9), 1),  # a week after the last crawl
    ],
)
def test_report_equals_the_reference_computation(market_db, tmp_path, as_of, weeks):
    config = _config(weeks)
    new = report.compute_report(market_db, as_of=as_of, config=config)
    old = reference_report(market_db, as_of=as_of, config=config)
    assert len(old.trends) > 0
    assert len(old.deals) > 0
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(new, name), getattr(old, name), check_exact=True)
    assert (new.as_of, new.start, new.night, new.band) == (
        old.as_of,
        old.start,
        old.night,
        old.band,
    )
    for name, data in (("new", new), ("old", old)):
        folder = tmp_path / name
        folder.mkdir()
        csvs = {
            "trends": data.trends,
            "band": data.band_summary,
            "deals": data.deals.assign(comparables=data.deals["comparables"].map(" ".join)),
            "sold": data.sold,
        }
        for file, frame in csvs.items():
            report._write_csv(report.with_price_label(frame), folder / f"{file}.csv")
        page = report.render_html(data, report.headline_numbers(data), {})
        (folder / "report.html").write_text(page, encoding="utf-8")
    for path in sorted((tmp_path / "old").iterdir()):
        assert (tmp_path / "new" / path.name).read_bytes() == path.read_bytes(), path.name


def test_the_market_has_what_the_comparison_needs(market_db):
    """Reposts, cross-site twins, drops, gone, sold and unsold auctions and exporters are all
    there: a comparison on a market without them would prove little."""
    config = _config(26)
    data = reference_report(market_db, as_of=LAST, config=config)
    listings = data.listings
    assert (listings["truck_id"] != listings["identity"]).any()  # fingerprint matches
    assert listings["identity"].duplicated().any()  # explicit reposts
    assert {"gone", "sold", "ended", "active"} <= set(listings["status"].dropna())
    assert set(data.sold["outcome"]) >= {"sold", "delisted"}
    assert data.trends["price_drops"].sum() > 0
    assert data.deals["rated"].any()
    assert (data.deals["basis"] == "landed").any()


@pytest.mark.parametrize("odd", [False, True])
@pytest.mark.parametrize("start", [FIRST, FIRST + dt.timedelta(days=30)])
def test_history_reads_equal_the_reference_reads(market_db, tmp_path, odd, start):
    """The packed history read gives the reference's frame, categories included, also with
    a NULL price and basis and words outside the vocabulary (read back as text)."""
    from report_reference import load as reference_load

    from analysis import load

    db = tmp_path / "odd.db"
    shutil.copyfile(market_db, db)
    if odd:
        with closing(sqlite3.connect(db)) as conn, conn:
            conn.execute(
                "UPDATE price_history SET price_basis = NULL, price_usd = NULL WHERE id = 7"
            )
            conn.execute("UPDATE price_history SET status = 'on_hold' WHERE id IN (40, 90)")
            conn.execute("UPDATE price_history SET event = 'odd_event' WHERE id = 91")
    pd.testing.assert_frame_equal(
        load.read_history_window(db, start, LAST),
        reference_load.read_history_window(db, start, LAST),
        check_exact=True,
    )
    lids = [1, 2, 3, 5, 8, 13, 21, 34]
    pd.testing.assert_frame_equal(
        load.read_history_of_lids(db, lids, before=start),
        reference_load.read_history_of_lids(db, lids, before=start),
        check_exact=True,
    )
