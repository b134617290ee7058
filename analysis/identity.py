"""Which truck is this: platform families of rebadged models, and one id per physical truck.

Kei trucks are sold under several badges on a few platforms (a Mazda Scrum is a Suzuki Carry,
a Toyota Pixis is a Daihatsu Hijet ...). ``family_of`` maps a canonical model (as
``pipelines.normalize`` writes it) to its platform with the normalizer's reference tables
(``keitrucks.core.tables``: model generations and chassis codes), and nothing else.

``assign_truck_ids`` recognises the same truck listed on several sites, or reposted under a new
id without a ``repost_of`` link: by frame number where a listing shows one ("DD51T-123456"),
otherwise by a fingerprint (model code, year, drive, mileage, price, location, title words)
scored to a confidence. Storage already joins explicit reposts through the ``identity`` column;
this adds ``truck_id`` (the smallest identity of the cluster) and ``match_confidence``.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from keitrucks.core import tables
from keitrucks.core.tables import platform_for


def family_of(
    model: str | None, year: int | None = None, model_code: str | None = None
) -> str | None:
    """The platform family of a canonical model, e.g. "Mazda Scrum" -> "Suzuki Carry".

    All from the reference tables: ``platform_for`` decides first (model code, then model and
    year); otherwise a known chassis code the code extends or abbreviates ("S500" for S500P,
    S500J, S500U), then the model's generations (the latest one begun by that year, else the
    first), then the models the name abbreviates ("Toyota Pixis"). An unknown model gives None,
    a model in no table is its own family.
    """
    model = None if model is None or pd.isna(model) else str(model)
    year = None if year is None or pd.isna(year) else int(year)
    code = "" if model_code is None or pd.isna(model_code) else str(model_code).upper()
    code = code.split("-", 1)[-1]
    known = platform_for(model, year, code or None)
    if known:
        return known
    if code and (by_code := _platform_of_code(code)):
        return by_code
    if not model:
        return None
    return _platform_of_model(model, year) or model


def _one(platforms: set[str]) -> str | None:
    return platforms.pop() if len(platforms) == 1 else None


@lru_cache(maxsize=1024)
def _platform_of_code(code: str) -> str | None:
    """The platform of the known chassis codes that ``code`` extends ("DA16TX") or, for codes of
    four characters or more, abbreviates ("S500"), when they agree."""
    return _one(
        {
            info.platform
            for known, info in tables.model_codes().items()
            if code.startswith(known) or (len(code) >= 4 and known.startswith(code))
        }
    )


@lru_cache(maxsize=1024)
def _platform_of_model(model: str, year: int | None) -> str | None:
    """The platform of the model's generation begun most recently by ``year`` (the first
    generation without a year), else of the canonical models whose name begins with ``model``
    when they agree."""
    rows = [g for g in tables.generations() if g.model == model]
    if rows:
        started = [g for g in rows if year is not None and (g.start or (0, 0))[0] <= year]
        first = min(rows, key=lambda g: g.start or (0, 0))
        latest = max(started, key=lambda g: g.start or (0, 0)) if started else first
        return latest.platform
    return _one({g.platform for g in tables.generations() if g.model.startswith(model + " ")})


@cache
def rebadges_of(family: str) -> tuple[str, ...]:
    """The other truck badges that belong to ``family`` ("Suzuki Carry" -> "Mazda Scrum",
    "Nissan Clipper" ...), from the reference tables; vans are left out."""
    models = {
        m
        for m, info in tables.model_info().items()
        if m != family and info.get("kind") == "truck" and family_of(m) == family
    }
    return tuple(sorted(models))


def add_family(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with a ``family`` column (None when unknown) from model, year and model_code."""
    columns = [c for c in ("model", "year", "model_code") if c in df.columns]
    # family_of once per distinct (model, year, model code): a few hundred among 200k listings
    combo = np.zeros(len(df), dtype=np.int64)  # a number per distinct combination
    for col in columns:
        codes = pd.factorize(df[col])[0] + 1  # 0: missing
        combo = pd.factorize(combo * (int(codes.max(initial=0)) + 1) + codes)[0]
    one = np.empty(int(combo.max(initial=-1)) + 1, dtype=np.int64)
    one[combo] = np.arange(len(df))  # a row of each combination
    sample = [_arr(df.iloc[one], c) for c in ("model", "year", "model_code")]
    families = [family_of(*values) for values in zip(*sample, strict=True)]
    return df.assign(family=np.array(families, dtype=object)[combo])


