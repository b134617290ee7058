"""The mark a listing carries through the item pipelines once its norm key is known.

``NormalizePipeline`` sets it: (the norm key of ``pipelines.normalize.fingerprint``, whether the
normalized and derived fields were copied from the database because the key is unchanged). The
landed cost skips a copied listing; the storage writes only the crawl's bookkeeping for it, and
stores the key of every other one. It is an attribute of the item, not a Listing field, so
exports, ``asdict()`` and the golden files never see it.
"""

from __future__ import annotations

from typing import Any

NORM_MARK = "_keitrucks_norm"


def mark(item: Any, key: str | None, copied: bool) -> None:
    setattr(item, NORM_MARK, (key, copied))


def norm_mark(item: Any) -> tuple[str | None, bool] | None:
    """(norm key, copied from the database) of an item, None when it has no mark."""
    return getattr(item, NORM_MARK, None)


def copied(item: Any) -> bool:
    """Whether the item's normalized and derived fields are the stored ones, unchanged."""
    found = getattr(item, NORM_MARK, None)
    return found is not None and found[1]
