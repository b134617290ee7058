"""Alert settings: ``[alerts]`` and its watched searches checked against ``ALERT_DEFAULTS``,
``[notify]``'s mode, and the centre of a search's area (a US postal code or ``near``).

Configuration (``[alerts]``; every key has a default in ``ALERT_DEFAULTS``)::

    [alerts]
    underpriced_pct = 15      # % under the fair price of >= min_comparables comparables
    daily_cap = 20
    [[alerts.watch]]          # a watched / saved search
    name = "Acty 4x4 near Knoxville"
    model = "Acty"            # or a list; matched in the canonical model
    is_4wd = true
    max_price = 9000
    postal_code = "37902"     # or near = [35.96, -83.92]
    max_distance_mi = 150
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.deals import deal_settings
from analysis.load import as_of_date

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
SEARCH_RULES = ("price_drop", "new_match", "newly_eligible")


ALERT_DEFAULTS: dict[str, Any] = {
    "underpriced_pct": 15,
    "min_comparables": 3,
    "refire_drop_usd": 250,
    "daily_cap": 20,
    #: price bases a listing may have to be called underpriced (never live bids or sold prices).
    "underpriced_bases": ["asking", "fob", "cnf", "cif"],
    #: without enough comparables, the band floor applies to these bases only (US asking).
    "floor_bases": ["asking"],
    #: a watched search's price drop: at least this % or this many dollars (either).
    "drop_pct": 5,
    "drop_usd": 500,
    "watch": [],
}
NOTIFY_DEFAULTS: dict[str, Any] = {"urls": [], "mode": "digest"}
NOTIFY_ENV = "KEITRUCKS_NOTIFY_URLS"
#: The channel name of alerts delivered only to stdout and the digest file.
LOCAL_CHANNEL = "local"
SEARCH_KEYS = {
    "name",
    "model",
    "model_code",
    "is_4wd",
    "min_year",
    "max_year",
    "max_price",
    "max_miles",
    "states",
    "areas",
    "sources",
    "postal_code",
    "near",
    "max_distance_mi",
    "drop_pct",
    "drop_usd",
    "since",
    "rules",
}


class AlertsConfigError(ValueError):
    """A problem in ``[alerts]`` or ``[notify]``, worded for a one-line message to the user."""


# -- settings -----------------------------------------------------------------------------------


def alert_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """``ALERT_DEFAULTS`` overridden by ``config["alerts"]``, checked; searches normalized."""
    given = dict(config.get("alerts") or {})
    settings = {**ALERT_DEFAULTS, **given}
    for key in (
        "underpriced_pct",
        "min_comparables",
        "refire_drop_usd",
        "daily_cap",
        "drop_pct",
        "drop_usd",
    ):
        value = settings[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise AlertsConfigError(f"[alerts] {key} must be a number >= 0, not {value!r}")
    watch = settings["watch"]
    if not isinstance(watch, list):
        raise AlertsConfigError("[alerts] watch must be a list of tables ([[alerts.watch]])")
    for key in ("underpriced_bases", "floor_bases"):
        settings[key] = [str(b) for b in as_list(settings[key])]
    settings["plausible_usd"] = tuple(deal_settings(dict(config))["plausible_usd"])
    settings["watch"] = [_search(s, i, settings) for i, s in enumerate(watch)]
    names = [s["name"] for s in settings["watch"]]
    if len(set(names)) != len(names):
        raise AlertsConfigError("[[alerts.watch]] names must be unique")
    return settings


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _search(raw: Any, index: int, settings: Mapping[str, Any]) -> dict[str, Any]:
    where = f"[[alerts.watch]] #{index + 1}"
    if not isinstance(raw, Mapping):
        raise AlertsConfigError(f"{where} must be a table")
    unknown = set(raw) - SEARCH_KEYS
    if unknown:
        raise AlertsConfigError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(SEARCH_KEYS))}"
        )
    search = {
        "name": str(raw.get("name") or f"search {index + 1}"),
        "model": [str(m).lower() for m in as_list(raw.get("model"))],
        "model_code": [str(m).upper() for m in as_list(raw.get("model_code"))],
        "is_4wd": raw.get("is_4wd"),
        "states": [str(s).upper() for s in as_list(raw.get("states"))],
        "areas": [str(a).lower() for a in as_list(raw.get("areas"))],
        "sources": [str(s) for s in as_list(raw.get("sources"))],
        "rules": [str(r) for r in as_list(raw.get("rules", list(SEARCH_RULES)))],
        "drop_pct": raw.get("drop_pct", settings["drop_pct"]),
        "drop_usd": raw.get("drop_usd", settings["drop_usd"]),
    }
    for key in ("min_year", "max_year", "max_price", "max_miles", "max_distance_mi"):
        value = raw.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise AlertsConfigError(f"{where}: {key} must be a number, not {value!r}")
        search[key] = value
    if search["is_4wd"] is not None and not isinstance(search["is_4wd"], bool):
        raise AlertsConfigError(f"{where}: is_4wd must be true or false")
    bad_rules = set(search["rules"]) - set(SEARCH_RULES)
    if bad_rules:
        raise AlertsConfigError(
            f"{where}: unknown rule(s) {', '.join(sorted(bad_rules))}; "
            f"known: {', '.join(SEARCH_RULES)}"
        )
    since = raw.get("since")
    try:
        search["since"] = as_of_date(since) if since is not None else None
    except ValueError:
        raise AlertsConfigError(f"{where}: since must be a date (YYYY-MM-DD)") from None
    search["center"] = _center(raw, where)
    if search["max_distance_mi"] is not None and search["center"] is None:
        raise AlertsConfigError(f"{where}: max_distance_mi needs postal_code or near = [lat, lon]")
    return search


def _center(raw: Mapping[str, Any], where: str) -> tuple[float, float] | None:
    near = raw.get("near")
    if near is not None:
        if not (
            isinstance(near, list | tuple)
            and len(near) == 2
            and all(isinstance(v, int | float) for v in near)
        ):
            raise AlertsConfigError(f"{where}: near must be [latitude, longitude]")
        return float(near[0]), float(near[1])
    code = raw.get("postal_code")
    if code is None:
        return None
    return postal_code_center(str(code), where)


def postal_code_center(code: str, where: str = "search") -> tuple[float, float]:
    """(latitude, longitude) of a US ZIP code, from the offline ``zipcodes`` package."""
    try:
        import zipcodes
    except ImportError:
        raise AlertsConfigError(
            f"{where}: postal_code needs the 'zipcodes' package (pip install zipcodes), "
            "or give near = [latitude, longitude]"
        ) from None
    try:
        found = zipcodes.matching(code.strip()[:5])
    except (TypeError, ValueError):
        found = []
    if not found:
        raise AlertsConfigError(f"{where}: unknown US postal code {code!r}")
    return float(found[0]["lat"]), float(found[0]["long"])


def notify_mode(config: Mapping[str, Any]) -> str:
    mode = str((config.get("notify") or {}).get("mode", NOTIFY_DEFAULTS["mode"]))
    if mode not in ("digest", "immediate"):
        raise AlertsConfigError(f"[notify] mode must be 'digest' or 'immediate', not {mode!r}")
    return mode