# -- frame numbers ------------------------------------------------------------------------------

#: A Japanese frame (chassis) number: model code, dash, serial ("DD51T-123456", "HA4-1012345").
FRAME_RE = re.compile(r"\b(?P<code>[A-Z]{1,3}\d{1,3}[A-Z]{0,2})[- ](?P<serial>\d{5,7})\b")
#: A 17-character VIN (no I, O, Q).
VIN_RE = re.compile(r"\b(?P<vin>[A-HJ-NPR-Z0-9]{17})\b")


def parse_frame_number(*texts: str | None) -> str | None:
    """The first frame number or VIN found in the texts, normalized ("DD51T-123456")."""
    for text in texts:
        if found := _frame_in(text):
            return found
    return None


def _frame_in(text: str | None) -> str | None:
    """The frame number or VIN of one text: its first VIN if that has a letter and a digit,
    else its first frame number."""
    if not text or not isinstance(text, str):
        return None
    upper = text.upper()
    vin = VIN_RE.search(upper)
    if (
        vin
        and any(ch.isdigit() for ch in vin.group(1))
        and any(ch.isalpha() for ch in vin.group(1))
    ):
        return vin.group(1)
    frame = FRAME_RE.search(upper)
    return f"{frame.group(1)}-{frame.group(2)}" if frame else None


