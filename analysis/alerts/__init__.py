"""Alerts: underpriced 4WD trucks, watched searches, trucks turning 25 and unhealthy sources.

The package, along its seams:

- ``settings``: ``[alerts]`` (``ALERT_DEFAULTS``), watched searches, postal-code centres;
- ``rules``: the rules, pure functions over the DataFrames ``analysis.load`` reads (the listings
  as of the night, their history, the runs, the recorded source health) and the deal scores of
  ``analysis.deals``; each returns candidate alerts (``ALERT_COLUMNS``, one per truck identity);
- ``select``: ``select_alerts`` keeps those the alert history has not announced yet (one alert
  per truck identity and rule; again only after a further drop of ``refire_drop_usd``), within
  the daily cap; capped ones wait for the next night;
- ``messages``: the text of an alert, a message and the night's digest;
- ``delivery``: Apprise channels (``[notify]`` and ``$KEITRUCKS_NOTIFY_URLS``), secrets redacted;
- ``run``: ``run_alerts``, a night of alerts from the database to the channels.

The public names are exported here: ``from analysis.alerts import run_alerts``.
"""

from analysis.alerts.delivery import (
    Channel,
    build_channels,
    deliver,
    notify_urls,
    redact,
    secret_parts,
    send,
)
from analysis.alerts.frames import ALERT_COLUMNS
from analysis.alerts.messages import (
    format_alert,
    md_text,
    plain_text,
    render_digest,
    render_message,
)
from analysis.alerts.rules import (
    buyer_flags,
    distance_mi,
    evaluate_rules,
    match_search,
    new_matches,
    newly_eligible,
    night_runs,
    price_drops,
    seen_last_night,
    underpriced_4wd,
    unhealthy_sources,
    verdict_text,
)
from analysis.alerts.run import AlertRun, run_alerts, with_landed_costs
from analysis.alerts.select import select_alerts
from analysis.alerts.settings import (
    ALERT_DEFAULTS,
    CAPPED_KINDS,
    KIND_TITLES,
    KINDS,
    NOTIFY_DEFAULTS,
    NOTIFY_ENV,
    REFIRE_KINDS,
    SEARCH_KEYS,
    SEARCH_RULES,
    AlertsConfigError,
    alert_settings,
    postal_code_center,
)

__all__ = [
    "buyer_flags",
    "ALERT_COLUMNS",
    "ALERT_DEFAULTS",
    "CAPPED_KINDS",
    "KINDS",
    "KIND_TITLES",
    "NOTIFY_DEFAULTS",
    "NOTIFY_ENV",
    "REFIRE_KINDS",
    "SEARCH_KEYS",
    "SEARCH_RULES",
    "AlertRun",
    "AlertsConfigError",
    "Channel",
    "alert_settings",
    "build_channels",
    "deliver",
    "distance_mi",
    "evaluate_rules",
    "format_alert",
    "match_search",
    "md_text",
    "new_matches",
    "newly_eligible",
    "night_runs",
    "notify_urls",
    "plain_text",
    "postal_code_center",
    "price_drops",
    "redact",
    "render_digest",
    "render_message",
    "run_alerts",
    "secret_parts",
    "seen_last_night",
    "select_alerts",
    "send",
    "underpriced_4wd",
    "unhealthy_sources",
    "verdict_text",
    "with_landed_costs",
]
