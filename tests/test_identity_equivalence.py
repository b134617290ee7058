"""``assign_truck_ids`` against a straightforward pure-Python reference, on randomized listings.

The module computes frame numbers, candidate pairs, confidences and clusters with NumPy and
pyarrow over whole columns; the reference below does the same rules one listing and one pair at
a time in plain Python, as the module's docstrings state them. The randomized listings carry what
the nightly report meets: cross-posts with a little different mileage, price and title,
reposts with and without storage's link, frame numbers and VINs in the title, description or
attributes (lower case, a space for the dash, Japanese around them, full-width and non-ASCII
digits), missing fields, unicode titles, and near-twins that are different trucks.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from analysis import identity
from analysis.identity import (
    MATCH_THRESHOLD,
    NEIGHBOURS,
    add_family,
    assign_truck_ids,
    family_of,
    parse_frame_number,
    title_words,
)

# -- the reference: the rules, one listing and one pair at a time --------------------------------


def _num(value) -> float:
    return math.nan if value is None or pd.isna(value) else float(value)


def _text(value) -> str | None:
    return value if isinstance(value, str) else None


def _close(a: float, b: float, rel: float, absolute: float = 0.0) -> bool:
    return abs(a - b) <= max(absolute, rel * max(abs(a), abs(b)))  # NaN: False


def _bare_code(code) -> str | None:
    return code.upper().split("-", 1)[-1] if isinstance(code, str) and code else None


def _place(text) -> str | None:
    return text.strip().lower() if isinstance(text, str) and text.strip() else None


def _jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _rows(df: pd.DataFrame) -> list[dict]:
    """The rows of ``df`` as dicts, None for every missing value."""
    return [
        {k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in r.items()}
        for r in df.astype("object").to_dict("records")
    ]


def may_be_one_truck(a: dict, b: dict) -> bool:
    """The fingerprint's conditions: the same known family and year, no conflicting drive or
    model code, mileage within 3% (or 500 mi)."""
    code_a, code_b = _bare_code(a["model_code"]), _bare_code(b["model_code"])
    drive_a, drive_b = _num(a.get("is_4wd")), _num(b.get("is_4wd"))
    return not (
        _text(a["family"]) is None
        or a["family"] != b["family"]
        or _num(a["year"]) != _num(b["year"])
        or (drive_a == drive_a and drive_b == drive_b and drive_a != drive_b)
        or (code_a is not None and code_b is not None and code_a != code_b)
        or not _close(_num(a["mileage_mi"]), _num(b["mileage_mi"]), 0.03, 500)
    )


def reference_confidence(a: dict, b: dict) -> float:
    """``pair_confidence`` of two rows, as its docstring states the rules."""
    if a["frame_number"] is not None and b["frame_number"] is not None:
        return 1.0 if a["frame_number"] == b["frame_number"] else 0.0
    if not may_be_one_truck(a, b):
        return 0.0
    code_a, code_b = _bare_code(a["model_code"]), _bare_code(b["model_code"])
    miles_a, miles_b = _num(a["mileage_mi"]), _num(b["mileage_mi"])
    score = 0.3 + 0.25 * _close(miles_a, miles_b, 0.005, 50)
    score += 0.1 * (code_a is not None and code_b is not None)
    same_basis = _text(a["price_basis"]) is not None and a["price_basis"] == b["price_basis"]
    score += 0.1 * (same_basis and _close(_num(a["price_usd"]), _num(b["price_usd"]), 0.05))
    place = _place(a["location_raw"])
    near = (
        abs(_num(a["latitude"]) - _num(b["latitude"])) < 0.45
        and abs(_num(a["longitude"]) - _num(b["longitude"])) < 0.55
    )
    score += 0.15 * ((place is not None and place == _place(b["location_raw"])) or near)
    if score + 0.2 >= MATCH_THRESHOLD - 1e-9:
        score += 0.2 * _jaccard(title_words(a["title"]), title_words(b["title"]))
    return float(np.round(min(score, 0.99), 3))


def reference_pairs(rows: list[dict]) -> set[tuple[int, int]]:
    """Positions (i < j) of the same frame number (neighbours in frame order) or neighbours by
    mileage within a family and year (``NEIGHBOURS`` deep) that may be one truck."""
    pairs = set()
    framed = sorted((r["frame_number"], n) for n, r in enumerate(rows) if r["frame_number"])
    for (frame_a, a), (frame_b, b) in zip(framed, framed[1:], strict=False):
        if frame_a == frame_b:
            pairs.add((min(a, b), max(a, b)))
    usable = [
        n
        for n, r in enumerate(rows)
        if _text(r["family"])
        and not math.isnan(_num(r["year"]))
        and not math.isnan(_num(r["mileage_mi"]))
    ]
    ordered = sorted(
        usable,
        key=lambda n: (rows[n]["family"], _num(rows[n]["year"]), _num(rows[n]["mileage_mi"]), n),
    )
    for t, a in enumerate(ordered):
        for b in ordered[t + 1 : t + 1 + NEIGHBOURS]:
            if may_be_one_truck(rows[a], rows[b]):
                pairs.add((min(a, b), max(a, b)))
    return pairs


#: The columns the rules read (absent ones read as missing).
READ = [
    "model_code",
    "is_4wd",
    "price_usd",
    "price_basis",
    "location_raw",
    "latitude",
    "longitude",
    "title",
]


def reference_truck_ids(listings: pd.DataFrame) -> pd.DataFrame:
    """``assign_truck_ids`` done one listing and one pair at a time."""
    df = listings.reset_index(drop=True)
    if "identity" in df.columns:
        own = df["source"].astype(str) + ":" + df["listing_id"].astype(str)
        identity_col = df["identity"].astype("object")
        df = df.assign(identity=identity_col.where(identity_col.notna(), own))
    else:
        df = df.assign(identity=df["source"].astype(str) + ":" + df["listing_id"].astype(str))
    if "family" not in df.columns:
        df = add_family(df)
    if "frame_number" not in df.columns:
        texts = df.reindex(columns=["title", "description", "attributes"]).astype("object")
        df = df.assign(
            frame_number=[parse_frame_number(*(_text(v) for v in t)) for t in texts.values]
        )
    for col in ("year", "mileage_mi"):
        if col not in df.columns:
            df[col] = None
    rows = _rows(df.reindex(columns=[*df.columns, *(c for c in READ if c not in df.columns)]))
    ids = [r["identity"] for r in rows]
    count = pd.Series(ids).value_counts()
    best = [1.0 if count[k] > 1 else math.nan for k in ids]
    parent = {k: k for k in ids}

    def root(k):
        while parent[k] != k:
            k = parent[k]
        return k

    for a, b in sorted(reference_pairs(rows)):
        if ids[a] == ids[b]:
            continue
        conf = reference_confidence(rows[a], rows[b])
        if conf >= MATCH_THRESHOLD:
            ra, rb = root(ids[a]), root(ids[b])
            parent[max(ra, rb)] = min(ra, rb)
            best[a] = conf if math.isnan(best[a]) else max(best[a], conf)
            best[b] = conf if math.isnan(best[b]) else max(best[b], conf)
    return df.assign(
        truck_id=pd.Series([root(k) for k in ids], dtype="object"),
        match_confidence=np.array(best, dtype="float64"),
    )


# -- randomized listings ---------------------------------------------------------------------------

MODELS = [
    ("Suzuki Carry", ["DA16T", "DD51T", "EBD-DA16T", "da63t", ""]),
    ("Mazda Scrum", ["DL51T", "DG16T"]),
    ("Daihatsu Hijet", ["S500P", "S211P", "S510P"]),
    ("Toyota Pixis", [None]),
    ("Honda Acty", ["HA4", "HA9", "GBD-HA9"]),
    ("Subaru Sambar", ["KS4", "TT2"]),
    ("Mitsubishi Minicab", ["U42T", "DS16T"]),
    ("Nissan Clipper", ["U71T", "DR16T"]),
    ("Foo Bar", ["ZZ1"]),
    (None, [None, "DA16T"]),
]
TOWNS = [
    ("Knoxville, TN", 35.96, -83.92),
    ("knoxville, tn ", 35.9, -83.9),
    ("Asheville, NC", 35.59, -82.55),
    ("Yokohama", 35.44, 139.64),
    ("横浜市", 35.45, 139.6),
    ("Boise, ID", 43.61, -116.2),
    ("   ", None, None),
    (None, None, None),
]
#: Title words: stop words, case, unicode that lower-cases to ASCII (the Kelvin sign, "İ"),
#: ligatures, full-width and half-width letters, Japanese, emoji, an empty word.
WORDS = [
    "Suzuki",
    "Carry",
    "4x4",
    "4WD",
    "dump",
    "bed",
    "AC",
    "clean",
    "title",
    "KEI",
    "truck",
    "mini",
    "the",
    "for",
    "sale",
    "runs",
    "great",
    "lift",
    "Jumbo",
    "cab",
    "farm",
    "hay",
    "Kéi",
    "ﾄﾗｯｸ",
    "軽トラ",
    "4ＷＤ",
    "İzmir",
    "5\u212a",
    "ﬁne",
    "straße",
    "#1",
    "—",
    "🚚",
    "",
]
#: Frame numbers and VINs as sellers write them, and near misses: a word character before
#: (Japanese, "_", "ß"), too many digits, a VIN of letters only, non-ASCII digits.
FRAMES = [
    "DD51T-{n6}",
    "dd51t {n6}",
    "HA4-{n7}",
    "S110P-0{n5}",
    "車台番号DA16T-{n6}",
    "車台番号: DA16T-{n6}",
    "Frame no. U42T-{n6}",
    "ＤＤ５１Ｔ－１２３４５６",
    "DA16T-١٢٣٤٥٦",
    "VIN JH4KA7532MC0{n5}",
    "vin 1ABCDEFGH2JKLMNP{n1}",
    "ABCDEFGHJKLMNPRST DD51T-{n6}",
    "ßDD51T-{n6}",
    "X-DD51T-{n6}-Y",
    "DD51T-{n6}7890",
    "DA16T_{n6}",
    "\u212a{n1}-{n6}",
    '{{"Chassis No.": "s500p-{n6}"}}',
]


def _frame_text(rng: np.random.Generator) -> str:
    pattern = FRAMES[rng.integers(len(FRAMES))]
    digits = "".join(str(d) for d in rng.integers(0, 10, 7))
    return pattern.format(n1=digits[0], n5=digits[:5], n6=digits[:6], n7=digits)


def _truck(rng: np.random.Generator, n: int) -> dict:
    model, codes = MODELS[rng.integers(len(MODELS))]
    town, lat, lon = TOWNS[rng.integers(len(TOWNS))]
    words = [WORDS[k] for k in rng.integers(0, len(WORDS), rng.integers(0, 6))]
    frame = _frame_text(rng) if rng.random() < 0.3 else None
    where = rng.integers(3)
    return {
        "source": ["craigslist", "ebay", "beforward", "dealer_jsonld"][rng.integers(4)],
        "listing_id": f"L{n}",
        "model": model,
        "model_code": codes[rng.integers(len(codes))],
        "year": None if rng.random() < 0.03 else int(rng.integers(1994, 2000)),
        "is_4wd": [True, False, None][rng.integers(3)],
        "mileage_mi": None if rng.random() < 0.04 else int(rng.integers(100, 60000)),
        "price_usd": None if rng.random() < 0.05 else int(rng.integers(2000, 12000)),
        "price_basis": ["asking", "asking", "fob", None][rng.integers(4)],
        "location_raw": town,
        "latitude": lat,
        "longitude": lon,
        "title": " ".join(words + ([frame] if frame and where == 0 else [])) or None,
        "description": frame if frame and where == 1 else ["", None, "良好 runs"][rng.integers(3)],
        "attributes": f'{{"frame": "{frame}"}}' if frame and where == 2 else None,
    }


def _variant(rng: np.random.Generator, base: dict, n: int) -> dict:
    """Another listing of the same truck (cross-post or repost), or a near-twin truck."""
    row = dict(base, listing_id=f"L{n}")
    kind = rng.integers(4)
    row["identity"] = None if rng.random() < 0.1 else f"{row['source']}:{row['listing_id']}"
    if kind == 0:  # cross-post: another site, a little off
        row["source"] = "ebay" if base["source"] != "ebay" else "craigslist"
        row["identity"] = row["identity"] and f"{row['source']}:{row['listing_id']}"
        if row["mileage_mi"] is not None:
            row["mileage_mi"] = int(row["mileage_mi"] * rng.uniform(0.996, 1.004))
        if row["price_usd"] is not None:
            row["price_usd"] = int(row["price_usd"] * rng.uniform(0.96, 1.04))
        row["title"] = " ".join(rng.permutation((base["title"] or "x").split(" "))) or None
        row["location_raw"] = (base["location_raw"] or "").upper() or None
        row["model_code"] = None if rng.random() < 0.3 else row["model_code"]
    elif kind == 1:  # a repost storage linked
        row["identity"] = f"{base['source']}:{base['listing_id']}"
    elif kind == 2:  # a repost without the link, maybe without its frame number
        row["description"] = None if rng.random() < 0.5 else row["description"]
    else:  # a near-twin: another truck of the same model and year
        if row["mileage_mi"] is not None:
            row["mileage_mi"] = int(row["mileage_mi"] * rng.uniform(1.004, 1.03)) + 10
        row["price_usd"] = None if row["price_usd"] is None else row["price_usd"] + 900
    return row


def random_listings(seed: int, n: int = 2500) -> pd.DataFrame:
    """``n`` listings of a fixed random mix; ``identity`` as storage gives it (some missing)."""
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    while len(rows) < n:
        base = _truck(rng, len(rows))
        base["identity"] = None if rng.random() < 0.1 else f"{base['source']}:{base['listing_id']}"
        rows.append(base)
        for _ in range(rng.choice([0, 0, 1, 2, 3])):
            rows.append(_variant(rng, base, len(rows)))
    return pd.DataFrame(rows[:n])


def as_read_from_the_database(df: pd.DataFrame) -> pd.DataFrame:
    """The dtypes ``analysis.load`` reads listings with (Arrow-backed text, nullable numbers),
    in chunks of 1,000 rows as its chunked read leaves them (Arrow columns of several chunks)."""
    typed = df.astype(
        {
            "source": "str",
            "listing_id": "str",
            "identity": "str",
            "title": "str",
            "model": "str",
            "year": "Int64",
            "is_4wd": "boolean",
            "mileage_mi": "Int64",
            "price_usd": "Int64",
            "price_basis": "str",
            "location_raw": "str",
            "latitude": "Float64",
            "longitude": "Float64",
        }
    )
    return pd.concat([typed.iloc[n : n + 1000] for n in range(0, len(typed), 1000)])


# -- the tests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("typed", [False, True], ids=["object", "typed"])
def test_assign_truck_ids_matches_the_reference(seed, typed):
    listings = random_listings(seed)
    if typed:
        listings = add_family(as_read_from_the_database(listings))
    got = assign_truck_ids(listings)
    want = reference_truck_ids(listings)
    # the randomized mix exercises every way of matching, or the comparison proves little
    assert got["frame_number"].notna().sum() > 200
    assert (want["match_confidence"] == 1.0).sum() > 200
    assert want["match_confidence"].between(MATCH_THRESHOLD, 0.99).sum() > 300
    assert (want["truck_id"] != want["identity"]).sum() > 300
    pd.testing.assert_frame_equal(got, want)


@pytest.mark.parametrize("typed", [False, True], ids=["object", "typed"])
def test_candidate_pairs_and_pair_confidence_match_the_reference(typed):
    df = random_listings(4)
    df = add_family(as_read_from_the_database(df) if typed else df)
    df = df.assign(
        identity=df["identity"].fillna("x"),
        frame_number=[
            parse_frame_number(*t)
            for t in zip(
                *(df[c].astype("object") for c in ("title", "description", "attributes")),
                strict=True,
            )
        ],
    )
    i, j = identity.candidate_pairs(df)
    rows = _rows(df)
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == reference_pairs(rows)
    # the candidates, and random pairs most of which fail the fingerprint's conditions
    rng = np.random.default_rng(8)
    i, j = np.concatenate([i, rng.integers(0, len(df), 3000)]), np.concatenate([j, i[:3000]])
    got = identity.pair_confidence(df, i, j)
    want = [reference_confidence(rows[a], rows[b]) for a, b in zip(i, j, strict=True)]
    np.testing.assert_array_equal(got, np.array(want))
    assert (got > 0).sum() > 500
    assert (got[-3000:] == 0).sum() > 1000


def test_frame_numbers_read_from_any_text_match_parse_frame_number_row_by_row():
    rng = np.random.default_rng(6)
    texts = [_frame_text(rng) for _ in range(3000)] + [WORDS[k] for k in rng.integers(0, 30, 300)]
    texts += ["dd51t-123456 JH4KA7532MC012345", "ABCDEFGHJKLMNPRST", "x" * 17 + " HA4 1234567"]

    def column():
        return [texts[k] if rng.random() < 0.6 else None for k in rng.integers(0, len(texts), 4000)]

    listings = pd.DataFrame(
        {
            "source": "s",
            "listing_id": [str(n) for n in range(4000)],
            "title": pd.Series(column(), dtype="str"),
            "description": column(),
            # not only text: what a careless caller may leave in a column
            "attributes": [
                v if v else [7, b"DD51T-123456", {"a": 1}, ""][n % 4]
                for n, v in enumerate(column())
            ],
        }
    )
    got = assign_truck_ids(listings)["frame_number"]
    want = [
        parse_frame_number(*(_text(v) for v in row))
        for row in zip(
            listings["title"].astype(object),
            listings["description"],
            listings["attributes"],
            strict=True,
        )
    ]
    assert [None if pd.isna(v) else v for v in got] == want
    assert got.notna().sum() > 1500


def test_title_jaccard_matches_python_sets_on_random_titles():
    rng = np.random.default_rng(7)
    titles = [
        " ".join(WORDS[k] for k in rng.integers(0, len(WORDS), rng.integers(0, 7)))
        for _ in range(2000)
    ] + [None, "", "The 4x4 kei truck", "ÄÖÜ", "5\u212a İ"]
    a, b = rng.integers(0, len(titles), (2, 5000))
    got = identity.title_jaccard(pa.array(titles, pa.large_string()), a, b)
    want = [
        _jaccard(title_words(titles[x]), title_words(titles[y])) for x, y in zip(a, b, strict=True)
    ]
    np.testing.assert_array_equal(got, np.array(want))
    assert ((got > 0) & (got < 1)).sum() > 500


@pytest.mark.parametrize("seed", [1, 2])
def test_smallest_in_clusters_matches_a_union_find(seed):
    rng = np.random.default_rng(seed)
    names = np.array([f"src:{n}" for n in rng.permutation(3000)], dtype=object)
    # long chains and stars as well as pairs, links in random order and direction
    chain = rng.permutation(3000)[:400]
    a = np.concatenate([chain[:-1], rng.integers(0, 3000, 800), np.full(30, 7)])
    b = np.concatenate([chain[1:], rng.integers(0, 3000, 800), rng.integers(0, 3000, 30)])
    flip = rng.random(a.size) < 0.5
    a, b = np.where(flip, b, a), np.where(flip, a, b)
    parent = {}

    def root(k):
        while parent.setdefault(k, k) != k:
            k = parent[k]
        return k

    for x, y in zip(names[a], names[b], strict=True):
        rx, ry = root(x), root(y)
        parent[max(rx, ry)] = min(rx, ry)
    ids, smallest = identity.smallest_in_clusters(names, a, b)
    assert ids.tolist() == sorted(set(a.tolist()) | set(b.tolist()))
    assert smallest.tolist() == [root(k) for k in names[ids]]
    assert len(set(smallest.tolist())) < ids.size / 2


@pytest.mark.parametrize("typed", [False, True], ids=["object", "typed"])
def test_add_family_matches_family_of_row_by_row(typed):
    listings = random_listings(9)
    listings = as_read_from_the_database(listings) if typed else listings
    listings.loc[::7, "year"] = None
    got = add_family(listings)["family"]
    want = [
        family_of(*(None if pd.isna(v) else v for v in row))
        for row in zip(listings["model"], listings["year"], listings["model_code"], strict=True)
    ]
    assert [None if pd.isna(v) else v for v in got] == want
    assert len(set(want)) > 5


EDGE_CASES = {
    "empty": pd.DataFrame({"source": [], "listing_id": [], "title": []}, dtype="str"),
    "empty, object columns": pd.DataFrame({"source": [], "listing_id": []}),
    "one row": pd.DataFrame({"source": ["a"], "listing_id": ["1"], "title": ["DD51T-123456"]}),
    "no text columns": pd.DataFrame(
        {
            "source": ["a", "b"],
            "listing_id": ["1", "2"],
            "model": ["Suzuki Carry"] * 2,
            "year": [1996, 1996],
            "mileage_mi": [100, 120],
        }
    ),
    "frame numbers given": pd.DataFrame(
        {
            "source": ["a", "b", "c"],
            "listing_id": ["1", "2", "3"],
            "identity": [None, "b:2", None],
            "frame_number": ["DD51T-1", "DD51T-1", None],
        }
    ),
}


@pytest.mark.parametrize("listings", EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_assign_truck_ids_matches_the_reference_on_edge_cases(listings):
    pd.testing.assert_frame_equal(assign_truck_ids(listings), reference_truck_ids(listings))
