"""Every text the tests and the sample catalog hold, through the whole normalizer, against its
output as pinned before the field readers were rewritten for speed.

The texts: every string literal of the normalizer's test files (read with ``ast``), each put to
the normalizer in several roles (a title, a description, every raw field at once, two sets of a
site's attributes, on a US marketplace and on a Japanese exporter); every listing of
``tests/cases/messy_listings.jsonl``, of the golden fixture snapshot and of the team's labelled
cases in ``../shared/reference`` (when that folder is there); and each truck of the sample
catalog, as its own source shows it and as a Craigslist posting.

``tests/fixtures/normalize/pinned_outputs.txt`` holds one line per input: a digest of the input
and a digest of what ``normalize_listing`` returned for it in every role. Digests keep the file
small and copy no text; a failure prints the input and what the normalizer returns now.
``--update-golden`` rewrites the file from the current code: only do it for an intended change
of output (a new rule), and say so in the commit. Inputs added to the tests after the file was
written are not compared until then.

The same inputs are normalized twice, caches cleared before the first pass: the second pass
(every per-text cache warm) must give the same output as the first. And the readers' fast paths
for the usual shapes of a field ("$5,500", "45,812 mi") must give what the general readers give.
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keitrucks.core import tables
from keitrucks.sample.catalog import build_catalog
from pipelines.normalize import clean_text, clear_caches, mileage, normalize_listing, price
from tests.conftest import FIXTURES, SHARED, TESTS_DIR

PINNED = FIXTURES / "normalize" / "pinned_outputs.txt"
#: The test files whose string literals are read (the normalizer's and its pipeline's).
TEXT_SOURCES = (
    *sorted(TESTS_DIR.glob("test_normalize*.py")),
    TESTS_DIR / "test_pipelines.py",
    TESTS_DIR / "test_landed.py",
    TESTS_DIR / "test_storage_batch.py",
)
LISTING_FILES = (
    TESTS_DIR / "cases" / "messy_listings.jsonl",
    SHARED / "reference" / "normalization_cases.jsonl",
)
SCRAPED_AT = "2026-11-20T06:00:00Z"
#: What each role fills with a text besides the text itself.
BASE = {"listing_id": "x", "url": "https://example.test/x", "scraped_at": SCRAPED_AT}
RAW_FIELDS = (
    "make_model_raw",
    "year_raw",
    "mileage_raw",
    "price_raw",
    "drive_raw",
    "transmission_raw",
    "status_raw",
    "location_raw",
)
#: Two sets of attribute groups (``attribute_labels.csv``): a text in every group of a set.
ATTRIBUTE_SETS = (
    ("make", "code", "build", "mileage", "drive", "engine", "title_status", "postal_code"),
    ("model", "frame", "registration", "model_year", "transmission", "body", "condition"),
)


def literal_texts() -> set[str]:
    """Every string literal with a letter or a digit in the test files of ``TEXT_SOURCES``."""
    out = set()
    for path in TEXT_SOURCES:
        if not path.exists():
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            value = node.value if isinstance(node, ast.Constant) else None
            if isinstance(value, str) and any(c.isalnum() for c in value):
                out.add(value)
    return out


def roles(text: str) -> list[dict]:
    """The raw listings that put ``text`` to the normalizer in each role."""
    labels = tables.attribute_labels()
    out = [
        {**BASE, "source": "craigslist", "title": text},
        {**BASE, "source": "tcv", "title": text},
        {**BASE, "source": "craigslist", "description": text},
        {**BASE, "source": "craigslist", **dict.fromkeys(RAW_FIELDS, text)},
    ]
    for source, groups in zip(("craigslist", "beforward"), ATTRIBUTE_SETS, strict=True):
        attributes = {labels[group][0]: text for group in groups}
        out.append({**BASE, "source": source, "title": "kei truck", "attributes": attributes})
    return out


def catalog_listings() -> Iterator[dict]:
    """Each sample truck as its own source shows it, and as a Craigslist posting."""
    for truck in build_catalog():
        state = next((s for s in truck.nights if s and s.price), None)
        price = f"${state.price:,}" if state else None
        unit = "km" if truck.mileage_unit == "km" else "mi"
        mileage = f"{truck.mileage:,} {unit}" if truck.mileage else None
        drive = None if truck.is_4wd is None else ("4WD" if truck.is_4wd else "2WD")
        common = {
            **BASE,
            "listing_id": truck.listing_id,
            "title": truck.title,
            "description": truck.description or None,
            "location_raw": truck.location,
            "latitude": truck.latitude,
            "longitude": truck.longitude,
        }
        yield {
            **common,
            "source": truck.source,
            "price_raw": price,
            "year_raw": f"{truck.year}/{truck.month}" if truck.month else truck.year,
            "mileage_raw": mileage,
            "drive_raw": drive,
            "transmission_raw": truck.transmission,
            "make_model_raw": truck.model,
            "attributes": {
                "Model code": truck.model_code or "-",
                "Engine": f"{truck.engine_cc}cc" if truck.engine_cc else "-",
                "title status": truck.title_status,
            },
        }
        yield {
            **common,
            "source": "craigslist",
            "price_raw": price,
            "attributes": {"odometer": truck.mileage, "drive": drive, "condition": "good"},
        }


def listing_files() -> Iterator[dict]:
    for path in LISTING_FILES:
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    yield json.loads(line)["input"]
    snapshot = FIXTURES / "normalize" / "fixture_listings.json"
    for entry in json.loads(snapshot.read_text(encoding="utf-8")):
        yield entry["raw"]


def digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=repr)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def inputs() -> dict[str, list[dict]]:
    """Input digest -> the raw listings it stands for."""
    out = {digest(["text", text]): roles(text) for text in sorted(literal_texts())}
    for raw in [*catalog_listings(), *listing_files()]:
        out[digest(["listing", raw])] = [raw]
    return out


def outputs(cases: dict[str, list[dict]]) -> dict[str, str]:
    return {
        key: digest([normalize_listing(raw) for raw in listings]) for key, listings in cases.items()
    }


@pytest.fixture(scope="module")
def cases() -> dict[str, list[dict]]:
    return inputs()


@pytest.fixture(scope="module")
def cold(cases) -> dict[str, str]:
    clear_caches()
    return outputs(cases)


def read_pinned() -> dict[str, str]:
    lines = PINNED.read_text(encoding="utf-8").splitlines()
    return dict(line.split() for line in lines if line and not line.startswith("#"))


def test_every_text_normalizes_as_pinned(cases, cold, update_golden):
    if update_golden:
        header = "# input digest, output digest: see tests/test_normalize_pinned.py\n"
        body = "".join(f"{key} {value}\n" for key, value in sorted(cold.items()))
        PINNED.write_text(header + body, encoding="utf-8")
        return
    pinned = read_pinned()
    compared = [key for key in cold if key in pinned]
    assert len(compared) >= 2000, "few inputs left to compare; see the module's docstring"
    wrong = [key for key in compared if cold[key] != pinned[key]]
    shown = [
        json.dumps(
            {"input": cases[key], "now": [normalize_listing(raw) for raw in cases[key]]},
            ensure_ascii=False,
            default=repr,
        )
        for key in wrong[:5]
    ]
    assert not wrong, f"{len(wrong)} of {len(compared)} inputs changed, e.g.:\n" + "\n".join(shown)


def test_warm_caches_give_what_cold_ones_gave(cases, cold):
    warm = outputs(cases)
    assert [key for key in cold if warm[key] != cold[key]] == []


# --- the fast paths read what the general readers read ------------------------------------------

FIGURES = st.one_of(
    st.integers(0, 99),
    st.integers(0, 2_000_000),
    st.integers(0, 10**10),
    st.from_regex(r"0[0-9]{1,5}", fullmatch=True),
)


def written(figure: int | str, commas: bool) -> str:
    return f"{figure:,}" if commas and isinstance(figure, int) else str(figure)


@settings(max_examples=400, deadline=None)
@given(
    figure=FIGURES,
    commas=st.booleans(),
    prefix=st.sampled_from(["$", "USD $", "US$", "$ ", "", "¥"]),
)
def test_a_plain_dollar_price_reads_as_price_parser_reads_it(figure, commas, prefix):
    text = prefix + written(figure, commas)
    assert price.normalize_price(text) == price._parsed_price(clean_text(text), None)


@settings(max_examples=400, deadline=None)
@given(
    figure=FIGURES,
    commas=st.booleans(),
    unit=st.sampled_from(["", " mi", "mi", " miles", " Mile", " km", "KM", " kms", " k", " mls"]),
    unitless_miles=st.booleans(),
)
def test_a_plain_odometer_field_reads_as_the_general_patterns_read_it(
    figure, commas, unit, unitless_miles
):
    text = written(figure, commas) + unit
    fast = mileage.scan_mileage(text, unitless_miles)
    assert fast == mileage._scanned(clean_text(text), unitless_miles)
