"""The one small TOML file for searches, sources, the price band, alert rules and notifications.

Everything has a default, so no file is needed. A file only overrides what it names. Secrets
(Apprise URLs with tokens, API keys) come from the environment, never from this file.

``DEFAULT_CONFIG`` is the one home of the defaults, each source's too (its spider reads them from
the loaded configuration). ``load_config`` checks the whole configuration against the schema of
``keitrucks.core.config_schema`` and says any mistake in one line (``ConfigError``): the file,
the line, the key, and for an unknown key the known one it resembles.
"""

from __future__ import annotations

import copy
import os
import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from keitrucks.core.config_schema import check_config, config_model, state_code

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
        "ebay": {
            "enabled": True,
            "queries": [
                "kei truck",
                "mini truck",
                "suzuki carry",
                "honda acty",
                "daihatsu hijet",
                "subaru sambar",
                "mitsubishi minicab",
            ],
            #: e.g. ["6001"]; empty searches every category (the Motors ids are not verified).
            "category_ids": [],
            #: eBay's aspect_filter as a string, or a table {"Make": ["Suzuki", "Honda"]}; it
            #: needs category_ids.
            "aspect_filter": {},
            #: eBay's ``filter`` string, e.g. "itemLocationCountry:US"; empty for none.
            "filter": "",
            "sort": "newlyListed",
            "marketplace_id": "EBAY_US",
            "api_limit": 200,
            #: API calls per night (token, search pages, getItem).
            "api_call_budget": 300,
            #: HTML requests per night when there are no credentials (search and item pages).
            "html_request_budget": 40,
            #: Result pages read per query at most.
            "max_pages": 10,
            #: Without credentials, read the item page of each new item for its item specifics.
            "item_pages": True,
        },
        "sbtjapan": {
            "enabled": True,
            "searches": [
                {"make_id": 9, "model": "CARRY-TRUCK"},
                {"make_id": 8, "model": "HIJET-TRUCK"},
                {"make_id": 4, "model": "ACTY-TRUCK"},
                {"make_id": 7, "model": "SAMBAR-TRUCK"},
                {"make_id": 6, "model": "MINICAB-TRUCK"},
                {"make_id": 5, "model": "SCRUM-TRUCK"},
                {"make_id": 3, "model": "CLIPPER-TRUCK"},
                {"make_id": 2, "model": "PIXIS-TRUCK"},
            ],
        },
        "carfromjapan": {
            "enabled": True,
            "models": [
                "suzuki-carry-truck",
                "daihatsu-hijet-truck",
                "honda-acty-truck",
                "subaru-sambar-truck",
                "mitsubishi-minicab-truck",
                "mazda-scrum-truck",
                "nissan-clipper-truck",
                "toyota-pixis-truck",
            ],
        },
        "tcv": {
            "enabled": True,
            "models": [
                "suzuki/carry truck",
                "daihatsu/hijet truck",
                "honda/acty truck",
                "subaru/sambar truck",
                "mitsubishi/minicab truck",
                "mazda/scrum truck",
                "nissan/clipper truck",
                "toyota/pixis truck",
            ],
        },
        "dealer_jsonld": {"enabled": False, "dealers": []},
    },
    "alerts": {
        "underpriced_pct": 15,
        "min_comparables": 3,
        "refire_drop_usd": 250,
        "daily_cap": 20,
        #: price bases a listing may have to be called underpriced (never live bids or sold).
        "underpriced_bases": ["asking", "fob", "cnf", "cif"],
        #: without enough comparables, the band floor applies to these bases only (US asking).
        "floor_bases": ["asking"],
        #: a watched search's price drop: at least this % or this many dollars (either).
        "drop_pct": 5,
        "drop_usd": 500,
        #: underpriced alerts only when the buyer's state's road status is one of these
        #: (e.g. ["registrable", "registrable_restricted"]); empty: any state.
        "road_status": [],
        "watch": [],
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
    # Scrapyd servers that crawl (`keitrucks nightly` uses them when listed; docs/deploy.md):
    # [[scrapyd.servers]] url = "http://host:6800", auth_env = "VAR holding user:password",
    # sources = [...] (default: the sources no server lists, spread evenly).
    "scrapyd": {"servers": []},
    # Landed-cost amounts (duty, freight, fees): dated rules and their sources in
    # keitrucks/core/data/landed_rules.csv; a [landed] key naming a rule overrides it.
    "landed": {},
}

