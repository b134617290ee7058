"""A night of alerts: read the database, run the rules, select, record, deliver, write the digest.

``run_alerts`` records the new alerts as ``pending`` (``pipelines.alert_store``) before sending,
sends one digest per channel (or one message per alert), records each outcome, and retries what
failed or was left pending on the next run. Every run also echoes its alerts and writes the
night's digest as Markdown (``alerts-YYYY-MM-DD.md``). With no channel configured, nothing is
sent anywhere: the alerts are recorded ``not_sent``, and the console says so at WARNING with
how to add a channel, every night that raises one, so a new user is never left believing they
were notified (a night with nothing to send says nothing of channels). The digest's folder is
checked writable before any alert is recorded: a recorded alert is never raised again.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import road_rules
from analysis.alerts.delivery import build_channels, deliver, notify_urls
from analysis.alerts.messages import echo_line, render_digest
from analysis.alerts.rules import (
    evaluate_rules,
    last_crawl_day,
    match_search,
    night_runs,
    searches_for,
)
from analysis.alerts.select import select_alerts
from analysis.alerts.settings import CAPPED_KINDS, LOCAL_CHANNEL, alert_settings, notify_mode
from analysis.deals import score_deals
from analysis.frames import column, flag, identity_of, num
from analysis.load import (
    as_of_date,
    read_history_of,
    read_listings,
    read_listings_as_of,
    read_runs,
    read_source_health,
)
from analysis.trends import band_of
from pipelines import alert_store
from pipelines.landed import LANDED_BASES
from pipelines.schema import PRICE_LABELS

logger = logging.getLogger(__name__)

#: Said at WARNING on every night that raises alerts without a notification channel (the count
#: of alerts first).
NO_CHANNEL_WARNING = (
    "no notification channel configured: %d alert(s) printed here and written to the digest "
    "only, nothing sent anywhere. To be notified, put an Apprise URL (ntfy://your-topic, "
    "mailto://user:password@gmail.com, ...) in [notify] urls of your configuration or in "
    "$KEITRUCKS_NOTIFY_URLS"
)


#: Said at WARNING when the alerts' night has no crawl of its own: they read the listings as
#: the last crawl saw them, or there are none ("0 raised" would read as a quiet market).
STALE_WARNING = (
    "no crawl since %s (%d days before %s): these alerts read the listings as last seen then; "
    "run `keitrucks nightly` (or `keitrucks crawl`) for tonight's"
)
NO_CRAWL_WARNING = "no crawl on or before %s: there are no listings to alert on"


def warn_if_stale(runs: pd.DataFrame, day: dt.date) -> None:
    """A WARNING when the latest crawl up to ``day`` is older than the night before it."""
    last = last_crawl_day(runs, day)
    if last is None:
        logger.warning(NO_CRAWL_WARNING, day)
    elif (day - last).days > 1:
        logger.warning(STALE_WARNING, last, (day - last).days, day)


@dataclass
class AlertRun:
    """What one run did: the alerts raised (dicts), deliveries sent / failed, earlier rows
    retried, the digest written, and alerts held back by the daily cap for the next night.
    ``channels`` is how many notification channels were configured: with none, ``sent`` is 0
    and every alert raised was printed and written to the digest only."""

    raised: list[dict[str, Any]]
    sent: int
    failed: int
    retried: int
    digest_path: Path | None
    deferred: int = 0
    channels: int = 0


# -- the night ----------------------------------------------------------------------------------

DETAIL_COLUMNS = (
    "title",
    "year",
    "model",
    "model_code",
    "is_4wd",
    "mileage_mi",
    "location",
    "url",
    "road_claims",
    "price_label",
)


#: The state's column of a detail: an alert's row in the database keeps no price basis, so
#: the digest and a retried message name the price from the listing's (an exporter's FOB
#: price is never shown as a bare dollar figure).
DETAIL_SOURCES = {"location": "location_raw", "price_label": "price_basis"}


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _records(alerts: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: _plain(v) for k, v in row.items() if k != "rank"} for row in alerts.to_dict("records")
    ]


def _details(state: pd.DataFrame) -> dict[tuple[str, str], dict[str, Any]]:
    """(source, listing_id) -> the descriptive fields a message shows."""
    if state.empty:
        return {}
    view = pd.DataFrame(
        {
            "source": state["source"].astype(str),
            "listing_id": state["listing_id"].astype(str),
            **{c: column(state, DETAIL_SOURCES.get(c, c)) for c in DETAIL_COLUMNS},
        }
    ).assign(price_label=lambda v: v["price_label"].map(PRICE_LABELS).astype("object"))
    return {(r["source"], r["listing_id"]): r for r in _records(view)}


def _with_details(row: Mapping[str, Any], details: Mapping[tuple[str, str], dict]) -> dict:
    extra = details.get((row.get("source"), str(row.get("listing_id"))), {})
    return {**{c: extra.get(c) for c in DETAIL_COLUMNS}, **dict(row)}


def _score(state: pd.DataFrame, day: dt.date, config: Mapping[str, Any]) -> pd.DataFrame | None:
    return score_deals(state, as_of=day, config=dict(config))


def with_landed_costs(state: pd.DataFrame, stored: pd.DataFrame) -> pd.DataFrame:
    """``state`` with ``landed_usd`` taken from ``stored`` (listings table rows: the latest
    price and its landed cost) where the price as of the night is still the stored one, since
    the estimate is of the latest price; <NA> elsewhere."""
    if stored.empty or "landed_usd" not in stored.columns:
        return state.assign(landed_usd=pd.Series(pd.NA, index=state.index, dtype="Int64"))
    latest = pd.DataFrame(
        {
            "source": stored["source"].astype(str),
            "listing_id": stored["listing_id"].astype(str),
            "_price": num(stored["price_usd"]),
            "_basis": column(stored, "price_basis").astype("object"),
            "_landed": num(stored["landed_usd"]),
        }
    ).drop_duplicates(["source", "listing_id"])
    keys = pd.DataFrame(
        {"source": state["source"].astype(str), "listing_id": state["listing_id"].astype(str)}
    )
    found = keys.merge(latest, on=["source", "listing_id"], how="left").set_index(state.index)
    same = flag(found["_price"].eq(num(state["price_usd"]))) & flag(
        found["_basis"].eq(column(state, "price_basis").astype("object"))
    )
    return state.assign(landed_usd=found["_landed"].where(same, pd.NA).round().astype("Int64"))


def with_buyer_rule(
    candidates: pd.DataFrame, settings: Mapping[str, Any], config: Mapping[str, Any], day
) -> pd.DataFrame:
    """The truck alerts with the buyer's state's road rule at the end of each reason; without
    the road status the buyer asked for (``[alerts] road_status``), no underpriced alert."""
    if candidates.empty:
        return candidates
    trucks = candidates["kind"].ne("source_unhealthy")
    if not road_rules.road_use_allowed(settings["road_status"], config, day):
        candidates = candidates.loc[candidates["kind"].ne("underpriced_4wd")]
        trucks = trucks.loc[candidates.index]
    view = road_rules.buyer_view(config, day)
    if view is None:
        return candidates
    line = road_rules.rule_line(view)
    # a legal claim the buyer can check: the rule's own source, which the report links to
    url = view.rule.source_url
    if url and url.startswith(("http://", "https://")):
        line += f" (rule source: {url})"
    reasons = candidates["reason"].astype("object")
    return candidates.assign(reason=reasons.where(~trucks, reasons + "; " + line))


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def run_alerts(
    db_path: str | os.PathLike,
    *,
    as_of: dt.date | str,
    config: dict,
    dry_run: bool = False,
    digest_dir: Path | None = None,
    echo: Callable[[str], None] | None = None,
) -> AlertRun:
    """Raise the night's alerts from the database, deliver them, and record what happened.

    ``as_of`` is the night (a date or ISO string): the listings' state, the daily cap and the
    alerts' ``created_at`` are of that night, never the clock. ``dry_run`` reads only: it works
    out and echoes the alerts but records, sends and writes nothing. ``digest_dir`` receives
    ``alerts-<date>.md``; ``echo`` gets one line per alert and a summary line.

    Raises ``AlertsConfigError`` for a bad ``[alerts]``/``[notify]`` configuration and
    ``analysis.load.DatabaseMissing`` when there is no database.
    """
    say = echo or (lambda line: None)
    day = as_of_date(as_of)
    settings = alert_settings(config)
    mode = notify_mode(config)
    channels = build_channels(notify_urls(config, os.environ))
    band_low = float(band_of(config)[0])

    state = read_listings_as_of(db_path, day)
    if "landed_usd" not in state.columns:  # the as-of read does not carry the exporters' estimate
        exporters = read_listings(db_path, where="price_basis IN (?, ?, ?)", params=LANDED_BASES)
        state = with_landed_costs(state, exporters)
    scores = _score(state, day, config)
    history = _watched_history(db_path, state, settings, day)
    runs = read_runs(db_path)
    warn_if_stale(runs, day)
    health = read_source_health(db_path, night_runs(runs, day).get("id", []))
    for search in settings["watch"]:
        search["road_ok"] = road_rules.road_use_allowed(search["road_status"], config, day)
    candidates = evaluate_rules(
        state, scores, history, runs, health, as_of=day, settings=settings, band_low=band_low
    )
    candidates = with_buyer_rule(candidates, settings, config, day)
    details = _details(state)

    if digest_dir is not None and not dry_run:
        # before any alert is recorded: one recorded is announced, never raised again
        ready_folder(Path(digest_dir))
    with alert_store.alert_db(db_path, readonly=dry_run) as conn:
        memory = alert_store.read_alert_memory(conn)
        room = max(
            0, int(settings["daily_cap"]) - alert_store.count_raised_on(conn, day, CAPPED_KINDS)
        )
        chosen, deferred = select_alerts(
            candidates, memory, refire_drop_usd=settings["refire_drop_usd"], cap=room
        )
        raised = _records(chosen)
        for alert in raised:
            say(("would raise " if dry_run else "alert ") + echo_line(alert))
        if deferred.shape[0]:
            logger.warning(
                "daily cap of %s reached: %d alert(s) wait for the next night",
                settings["daily_cap"],
                len(deferred),
            )
        if dry_run:
            say(
                f"alerts {day}: dry run, {len(raised)} would be raised, "
                f"{len(deferred)} held by the daily cap; nothing sent or recorded"
            )
            return AlertRun(raised, 0, 0, 0, None, len(deferred), len(channels))

        names = [c.name for c in channels]
        retry = [
            {**_with_details(r, details), "retry_of": r["created_at"][:10]}
            for r in alert_store.read_undelivered(conn, names)
        ]
        orphaned = alert_store.count_orphaned(conn, names)
        if orphaned:
            logger.warning(
                "%d undelivered alert(s) belong to channels no longer configured", orphaned
            )
        if not channels:
            alert_store.record_alerts(
                conn,
                raised,
                [LOCAL_CHANNEL],
                created_at=alert_store.night_stamp(day),
                status=alert_store.NOT_SENT,
            )
            outcomes = []
        else:
            rows = alert_store.record_alerts(
                conn, raised, names, created_at=alert_store.night_stamp(day)
            )
            rows = retry + [{**raised[r["alert"]], **r} for r in rows]
            outcomes = deliver(channels, rows, mode=mode, day=day)
            alert_store.mark_delivery(conn, outcomes, at=_utc_now())
        digest_path = None
        if digest_dir is not None:
            night = [_with_details(a, details) for a in alert_store.read_alerts_on(conn, day)]
            digest_path = Path(digest_dir) / f"alerts-{day.isoformat()}.md"
            digest_path.parent.mkdir(parents=True, exist_ok=True)
            digest_path.write_text(render_digest(night, day=day), encoding="utf-8")

    sent = sum(1 for _, ok, _ in outcomes if ok)
    failed = len(outcomes) - sent
    retried_ids = {r["id"] for r in retry}
    retried = sum(1 for row_id, _, _ in outcomes if row_id in retried_ids)
    # without a channel, a night with nothing to send says nothing of channels
    delivery = (
        f", {sent} delivered, {failed} failed, {retried} retried"
        if channels
        else ", sent nowhere (no notification channel configured)"
        if raised
        else ""
    )
    say(
        f"alerts {day}: {len(raised)} raised, {len(deferred)} held by the daily cap{delivery}"
        + (f"; digest {digest_path}" if digest_path else "")
    )
    if not channels and raised:
        logger.warning(NO_CHANNEL_WARNING, len(raised))
    return AlertRun(raised, sent, failed, retried, digest_path, len(deferred), len(channels))


def ready_folder(folder: Path) -> None:
    """Create ``folder`` and make sure a file can be written in it; the OSError names the
    folder when not ("Permission denied: reports/alerts")."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".alerts-", suffix=".tmp"):
            pass
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(folder)) from None


def _watched_history(
    db_path, state: pd.DataFrame, settings: Mapping[str, Any], day: dt.date
) -> pd.DataFrame:
    """History rows of every listing of a truck a price-drop search watches (reposts too)."""
    searches = searches_for(settings, "price_drop")
    if not searches or state.empty:
        return pd.DataFrame()
    watched = np.zeros(len(state), dtype=bool)
    for search in searches:
        watched |= match_search(state, search).to_numpy()
    identities = set(identity_of(state)[watched])
    trucks = state.loc[identity_of(state).isin(identities)]
    keys = zip(trucks["source"].astype(str), trucks["listing_id"].astype(str), strict=True)
    return read_history_of(db_path, keys, day)
