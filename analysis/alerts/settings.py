"""Alert settings: ``[alerts]`` over its defaults (``ALERT_DEFAULTS``, which live in
``keitrucks.core.config``), its watched searches normalized, ``[notify]``'s mode, and the centre
of a search's area (a US postal code or ``near``). The checks are the configuration schema's
(``keitrucks.core.config_schema``).

Configuration (``[alerts]``; every key has a default in ``ALERT_DEFAULTS``)::

    [alerts]
    underpriced_pct = 15      # % under the fair price of >= min_comparables comparables
    daily_cap = 20
    [[alerts.watch]]          # a watched / saved search
    name = "Acty 4x4 near Knoxville"
    model = "Acty"            # or a list; matched in the canonical model
    is_4wd = true
    max_price = 9000          # what you pay: US asking, or an exporter's landed cost
    postal_code = "37902"     # or near = [35.96, -83.92]
    max_distance_mi = 150
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.deals import deal_settings
from analysis.load import as_of_date
from keitrucks.core import config_schema
from keitrucks.core.config import DEFAULT_CONFIG, schema
from pipelines import alert_store

#: Rules, most important first (the order of digests and of the daily cap).
KINDS = ("source_unhealthy", "underpriced_4wd", "price_drop", "newly_eligible", "new_match")
KIND_TITLES = {
    "source_unhealthy": "Source unhealthy",
    "underpriced_4wd": "Underpriced 4WD",
    "price_drop": "Price drop",
    "newly_eligible": "Turned 25",
    "new_match": "New match",
}
#: Rules whose alert may fire again for the same truck after a further price drop.
REFIRE_KINDS = frozenset({"underpriced_4wd", "price_drop"})
#: Rules counted against the daily cap (a broken source is always worth a message).
CAPPED_KINDS = tuple(k for k in KINDS if k != "source_unhealthy")
SEARCH_RULES = config_schema.WATCH_RULES

#: The defaults' one home is keitrucks.core.config; the checks are its schema's.
ALERT_DEFAULTS: dict[str, Any] = DEFAULT_CONFIG["alerts"]
NOTIFY_DEFAULTS: dict[str, Any] = DEFAULT_CONFIG["notify"]
NOTIFY_ENV = "KEITRUCKS_NOTIFY_URLS"
#: The channel name of alerts printed and written to the digest only (no channel configured).
LOCAL_CHANNEL = alert_store.LOCAL_CHANNEL
SEARCH_KEYS = set(config_schema.Watch.model_fields)


class AlertsConfigError(ValueError):
    """A problem in ``[alerts]`` or ``[notify]``, worded for a one-line message to the user."""


# -- settings -----------------------------------------------------------------------------------


def alert_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """``ALERT_DEFAULTS`` overridden by ``config["alerts"]``; searches normalized.

    The checks are the configuration schema's (``load_config`` has run them on a loaded
    configuration); a table given any other way is checked here the same way.
    """
    given = dict(config.get("alerts") or {})
    settings = {**ALERT_DEFAULTS, **given}
    problem = config_schema.check_section("alerts", settings, schema())
    if problem:
        raise AlertsConfigError(problem)
    for key in ("underpriced_bases", "floor_bases", "road_status"):
        settings[key] = [str(b) for b in as_list(settings[key])]
    settings["plausible_usd"] = tuple(deal_settings(dict(config))["plausible_usd"])
    settings["watch"] = [_search(s, i, settings) for i, s in enumerate(settings["watch"])]
    return settings


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _search(raw: Any, index: int, settings: Mapping[str, Any]) -> dict[str, Any]:
    where = f"[[alerts.watch]] #{index + 1}"
    search = {
        "name": str(raw.get("name") or f"search {index + 1}"),
        "model": [str(m).lower() for m in as_list(raw.get("model"))],
        "model_code": [str(m).upper() for m in as_list(raw.get("model_code"))],
        "is_4wd": raw.get("is_4wd"),
        "states": [str(s).upper() for s in as_list(raw.get("states"))],
        "road_status": [str(s) for s in as_list(raw.get("road_status"))],
        "areas": [str(a).lower() for a in as_list(raw.get("areas"))],
        "sources": [str(s) for s in as_list(raw.get("sources"))],
        "rules": [str(r) for r in as_list(raw.get("rules", list(SEARCH_RULES)))],
        "drop_pct": raw.get("drop_pct", settings["drop_pct"]),
        "drop_usd": raw.get("drop_usd", settings["drop_usd"]),
    }
    for key in ("min_year", "max_year", "max_price", "max_miles", "max_distance_mi"):
        search[key] = raw.get(key)
    since = raw.get("since")
    search["since"] = as_of_date(since) if since is not None else None
    search["center"] = _center(raw, where)
    return search


def _center(raw: Mapping[str, Any], where: str) -> tuple[float, float] | None:
    near = raw.get("near")
    if near is not None:
        return float(near[0]), float(near[1])
    code = raw.get("postal_code")
    if code is None:
        return None
    return postal_code_center(str(code), where)


def postal_code_center(code: str, where: str = "search") -> tuple[float, float]:
    """(latitude, longitude) of a US ZIP code, from the offline ``zipcodes`` package."""
    try:
        return config_schema.postal_code_center(code)
    except ValueError as exc:
        raise AlertsConfigError(f"{where}: {exc}") from None


def notify_mode(config: Mapping[str, Any]) -> str:
    mode = str((config.get("notify") or {}).get("mode", NOTIFY_DEFAULTS["mode"]))
    if mode not in ("digest", "immediate"):
        raise AlertsConfigError(f"[notify] mode must be 'digest' or 'immediate', not {mode!r}")
    return mode
