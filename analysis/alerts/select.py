"""Which candidate alerts to raise: once per truck identity and rule, again only after a further
drop of ``refire_drop_usd``, and at most the daily cap (capped ones wait for the next night)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from analysis.alerts.settings import CAPPED_KINDS, REFIRE_KINDS
from analysis.frames import usd
from pipelines import alert_store


def select_alerts(
    candidates: pd.DataFrame,
    memory: Mapping[tuple[str, str], alert_store.AlertMemory],
    *,
    refire_drop_usd: float,
    cap: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(to raise, deferred by the cap) from ``candidates`` in their order.

    A (kind, identity) already in ``memory`` is skipped, unless its rule may refire and the
    price is now at least ``refire_drop_usd`` under the lowest price it was alerted at. At
    most ``cap`` alerts of ``CAPPED_KINDS`` are raised; the rest are deferred (not recorded,
    so they come back the next night while they still hold).
    """
    keep, defer, reasons = [], [], []
    capped = 0
    for index, row in candidates.iterrows():
        reason = row["reason"]
        before = memory.get((row["kind"], row["identity"]))
        if before is not None:
            price, low = row["price_usd"], before.lowest_price_usd
            if (
                row["kind"] not in REFIRE_KINDS
                or pd.isna(price)
                or low is None
                or price > low - refire_drop_usd
            ):
                continue
            reason = f"{reason}; down a further {usd(low - price)} since the alert at {usd(low)}"
        if row["kind"] in CAPPED_KINDS:
            if capped >= cap:
                defer.append(index)
                continue
            capped += 1
        keep.append(index)
        reasons.append(reason)
    chosen = candidates.loc[keep].assign(reason=reasons).reset_index(drop=True)
    return chosen, candidates.loc[defer].reset_index(drop=True)