SOURCE_NAMES = tuple(DEFAULT_CONFIG["sources"])


class ConfigError(Exception):
    """A configuration problem, worded for a one-line message to the user."""


def source_defaults(name: str) -> dict[str, Any]:
    """A source's own defaults (its spider's ``default_config``): all but ``enabled``."""
    return {k: v for k, v in DEFAULT_CONFIG["sources"][name].items() if k != "enabled"}


@cache
def schema():
    """The pydantic model every configuration is checked against (built once)."""
    return config_model(DEFAULT_CONFIG)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``override``'s keys; tables merge key by key, the schema checks types."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_config(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The defaults, overridden by the TOML file at ``path`` (or ``$KEITRUCKS_CONFIG``)."""
    path = path or os.getenv("KEITRUCKS_CONFIG")
    if not path:
        return copy.deepcopy(DEFAULT_CONFIG)
    file = Path(path).expanduser()
    if not file.exists():
        raise ConfigError(f"configuration file not found: {file}")
    text = ""
    try:  # a file, or /dev/null, or a shell's <(...): what reads as text
        text = file.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"bad TOML in {file}: {exc}{_toml_hint(text, exc)}") from None
    except OSError as exc:  # a folder, no permission
        raise ConfigError(f"cannot read configuration {file}: {exc.strerror or exc}") from None
    config = _merge(DEFAULT_CONFIG, data)
    validate_config(config, text=text, file=str(file))
    return config


#: A TOML mistake people make, by the text of the line it is on -> what to write instead.
TOML_HINTS = (
    (
        re.compile(r"=\s*[+-]?0\d+\s*$"),
        'a value starting with 0 (a ZIP code) goes in quotes: "02134"',
    ),
    (re.compile(r"=\s*\$?\d[\d,.]*[kK]?\s*$"), "a number is digits only: 9000 (not 9k, $9,000)"),
    (re.compile(r"=\s*(yes|no|on|off|True|False|TRUE|FALSE)\s*$"), "true or false, in lower case"),
    (re.compile(r"=\s*[A-Za-z]"), 'text goes in quotes: "TN"'),
)


def _toml_hint(text: str, exc: Exception) -> str:
    """ "; <what to write instead>" for the line a TOML error names, else ""."""
    found = re.search(r"at line (\d+)", str(exc))
    lines = text.splitlines() if isinstance(exc, tomllib.TOMLDecodeError) else []
    if not found or not 0 < int(found.group(1)) <= len(lines):
        return ""
    line = lines[int(found.group(1)) - 1].split("#", 1)[0].strip()
    return next((f"; {hint}" for pattern, hint in TOML_HINTS if pattern.search(line)), "")


def validate_config(config: dict[str, Any], *, text: str = "", file: str = "") -> None:
    """Raise ``ConfigError`` (one line: file, line, key path, mistake) unless ``config`` fits
    the schema; states (the buyer's, a watched search's) are rewritten in place as codes."""
    problem = check_config(config, schema(), text=text, file=file)
    if problem:
        raise ConfigError(problem)
    for search in config["alerts"]["watch"]:
        if isinstance(search.get("states"), str | list):
            # a name ("Tennessee") or "tn " would match no listing: the rules compare codes
            found = search["states"]
            search["states"] = [
                state_code(s) for s in ([found] if isinstance(found, str) else found)
            ]
    try:
        _validate_buyer(config["buyer"])
    except ConfigError as exc:
        raise ConfigError(f"{file}: {exc}" if file else str(exc)) from None


def _validate_buyer(buyer: dict[str, Any]) -> None:
    from keitrucks.core import states

    state = buyer.get("state")
    if state is not None:
        try:
            buyer["state"] = state_code(state)
        except ValueError as exc:
            raise ConfigError(f"[buyer] state: {exc}") from None
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
