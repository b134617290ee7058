"""The one small TOML file for searches, sources, the price band, alert rules and notifications.

Everything has a default, so no file is needed. A file only overrides what it names. Secrets
(Apprise URLs with tokens, API keys) come from the environment, never from this file.
"""

from __future__ import annotations

import copy
import os
import tomllib
from pathlib import Path
from typing import Any

DEFAULT_CONFIG: dict[str, Any] = {
    "band": {"low": 5000, "high": 12000},
    "sources": {
        "craigslist": {
            "enabled": True,
            "areas": ["knoxville", "nashville", "asheville", "atlanta", "charlotte", "raleigh"],
            "queries": [
                "kei",
                "mini truck",
                "carry",
                "acty",
                "hijet",
                "sambar",
                "minicab",
                "scrum",
                "clipper",
            ],
            "purveyors": ["owner", "dealer"],
        },
        "bringatrailer": {
            "enabled": True,
            "models": [
                "suzuki/carry",
                "suzuki/every",
                "honda/acty",
                "daihatsu/hijet",
                "subaru/sambar",
                "mitsubishi/minicab",
            ],
        },
        "beforward": {
            "enabled": True,
            "keywords": [
                "Suzuki Carry Truck",
                "Daihatsu Hijet Truck",
                "Honda Acty Truck",
                "Subaru Sambar Truck",
                "Mitsubishi Minicab Truck",
                "Mazda Scrum Truck",
                "Nissan Clipper Truck",
            ],
            "destination_country_id": 90,
        },
        # Sources whose spiders define their own defaults (ListingSpider.default_config).
        "ebay": {"enabled": True},
        "sbtjapan": {"enabled": True},
        "carfromjapan": {"enabled": True},
        "tcv": {"enabled": True},
        "dealer_jsonld": {"enabled": False},
    },
    "alerts": {
        "underpriced_pct": 15,
        "min_comparables": 3,
        "refire_drop_usd": 250,
        "daily_cap": 20,
    },
    "notify": {"urls": [], "mode": "digest"},
    "schedule": {
        "cron": "30 2 * * *",
        "timezone": None,
        "jitter_seconds": 600,
        "misfire_grace_hours": 12,
        "crawl_timeout_minutes": 30,
    },
    # The buyer: whose state's road rules reports and alerts show beside each truck.
    "buyer": {"state": None, "stale_months": 12, "rule_overrides": []},
    "health": {"min_items_ratio": 0.5, "coverage_drop": 0.25, "dead_after": 3, "window": 7},
    "fx": {"JPY": 0.0067},
    # Landed-cost amounts (duty, freight, fees): dated rules and their sources in
    # keitrucks/core/data/landed_rules.csv; a [landed] key naming a rule overrides it.
    "landed": {},
}

SOURCE_NAMES = tuple(DEFAULT_CONFIG["sources"])


class ConfigError(Exception):
    """A configuration problem, worded for a one-line message to the user."""


def _merge(base: dict[str, Any], override: dict[str, Any], where: str) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(out.get(key), dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}{key} must be a table")
            out[key] = _merge(out[key], value, f"{where}{key}.")
        else:
            out[key] = value
    return out


def load_config(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The defaults, overridden by the TOML file at ``path`` (or ``$KEITRUCKS_CONFIG``)."""
    path = path or os.getenv("KEITRUCKS_CONFIG")
    if not path:
        return copy.deepcopy(DEFAULT_CONFIG)
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"configuration file not found: {file}")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"bad TOML in {file}: {exc}") from None
    config = _merge(DEFAULT_CONFIG, data, "")
    validate_config(config)
    return config


def validate_config(config: dict[str, Any]) -> None:
    unknown = set(config["sources"]) - set(known_sources())
    if unknown:
        raise ConfigError(
            f"unknown source(s) in [sources]: {', '.join(sorted(unknown))}; "
            f"known: {', '.join(known_sources())}"
        )
    band = config["band"]
    if not (
        isinstance(band.get("low"), int | float)
        and isinstance(band.get("high"), int | float)
        and 0 <= band["low"] < band["high"]
    ):
        raise ConfigError("[band] needs numbers low < high, e.g. low = 5000, high = 12000")
    _validate_buyer(config["buyer"])


def _validate_buyer(buyer: dict[str, Any]) -> None:
    from keitrucks.core import states

    state = buyer.get("state")
    if state is not None:
        if not isinstance(state, str) or state.upper() not in states.us_state_names():
            raise ConfigError(
                f'[buyer] state must be a two-letter US state code like "TN", not {state!r}'
            )
        buyer["state"] = state.upper()
    months = buyer.get("stale_months")
    if not isinstance(months, int) or isinstance(months, bool) or months < 1:
        raise ConfigError("[buyer] stale_months must be a whole number of months, at least 1")
    overrides = buyer.get("rule_overrides")
    if not isinstance(overrides, list) or not all(isinstance(o, dict) for o in overrides):
        raise ConfigError(
            "[[buyer.rule_overrides]] must be tables (state, road_status, source_url ...)"
        )
    for index, row in enumerate(overrides, 1):
        if not row.get("source_url") or not row.get("source_date"):
            raise ConfigError(
                f"[[buyer.rule_overrides]] #{index}: give source_url and source_date, "
                "so the rule is shown with where and when you read it"
            )
        try:
            states.rule_from_row(row, origin="user")
        except ValueError as exc:
            raise ConfigError(f"[[buyer.rule_overrides]] #{index}: {exc}") from None


def known_sources() -> tuple[str, ...]:
    return SOURCE_NAMES


def enabled_sources(config: dict[str, Any]) -> list[str]:
    return [name for name, table in config["sources"].items() if table.get("enabled", True)]