def frame_numbers(*columns: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """``parse_frame_number`` of each row's texts, given as text columns of equal length (an
    object array, None where no text shows one)."""
    found = np.full(len(columns[0]), None, dtype=object)
    todo = np.ones(len(found), dtype=bool)  # rows whose earlier texts showed none
    for texts in columns:
        if texts.null_count == len(texts):
            continue
        rows = np.flatnonzero(todo & pc.is_valid(texts).to_numpy(zero_copy_only=False))
        found[rows] = _frames_in(texts.take(rows))
        todo[rows] = pd.isna(found[rows])
    return found


def _frames_in(texts: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """``_frame_in`` of each text, as an object array: pyarrow's RE2 on ASCII texts, Python's
    ``re`` on the others (RE2's ``\\b`` and ``\\d`` and ``str.upper`` agree with Python's on ASCII
    text only)."""
    texts = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
    upper = pc.ascii_upper(texts)
    vin = pc.struct_field(pc.extract_regex(upper, VIN_RE.pattern), [0])
    with_both = pc.and_(
        pc.match_substring_regex(vin, "[0-9]"), pc.match_substring_regex(vin, "[A-Z]")
    )
    parts = pc.extract_regex(upper, FRAME_RE.pattern)
    frame = pc.binary_join_element_wise(
        pc.struct_field(parts, [0]), pc.struct_field(parts, [1]), pa.scalar("-", texts.type)
    )
    found = pc.if_else(pc.fill_null(with_both, False), vin, frame).to_numpy(zero_copy_only=False)
    ascii_only = pc.fill_null(pc.string_is_ascii(texts), True)
    other = np.flatnonzero(~ascii_only.to_numpy(zero_copy_only=False))
    found[other] = [_frame_in(t) for t in texts.take(other).to_pylist()]
    return found


def _arrow_text(df: pd.DataFrame, col: str) -> pa.Array | pa.ChunkedArray:
    """Column ``col`` of ``df`` as Arrow large text (pandas' str dtype): null where missing, not
    text, or absent."""
    if col not in df.columns:
        return pa.nulls(len(df), pa.large_string())
    series = df[col]
    if isinstance(series.array, pd.arrays.ArrowStringArray):
        return pa.array(series.array).cast(pa.large_string())
    values = series.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        values = np.array([v if isinstance(v, str) else None for v in values], dtype=object)
    return pa.array(values, type=pa.large_string(), from_pandas=True)


# -- fingerprints -------------------------------------------------------------------------------

#: Confidence at or above which two listings are taken to be the same truck.
MATCH_THRESHOLD = 0.8
_STOP = frozenset(
    [
        "the",
        "a",
        "and",
        "for",
        "with",
        "mini",
        "kei",
        "truck",
        "trucks",
        "4x4",
        "4wd",
        "2wd",
        "sale",
        "runs",
        "great",
    ]
)
_WORD_RE = re.compile(r"[a-z0-9]+")


def title_words(title: str | None) -> frozenset[str]:
    """The words of a title that tell trucks apart (lower case, stop words left out)."""
    if not title or not isinstance(title, str):
        return frozenset()
    return frozenset(_WORD_RE.findall(title.lower())) - _STOP


def title_jaccard(titles: pa.Array | pa.ChunkedArray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For pairs of rows ``a[m]``, ``b[m]`` of ``titles``: the share of their ``title_words``
    they have in common (Jaccard similarity), 0 when either title has none."""
    if a.size == 0:
        return np.zeros(0)
    rows = sorted_unique(np.concatenate([a, b]))
    codes, starts, counts = _word_sets(titles.take(rows))
    at, bt = np.searchsorted(rows, a), np.searchsorted(rows, b)
    la, lb = counts[at], counts[bt]
    # each pair's words of both titles tagged with the pair: a word both have comes up twice
    width = int(codes.max()) + 1 if codes.size else 1
    key = np.concatenate(
        [
            np.repeat(np.arange(a.size), la) * width + codes[_spans(starts[at], la)],
            np.repeat(np.arange(a.size), lb) * width + codes[_spans(starts[bt], lb)],
        ]
    )
    key.sort()
    shared = np.bincount(key[1:][key[1:] == key[:-1]] // width, minlength=a.size)
    return np.where((la > 0) & (lb > 0), shared / np.maximum(la + lb - shared, 1), 0.0)


def _word_sets(titles: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``title_words`` of each title as integer word codes: title ``r``'s are
    ``codes[starts[r]:starts[r] + counts[r]]``. pyarrow splits ASCII titles; Python splits the
    others (its ``str.lower`` turns some non-ASCII letters into ASCII ones)."""
    titles = titles.combine_chunks() if isinstance(titles, pa.ChunkedArray) else titles
    split = pc.split_pattern_regex(pc.ascii_lower(titles), "[^a-z0-9]+")
    owner = pc.list_parent_indices(split).to_numpy()
    words = pc.list_flatten(split)
    ascii_only = pc.fill_null(pc.string_is_ascii(titles), True).to_numpy(zero_copy_only=False)
    wanted = pc.and_(
        pc.greater(pc.binary_length(words), 0),
        pc.invert(pc.is_in(words, value_set=pa.array(sorted(_STOP), words.type))),
    )
    keep = ascii_only[owner] & wanted.to_numpy(zero_copy_only=False)
    other = np.flatnonzero(~ascii_only)
    other_words = [sorted(title_words(t)) for t in titles.take(other).to_pylist()]
    words = pa.concat_arrays(
        [words.filter(keep), pa.array([w for ws in other_words for w in ws], words.type)]
    )
    owner = np.concatenate([owner[keep], np.repeat(other, [len(ws) for ws in other_words])])
    encoded = pc.dictionary_encode(words)
    width = max(len(encoded.dictionary), 1)
    # one code per (title, word): a title's words as a set
    pairs = sorted_unique(owner.astype(np.int64) * width + encoded.indices.to_numpy())
    counts = np.bincount(pairs // width, minlength=len(titles))
    return pairs % width, np.cumsum(counts) - counts, counts


def _spans(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The positions ``start, start + 1 ... start + length - 1`` of each span, one after another."""
    ends = np.cumsum(lengths)
    return np.repeat(starts - (ends - lengths), lengths) + np.arange(ends[-1] if ends.size else 0)


def _arr(df: pd.DataFrame, col: str, dtype: str = "object") -> np.ndarray:
    if col not in df.columns:
        return np.full(len(df), np.nan if dtype == "float64" else None, dtype=dtype)
    series = df[col]
    if dtype == "float64":
        return pd.to_numeric(series, errors="coerce").astype("float64").to_numpy(na_value=np.nan)
    return series.astype("object").where(series.notna(), None).to_numpy()


def _close(a: np.ndarray, b: np.ndarray, rel: float, absolute: float = 0.0) -> np.ndarray:
    limit = np.maximum(absolute, rel * np.maximum(np.abs(a), np.abs(b)))
    with np.errstate(invalid="ignore"):
        return np.abs(a - b) <= limit  # NaN compares False: unknown is never close


def _bare_code(code) -> str | None:
    if not isinstance(code, str) or not code:
        return None
    return code.upper().split("-", 1)[-1]


def pair_confidence(df: pd.DataFrame, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """How sure we are that rows ``i`` and ``j`` of ``df`` (positions) are the same truck, 0-1.

    Frame numbers decide alone: equal -> 1.0, different -> 0.0. Otherwise the pair needs the
    same family and year, no conflicting drive or model code, and mileage within 3% (or
    500 mi): that gives 0.3; mileage within 0.5% (or 50 mi) +0.25, both model codes known
    (and equal) +0.1, price within 5% on the same basis +0.1, the same place (location text,
    or coordinates within ~50 km) +0.15, and up to +0.2 for shared title words. Capped at
    0.99. With ``MATCH_THRESHOLD`` 0.8, two listings without near-identical mileage only match
    on the same model code, price, place and title words.
    """
    i, j = np.asarray(i, dtype=int), np.asarray(j, dtype=int)
    if i.size == 0:
        return np.zeros(0)
    # text columns as integer codes (-1 unknown): comparing a million pairs of ints is cheap
    frame = _text_codes(df, "frame_number")
    both_frames = (frame[i] >= 0) & (frame[j] >= 0)
    out = np.where(both_frames, (frame[i] == frame[j]).astype(float), 0.0)
    k = np.flatnonzero(~both_frames)
    a, b = i[k], j[k]
    rows = _fingerprint_rows(df)
    same = _same_truck(rows, a, b)
    k, a, b = k[same], a[same], b[same]
    miles = rows.miles
    price = _arr(df, "price_usd", "float64")
    basis = _text_codes(df, "price_basis")
    place = _text_codes(
        df,
        "location_raw",
        lambda p: p.strip().lower() if isinstance(p, str) and p.strip() else None,
    )
    lat, lon = _arr(df, "latitude", "float64"), _arr(df, "longitude", "float64")
    score = 0.3 + 0.25 * _close(miles[a], miles[b], 0.005, 50)
    score += 0.1 * ((rows.code[a] >= 0) & (rows.code[b] >= 0))
    same_basis = (basis[a] == basis[b]) & (basis[a] >= 0)
    score += 0.1 * (same_basis & _close(price[a], price[b], 0.05))
    near = (np.abs(lat[a] - lat[b]) < 0.45) & (np.abs(lon[a] - lon[b]) < 0.55)
    score += 0.15 * (((place[a] == place[b]) & (place[a] >= 0)) | near)
    # title words only where they can still matter (the costly part)
    maybe = np.flatnonzero(score + 0.2 >= MATCH_THRESHOLD - 1e-9)
    score[maybe] += 0.2 * title_jaccard(_arrow_text(df, "title"), a[maybe], b[maybe])
    out[k] = np.round(np.minimum(score, 0.99), 3)
    return out


class _Rows(NamedTuple):
    """What the fingerprint's conditions compare, one value per row: the (family, year) block,
    the drive and the bare model code as integer codes (-1 unknown), the mileage."""

    block: np.ndarray
    drive: np.ndarray
    code: np.ndarray
    miles: np.ndarray


def _fingerprint_rows(df: pd.DataFrame) -> _Rows:
    """``_Rows`` of ``df``."""
    family = _text_codes(df, "family")
    year = pd.factorize(_arr(df, "year", "float64"))[0]
    width = int(year.max()) + 1 if year.size else 1
    return _Rows(
        block=np.where((family >= 0) & (year >= 0), family * width + year, -1),
        drive=pd.factorize(_arr(df, "is_4wd", "float64"))[0],
        code=_text_codes(df, "model_code", _bare_code),
        miles=_arr(df, "mileage_mi", "float64"),
    )


def _same_truck(rows: _Rows, a: np.ndarray | slice, b: np.ndarray | slice) -> np.ndarray:
    """Whether each pair of rows ``a``, ``b`` (positions or slices) may be one truck by its
    fingerprint: the same known family and year, no conflicting drive or model code, mileage
    within 3% (or 500 mi)."""
    block = rows.block[a]
    return (
        (block == rows.block[b])
        & (block >= 0)
        & _compatible(rows.drive[a], rows.drive[b])
        & _compatible(rows.code[a], rows.code[b])
        & _close(rows.miles[a], rows.miles[b], 0.03, 500)
    )


def _compatible(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Codes that do not conflict: equal, or either unknown (-1)."""
    return (a == b) | (a < 0) | (b < 0)


def _text_codes(df: pd.DataFrame, col: str, clean=None) -> np.ndarray:
    """An integer per distinct value of column ``col`` (-1 for missing or an absent column),
    after ``clean`` (value -> value or None) applied once per distinct value."""
    if col not in df.columns:
        return np.full(len(df), -1)
    codes, uniques = pd.factorize(df[col])
    if clean is None:
        return codes
    cleaned = [clean(u) for u in uniques]
    again, _ = pd.factorize(np.array([*cleaned, None], dtype=object))
    return np.where(codes >= 0, again[codes], -1)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` of integers by a plain sort (NumPy 2's hash-based unique is many times
    slower on a million distinct values)."""
    ordered = np.sort(values)
    return ordered[np.append([True], ordered[1:] != ordered[:-1])[: ordered.size]]


def fingerprint_confidence(a: dict, b: dict) -> float:
    """``pair_confidence`` of two listings given as dicts of listing columns."""
    df = pd.DataFrame([a, b])
    if "family" not in df.columns:
        df = add_family(df)
    return float(pair_confidence(df, np.array([0]), np.array([1]))[0])


def smallest_in_clusters(
    names: np.ndarray, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The clusters that links ``a[m]``-``b[m]`` (integer ids) join: each linked id (sorted) and
    the smallest name (``names[id]``) in its cluster."""
    ids = sorted_unique(np.concatenate([a, b]))
    # numbered in name order, a cluster's smallest number is its smallest name
    by_name = np.argsort(names[ids], kind="stable")
    number = np.empty_like(by_name)
    number[by_name] = np.arange(ids.size)
    u, v = number[np.searchsorted(ids, a)], number[np.searchsorted(ids, b)]
    # each node takes the smallest number across its links, then its node's (pointer jumping),
    # until no link joins two numbers: a few rounds, as clusters are small
    label = np.arange(ids.size)
    while True:
        low = np.minimum(label[u], label[v])
        new = label.copy()
        np.minimum.at(new, u, low)
        np.minimum.at(new, v, low)
        new = new[new]
        if np.array_equal(new, label):
            return ids, names[ids][by_name][label[number]]
        label = new


#: How many neighbours (sorted by mileage within family/year) each listing is compared with.
NEIGHBOURS = 6


def candidate_pairs(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Row positions (i < j) of pairs worth scoring: the same frame number, or neighbours by
    mileage within the same family and year (``NEIGHBOURS`` deep) that may be one truck by their
    fingerprint. Sorted-neighbourhood blocking keeps this linear.
    """
    parts_i, parts_j = [], []
    frames = df["frame_number"].to_numpy(dtype=object)
    has_frame = np.flatnonzero(pd.notna(frames))
    if has_frame.size:
        order = has_frame[np.argsort(frames[has_frame].astype(str), kind="stable")]
        same = frames[order[:-1]] == frames[order[1:]]
        parts_i.append(order[:-1][same])
        parts_j.append(order[1:][same])
    rows = _fingerprint_rows(df)
    pos = np.flatnonzero((rows.block >= 0) & ~np.isnan(rows.miles))
    if pos.size:
        ordered = _Rows(*(column[pos] for column in rows))
        order = np.lexsort((pos, ordered.miles, ordered.block))
        p, ordered = pos[order], _Rows(*(column[order] for column in ordered))
        for k in range(1, NEIGHBOURS + 1):
            keep = _same_truck(ordered, slice(None, -k), slice(k, None))
            parts_i.append(p[:-k][keep])
            parts_j.append(p[k:][keep])
    if not parts_i:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    a, b = np.concatenate(parts_i), np.concatenate(parts_j)
    low, high = np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)
    pairs = sorted_unique(low * len(df) + high)
    return pairs // len(df), pairs % len(df)


def _identities(df: pd.DataFrame) -> pd.Series:
    """Storage's identity of each row, "source:listing_id" where it has none."""
    if "identity" not in df.columns:
        return df["source"].astype(str) + ":" + df["listing_id"].astype(str)
    identity = df["identity"].astype("object")
    missing = identity.isna()
    if not missing.any():
        return identity
    own = df.loc[missing, "source"].astype(str) + ":" + df.loc[missing, "listing_id"].astype(str)
    return identity.where(~missing, own)


def assign_truck_ids(listings: pd.DataFrame, *, threshold: float = MATCH_THRESHOLD) -> pd.DataFrame:
    """``listings`` with ``truck_id`` (one per physical truck) and ``match_confidence``.

    Starts from storage's ``identity`` (explicit reposts already share it), adds frame numbers
    (``frame_number`` column, or parsed from title/description/attributes when absent) and
    joins listings whose ``pair_confidence`` reaches ``threshold``. ``truck_id`` is the
    smallest identity in the cluster, so it is stable as long as the cluster's oldest member
    stays; ``match_confidence`` is the best confidence linking the row to another member of its
    cluster (1.0 for frame numbers and explicit reposts, NaN when it stands alone).
    """
    df = listings.reset_index(drop=True)
    df = df.assign(identity=_identities(df))
    if "family" not in df.columns:
        df = add_family(df)
    if "frame_number" not in df.columns:
        texts = (_arrow_text(df, c) for c in ("title", "description", "attributes"))
        # a list, as pandas types it (an empty one as float64, as it always has)
        df = df.assign(frame_number=frame_numbers(*texts).tolist())
    for col in ("year", "mileage_mi"):
        if col not in df.columns:
            df[col] = None
    if df.empty:
        return df.assign(
            truck_id=pd.Series([], dtype="object"), match_confidence=pd.Series([], dtype="float64")
        )

    identities = df["identity"].to_numpy(dtype=object)
    code, names = pd.factorize(identities)  # an integer per identity: cheap to compare
    best = np.full(len(df), np.nan)
    best[np.bincount(code)[code] > 1] = 1.0
    i, j = candidate_pairs(df)
    distinct = code[i] != code[j]
    i, j = i[distinct], j[distinct]
    conf = pair_confidence(df, i, j)
    linked = conf >= threshold
    np.fmax.at(best, i[linked], conf[linked])
    np.fmax.at(best, j[linked], conf[linked])
    ids, roots = smallest_in_clusters(names, code[i[linked]], code[j[linked]])
    truck_id = identities.copy()  # identities never linked are their own truck
    at = np.searchsorted(ids, code)
    joined = at < ids.size
    joined[joined] = ids[at[joined]] == code[joined]
    truck_id[joined] = roots[at[joined]]
    return df.assign(truck_id=pd.Series(truck_id, dtype="object"), match_confidence=best)
