"""JSON Lines in, JSON Lines out: raw listings through ``normalize_listing``.

``normalize_stream`` is the engine of the ``keitrucks normalize`` command. Each input line is
one raw listing object (the raw fields of DESIGN.md, with ``scraped_at``); each output line is
the same object with the normalized fields added (and ``normalize_notes`` when there are any),
in input order. A line that is not a JSON object, or that fails to normalize, gets one error
line on ``err`` naming its line number, and the rest still flows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from pipelines.normalize import normalize_listing
from scrapers.items import NORMALIZED_FIELDS

logger = logging.getLogger(__name__)


def normalize_record(record: Mapping[str, Any], *, config: Mapping | None = None) -> dict:
    """The record with its normalized fields set (raw fields are kept as they are)."""
    result = normalize_listing(record, config=config)
    out = dict(record)
    out.update({name: result[name] for name in NORMALIZED_FIELDS})
    if result["normalize_notes"]:
        out["normalize_notes"] = result["normalize_notes"]
    else:
        out.pop("normalize_notes", None)
    return out


def normalize_stream(
    lines: Iterable[str], out: TextIO, err: TextIO, *, config: Mapping | None = None
) -> int:
    """Normalize every JSON line of ``lines`` onto ``out``; return how many lines failed.
    Blank lines are skipped silently."""
    failed = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            failed += 1
            err.write(f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})\n")
            continue
        if not isinstance(record, dict):
            failed += 1
            err.write(f"line {number}: expected a JSON object, got {type(record).__name__}\n")
            continue
        try:
            normalized = normalize_record(record, config=config)
        except Exception as exc:  # one bad record must not stop the stream
            failed += 1
            logger.debug("normalize failed on line %d", number, exc_info=True)
            err.write(f"line {number}: could not normalize ({type(exc).__name__}: {exc})\n")
            continue
        out.write(json.dumps(normalized, ensure_ascii=False) + "\n")
    return failed
