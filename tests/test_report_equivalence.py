"""The report's computation pinned on a seeded market (issue #18: faster, never different).

A seeded market of a few dozen trucks over ten weeks of nights (four sources, reposts, the same
truck on two sites, frame numbers, price drops and rises, gone and relisted listings, exporter
FOB prices with a landed cost, sold and unsold auctions, project trucks) is stored through the
real storage layer. For several as-of dates (the last night, a past night, a day without a
crawl) and window lengths, every frame of ``analysis.report.compute_report`` (values and
dtypes), the CSV files and the HTML page must equal the golden files in
``tests/fixtures/report_golden/``. Those were written by the pre-#18 code and checked equal to
the faster code when it landed (the oracle is gone since: a copy of the analysis in the tests
would have to follow every later change of it); ``pytest --update-golden`` rewrites them when
the report is meant to change; review the diff.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
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


GOLDEN = Path(__file__).parent / "fixtures" / "report_golden"
FRAMES = ("listings", "trends", "band_summary", "deals", "sold", "eligibility", "changes")
LAST = FIRST + dt.timedelta(days=NIGHTS - 1)
CASES = {
    "last-26w": (LAST, 26),  # the whole history inside the window
    "last-4w": (LAST, 4),  # a short window: rows before it, listings gone before it
    "past-3w": (FIRST + dt.timedelta(days=40), 3),  # a past night, with history after it
    "nocrawl-2w": (FIRST + dt.timedelta(days=41), 2),  # a day without a crawl of every source
    "after-1w": (LAST + dt.timedelta(days=9), 1),  # a week after the last crawl
}


def frame_text(frame: pd.DataFrame) -> str:
    """A frame as text that changes whenever a value or a dtype does: the dtypes, then CSV."""
    out = frame.copy()
    for name in out.columns:  # lists and arrays (comparables) as one cell
        if out[name].dtype == object:
            out[name] = out[name].map(lambda v: " ".join(map(str, v)) if _listlike(v) else v)
    dtypes = ",".join(f"{name}:{dtype}" for name, dtype in frame.dtypes.items())
    return f"# dtypes {dtypes}\n" + out.to_csv(index=False, lineterminator="\n")


def _listlike(value) -> bool:
    return isinstance(value, (list, tuple, np.ndarray))


#: Stands for ``report.STYLE`` in the golden pages.
STYLE_MARK = "/* analysis.report.STYLE */"


def check_golden(path: Path, text: str, update: bool) -> None:
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"no golden file {path}; run pytest --update-golden and review")
    assert text == path.read_text(encoding="utf-8"), f"{path.name} differs from its golden file"


@pytest.mark.parametrize("case", list(CASES))
def test_report_equals_its_golden_files(market_db, tmp_path, case, update_golden):
    as_of, weeks = CASES[case]
    config = _config(weeks)
    data = report.compute_report(market_db, as_of=as_of, config=config)
    assert len(data.trends) > 0
    assert len(data.deals) > 0
    folder = GOLDEN / case
    for name in FRAMES:
        check_golden(folder / f"{name}.frame.csv", frame_text(getattr(data, name)), update_golden)
    facts = f"{data.as_of} {data.start} {data.night} {data.band}\n"
    check_golden(folder / "facts.txt", facts, update_golden)
    csvs = {
        "trends": data.trends,
        "band": data.band_summary,
        "deals": data.deals.assign(comparables=data.deals["comparables"].map(" ".join)),
        "sold": data.sold,
    }
    for file, frame in csvs.items():
        report._write_csv(report.with_price_label(frame), tmp_path / f"{file}.csv")
        text = (tmp_path / f"{file}.csv").read_text(encoding="utf-8")
        check_golden(folder / f"{file}.csv", text, update_golden)
    page = report.render_html(data, report.headline_numbers(data), {})
    # the stylesheet is report.py's own constant: pinned once there, not in every golden page
    assert page.count(report.STYLE) == 1
    check_golden(folder / "report.html", page.replace(report.STYLE, STYLE_MARK), update_golden)


def test_the_market_has_what_the_comparison_needs(market_db):
    """Reposts, cross-site twins, drops, gone, sold and unsold auctions and exporters are all
    there: golden files of a market without them would pin little."""
    config = _config(26)
    data = report.compute_report(market_db, as_of=LAST, config=config)
    listings = data.listings
    assert (listings["truck_id"] != listings["identity"]).any()  # fingerprint matches
    assert listings["identity"].duplicated().any()  # explicit reposts
    assert {"gone", "sold", "ended", "active"} <= set(listings["status"].dropna())
    assert set(data.sold["outcome"]) >= {"sold", "delisted"}
    assert data.trends["price_drops"].sum() > 0
    assert data.deals["rated"].any()
    assert (data.deals["basis"] == "landed").any()


@pytest.mark.parametrize("case", ["last-4w", "past-3w", "nocrawl-2w"])
def test_rows_before_the_window_read_beside_it_are_those_read_after_it(market_db, case):
    """The sold trucks' rows before the window are read while the window is (for the listings
    that likely left, ``sold.likely_ended``), and those it missed once the window is known:
    the sold trucks' history is then what one read after the window gives."""
    as_of, weeks = CASES[case]
    start = report.window_start(as_of, weeks)
    since = start - dt.timedelta(days=report.MARGIN_DAYS)
    listings, history, before = report._read_listings_and_history(
        market_db, as_of, since=since, start=start
    )
    after = report._ended_history(market_db, listings, history, start=start, day=as_of)
    assert before is not None
    needed = np.unique(after.loc[after["observed_at"] < pd.Timestamp(start, tz="UTC"), "lid"])
    assert np.isin(needed, before.lids).any()
    assert not np.isin(needed, before.lids).all()  # some read once the window is known
    half = before.lids[::2]  # and more of them
    rows = before.rows.iloc[np.flatnonzero(before.rows["lid"].isin(half))]
    for read in (before, report._RowsBefore(half, rows)):
        got = report._ended_history(market_db, listings, history, start=start, day=as_of, read=read)
        pd.testing.assert_frame_equal(got, after)


@pytest.mark.parametrize("odd", [False, True])
@pytest.mark.parametrize("start", [FIRST, FIRST + dt.timedelta(days=30)])
def test_history_reads_equal_their_golden_files(market_db, tmp_path, odd, start, update_golden):
    """The packed history reads, categories included, also with a NULL price and basis and
    words outside the vocabulary (read back as text)."""
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
    window = load.read_history_window(db, start, LAST)
    lids = [1, 2, 3, 5, 8, 13, 21, 34]
    older = load.read_history_of_lids(db, lids, before=start)
    name = f"history-{'odd' if odd else 'plain'}-{start.isoformat()}"
    for part, frame in (("window", window), ("lids", older)):
        for column in frame.select_dtypes("category"):  # the categories themselves count
            categories = list(frame[column].cat.categories)
            frame = frame.assign(**{f"{column}__categories": " ".join(map(str, categories))})
        check_golden(GOLDEN / f"{name}.{part}.csv", frame_text(frame), update_golden)
