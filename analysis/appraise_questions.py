"""What a buyer should ask the seller, from what an appraised listing does not say.

The questions are a data table (``keitrucks/core/data/questions.csv``: topic, ask_when,
question, why, sources); this module holds only the tests its ``ask_when`` column names
(``ASK_WHEN``). Each topic is asked once: the first row of a topic whose test holds wins, so a
salvage title asks about the salvage, not "is the title in hand".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from keitrucks.core import tables
from pipelines.landed import LANDED_BASES
from pipelines.normalize import NON_VEHICLE_KINDS

QUESTIONS_TABLE = "questions.csv"

Listing = Mapping[str, Any]


def _known(value: Any) -> bool:
    return value is not None and value == value  # NaN is not known


def _title(listing: Listing) -> str | None:
    value = listing.get("title_status")
    return value if isinstance(value, str) else None


def _exporter(listing: Listing) -> bool:
    return listing.get("price_basis") in LANDED_BASES


def _notes(listing: Listing) -> list[str]:
    return list(listing.get("normalize_notes") or ())


#: ask_when name -> test of a normalized listing (the names the CSV may use).
ASK_WHEN: dict[str, Callable[[Listing], bool]] = {
    "always": lambda r: True,
    "not_a_kei_truck": lambda r: r.get("kind") not in ("kei_truck", "kei_van"),
    "does_not_run": lambda r: r.get("runs") is False,
    "runs_not_stated": lambda r: not _known(r.get("runs")),
    "salvage_or_rebuilt": lambda r: _title(r) in ("salvage", "branded", "rebuilt"),
    "no_title": lambda r: _title(r) == "no_title",
    "offroad_only": lambda r: _title(r) == "offroad_only",
    "title_not_stated": lambda r: _title(r) is None and not _exporter(r),
    "title_stated": lambda r: _title(r) == "clean",
    "exporter_truck": _exporter,
    "us_imported": lambda r: not _exporter(r),
    "sale_pending": lambda r: r.get("sale_pending") is True,
    "year_outside_code_window": lambda r: "year:outside_code_window" in _notes(r),
    "year_not_stated": lambda r: not _known(r.get("year")),
    "drive_not_stated": lambda r: not _known(r.get("is_4wd")),
    "is_4wd": lambda r: r.get("is_4wd") is True,
    "mileage_not_stated": lambda r: not _known(r.get("mileage_mi")),
    "mileage_stated": lambda r: _known(r.get("mileage_mi")),
}


@cache
def question_rows() -> tuple[dict[str, str], ...]:
    """The rows of the questions table; a row naming an unknown test is an error (tested)."""
    rows = tuple(tables.read_rows(QUESTIONS_TABLE))
    for row in rows:
        if row["ask_when"] not in ASK_WHEN:
            raise ValueError(f"{QUESTIONS_TABLE}: unknown ask_when {row['ask_when']!r}")
    return rows


#: The only topic asked of a listing that is not a vehicle at all (a part, a wanted ad, a toy):
#: its title, rust or 4WD mean nothing until the seller says it is a whole truck.
NOT_A_VEHICLE_TOPICS = frozenset({"kind"})


def questions_for(listing: Listing) -> list[dict[str, str]]:
    """The questions to ask about ``listing`` (a normalized listing), one per topic, in the
    table's order: each a dict of topic, question, why and sources."""
    vehicle = listing.get("kind") not in NON_VEHICLE_KINDS
    asked: dict[str, dict[str, str]] = {}
    for row in question_rows():
        if row["topic"] in asked or not ASK_WHEN[row["ask_when"]](listing):
            continue
        if not vehicle and row["topic"] not in NOT_A_VEHICLE_TOPICS:
            continue
        asked[row["topic"]] = {k: row[k] for k in ("topic", "question", "why", "sources")}
    return list(asked.values())
