"""The ``deal_scores`` table: the nightly report's deal score of every active kei truck.

The report computes the scores (``analysis.deals.score_deals``); this module only stores them,
so Datasette's "underpriced" question and sqlite3 users read the same numbers as report.html
and deals.csv. The table holds one night: the newest report's. Regenerating an older night's
report leaves a newer night's scores in place.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from sqlite_utils import Database

logger = logging.getLogger(__name__)

#: The stored columns, in the table's order (``pipelines.schema``'s ``deal_scores``).
SCORE_COLUMNS = (
    "source",
    "listing_id",
    "as_of",
    "identity",
    "truck_id",
    "price_usd",
    "price_basis",
    "value_usd",
    "basis",
    "price_label",
    "fair_price_usd",
    "discount_pct",
    "n_comparables",
    "comparables_median_usd",
    "comparables_low_usd",
    "comparables_high_usd",
    "comparables",
    "rated",
    "why",
)


def save_deal_scores(db: Database, as_of: str, rows: Iterable[Mapping[str, Any]]) -> bool:
    """Replace the stored scores with ``rows`` (``SCORE_COLUMNS`` without ``as_of``) of the
    night ``as_of`` (YYYY-MM-DD). Returns False, storing nothing, when the table already holds a
    newer night's scores."""
    names = [c for c in SCORE_COLUMNS if c != "as_of"]
    values = [[as_of, *(row.get(c) for c in names)] for row in rows]
    with db.conn:
        db.execute("BEGIN IMMEDIATE")
        newest = db.execute("SELECT max(as_of) FROM deal_scores").fetchone()[0]
        if newest is not None and newest > as_of:
            logger.info("deal scores of %s kept: %s is older", newest, as_of)
            return False
        db.execute("DELETE FROM deal_scores")
        db.conn.executemany(
            f"INSERT INTO deal_scores (as_of, {', '.join(names)}) "
            f"VALUES ({', '.join('?' for _ in range(len(names) + 1))})",
            values,
        )
    logger.info("stored %d deal scores of %s", len(values), as_of)
    return True
