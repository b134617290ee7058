"""The configuration's schema: pydantic models of every section, and one line per mistake.

``check_config(config, text, file)`` validates the merged configuration (defaults overridden by
the file) as a whole: unknown sections and keys (with a "did you mean" hint), types and ranges.
Its error names the file, the line of the key in the TOML text where it can be found, and the
key's path. The per-source models are built from the sources' defaults in ``DEFAULT_CONFIG``
(one home for defaults), plus ``OPTIONAL_SOURCE_KEYS``, the keys a source reads without a
default.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from keitrucks.core.states import ROAD_STATUSES, us_state_names

#: The rules a watched search may ask for ([[alerts.watch]] rules).
WATCH_RULES = ("price_drop", "new_match", "newly_eligible")
NOTIFY_MODES = ("digest", "immediate")
#: The default [schedule] cron (keitrucks.core.config), taken without a check.
DEFAULT_CRON = "30 2 * * *"

Number = Annotated[float, Field(strict=True)]
NonNegative = Annotated[float, Field(strict=True, ge=0)]
Share = Annotated[float, Field(strict=True, ge=0, le=1)]
AtLeastOne = Annotated[int, Field(strict=True, ge=1)]
Positive = Annotated[float, Field(strict=True, gt=0)]


def _whole_percent(value: float) -> float:
    """A percentage as people write it (15 for 15%); a fraction (0.15) is a mistake that would
    make a truck 0.15% under its fair price "underpriced"."""
    if 0 < value < 1:
        raise ValueError(f"is a percentage: write 15 for 15%, not {value:g}")
    return value


def _percent_under(value: float) -> float:
    if not 1 <= _whole_percent(value) < 100:
        raise ValueError(f"must be a percentage from 1 to 99 (15 for 15%), not {value:g}")
    return value


def state_code(value: str) -> str:
    """The two-letter code of a US state (or DC) written as its code or its name, in any case
    ("TN", "tn ", "Tennessee"); a ``ValueError`` naming the closest state otherwise."""
    names = us_state_names()
    text = " ".join(str(value).split())
    codes = {name.casefold(): code for code, name in names.items()}
    if text.upper() in names or text.casefold() in codes:
        return text.upper() if text.upper() in names else codes[text.casefold()]
    close = difflib.get_close_matches(text.title(), list(names.values()), n=1, cutoff=0.75)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"{value!r} is not a US state code or name (one of the 50 states or DC, like "
        f'"TN" or "Tennessee"){hint}'
    )


def _state_codes(value: str | list[str]) -> str | list[str]:
    return [state_code(v) for v in value] if isinstance(value, list) else state_code(value)


#: A share of a price in percent, 0 allowed (a drop of any size); never a fraction like 0.05.
Percent = Annotated[NonNegative, AfterValidator(_whole_percent)]
#: How far under its fair price a truck must be: 1 to 99 percent.
PercentUnder = Annotated[float, Field(strict=True), AfterValidator(_percent_under)]
Words = StrictStr | list[StrictStr]
RoadStatus = Literal[ROAD_STATUSES]
RoadStatuses = RoadStatus | list[RoadStatus]
#: A US state or a list of them, by code or name (the configuration is rewritten to codes).
States = Annotated[Words, AfterValidator(_state_codes)]

#: Keys a source's spider reads that have no default (the spider decides when they are absent).
OPTIONAL_SOURCE_KEYS: dict[str, dict[str, Any]] = {
    "craigslist": {
        "api_version": StrictStr,
        "page_size": AtLeastOne,
        "batch_size": AtLeastOne,
        "request_budget": AtLeastOne,
    },
    "carfromjapan": {"country": StrictStr},
}
#: The type a source key has, by the type of its default.
SOURCE_KEY_TYPES: dict[type, Any] = {
    bool: StrictBool,
    int: Number,
    float: Number,
    str: StrictStr,
    list: list[Any],
    dict: dict[str, Any] | StrictStr,
}


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Band(Section):
    low: NonNegative
    high: NonNegative

    @model_validator(mode="after")
    def low_under_high(self) -> Band:
        if not self.low < self.high:
            raise ValueError("needs numbers low < high, e.g. low = 5000, high = 12000")
        return self


class Watch(Section):
    """A watched search, ``[[alerts.watch]]``."""

    name: StrictStr | None = None
    model: Words | None = None
    model_code: Words | None = None
    is_4wd: StrictBool | None = None
    min_year: Number | None = None
    max_year: Number | None = None
    max_price: Number | None = None
    max_miles: Number | None = None
    states: States | None = None
    road_status: RoadStatuses | None = None
    areas: Words | None = None
    sources: Words | None = None
    postal_code: StrictStr | int | None = None
    near: tuple[Number, Number] | None = None
    max_distance_mi: Number | None = None
    drop_pct: Percent | None = None
    drop_usd: NonNegative | None = None
    since: dt.date | StrictStr | None = None
    rules: Literal[WATCH_RULES] | list[Literal[WATCH_RULES]] | None = None

    @field_validator("since")
    @classmethod
    def since_is_a_date(cls, value):
        if isinstance(value, str):
            try:
                dt.date.fromisoformat(value[:10])
            except ValueError:
                raise ValueError("must be a date (YYYY-MM-DD)") from None
        return value

    @field_validator("postal_code")
    @classmethod
    def postal_code_is_known(cls, value):
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10000:
            # TOML reads 02134 as no number at all, and 2134 as a number without its zero
            raise ValueError(f'{value} is no ZIP code: write it in quotes, "{value:05d}"')
        if value is not None:
            postal_code_center(str(value))
        return value

    @model_validator(mode="after")
    def distance_needs_a_centre(self) -> Watch:
        if self.max_distance_mi is not None and self.near is None and self.postal_code is None:
            raise ValueError("max_distance_mi needs postal_code or near = [lat, lon]")
        return self


def postal_code_center(code: str) -> tuple[float, float]:
    """(latitude, longitude) of a US ZIP code, from the offline ``zipcodes`` package."""
    import zipcodes

    try:
        found = zipcodes.matching(code.strip()[:5])
    except (TypeError, ValueError):
        found = []
    if not found:
        raise ValueError(f"unknown US postal code {code!r}")
    return float(found[0]["lat"]), float(found[0]["long"])


class Alerts(Section):
    underpriced_pct: PercentUnder
    min_comparables: NonNegative
    refire_drop_usd: NonNegative
    daily_cap: NonNegative
    drop_pct: Percent
    drop_usd: NonNegative
    underpriced_bases: Words
    floor_bases: Words
    road_status: RoadStatuses
    watch: list[Watch]

    @model_validator(mode="after")
    def names_are_unique(self) -> Alerts:
        names = [w.name or f"search {i + 1}" for i, w in enumerate(self.watch)]
        if len(set(names)) != len(names):
            raise ValueError("watch names must be unique")
        return self


class Notify(Section):
    urls: Words
    mode: StrictStr

    @field_validator("mode")
    @classmethod
    def known_mode(cls, value: str) -> str:
        if value not in NOTIFY_MODES:
            raise ValueError(f"must be 'digest' or 'immediate', not {value!r}")
        return value


class Schedule(Section):
    """Checked when the file is read, so every command says a bad schedule with its line (it
    was said only by `keitrucks schedule`, as a usage error)."""

    cron: StrictStr
    timezone: StrictStr | None
    jitter_seconds: NonNegative
    misfire_grace_hours: Positive
    crawl_timeout_minutes: Positive

    @field_validator("cron")
    @classmethod
    def cron_is_read_by_the_scheduler(cls, value: str) -> str:
        if value != DEFAULT_CRON:
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(value, timezone=dt.UTC)
            except ValueError as exc:
                raise ValueError(
                    f"{value!r} is not a cron line (minute hour day month weekday, like "
                    f'"{DEFAULT_CRON}"): {exc}'
                ) from None
        return value

    @field_validator("timezone")
    @classmethod
    def timezone_is_known(cls, value: str | None) -> str | None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            if value is not None:
                ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f'{value!r} is not an IANA time zone (like "America/Chicago")'
            ) from None
        return value


class Buyer(Section):
    state: Annotated[StrictStr, AfterValidator(state_code)] | None
    stale_months: AtLeastOne
    rule_overrides: list[dict[str, Any]]


class Health(Section):
    min_items_ratio: Share
    coverage_drop: Share
    dead_after: AtLeastOne
    window: AtLeastOne
    coverage_fields: list[StrictStr] | None = None


class ScrapydServer(Section):
    """One ``[[scrapyd.servers]]``: where it is, the variable holding its credentials, what it
    crawls."""

    url: StrictStr
    auth_env: StrictStr | None = None
    sources: list[StrictStr] | None = None


class Scrapyd(Section):
    servers: list[ScrapydServer]


def _source_model(name: str, defaults: dict[str, Any]) -> type[BaseModel]:
    fields: dict[str, Any] = {
        key: (SOURCE_KEY_TYPES[type(value)], value) for key, value in defaults.items()
    }
    fields |= {key: (kind | None, None) for key, kind in OPTIONAL_SOURCE_KEYS.get(name, {}).items()}
    return create_model(f"Source_{name}", __base__=Section, **fields)


def config_model(defaults: dict[str, Any]) -> type[BaseModel]:
    """The model of a whole configuration whose defaults are ``defaults``."""
    sources = create_model(
        "Sources",
        __base__=Section,
        **{
            name: (_source_model(name, table), table) for name, table in defaults["sources"].items()
        },
    )
    free = (dict[str, Any], {})  # sections whose keys are defined upstream (landed, deals ...)
    return create_model(
        "Config",
        __base__=Section,
        band=(Band, ...),
        sources=(sources, ...),
        alerts=(Alerts, ...),
        notify=(Notify, ...),
        schedule=(Schedule, ...),
        buyer=(Buyer, ...),
        health=(Health, ...),
        scrapyd=(Scrapyd, ...),
        fx=(dict[str, Number], ...),
        landed=free,
        deals=free,
        normalize=free,
        report=free,
    )


# -- one line per mistake -----------------------------------------------------------------------

#: pydantic error type -> the words of the message (else pydantic's own message).
PLAIN_WORDS = {
    "float_type": "must be a number",
    "int_type": "must be a whole number",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
}


def table_name(path: tuple) -> str:
    """``("alerts", "watch", 0)`` -> ``alerts.watch #1``."""
    parts = [f"#{p + 1}" if isinstance(p, int) else str(p) for p in path]
    return ".".join(parts).replace(".#", " #")


def _suggestion(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(known)}"


def _known_keys(model: type[BaseModel], path: tuple) -> list[str]:
    for part in path:
        if isinstance(part, int):
            continue
        field = model.model_fields[part]
        kind = field.annotation
        while not (isinstance(kind, type) and issubclass(kind, BaseModel)):
            args = [a for a in getattr(kind, "__args__", ()) if a is not type(None)]
            kind = args[0] if args else None
            if kind is None:
                return []
        model = kind
    return list(model.model_fields)


def _words(error: dict[str, Any]) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "literal_error":
        return f"{error['input']!r} is not one of {ctx.get('expected', 'the allowed values')}"
    if kind == "missing":
        return "has too few items" if isinstance(error["loc"][-1], int) else "is required"
    if kind == "greater_than":
        return f"must be > {ctx.get('gt'):g}, not {error['input']!r}"
    if kind in ("greater_than_equal", "less_than_equal"):
        sign, bound = (
            (">=", ctx.get("ge")) if kind == "greater_than_equal" else ("<=", ctx.get("le"))
        )
        return f"must be {sign} {bound:g}, not {error['input']!r}"
    if kind in PLAIN_WORDS:
        return f"{PLAIN_WORDS[kind]}, not {error['input']!r}"
    return error["msg"].removeprefix("Value error, ")


def describe_error(error: dict[str, Any], model: type[BaseModel]) -> tuple[tuple, str]:
    """(the key path, the message) of one pydantic error."""
    # pydantic tags a union member or validator in the location: keep keys and list positions.
    loc = tuple(p for p in error["loc"] if isinstance(p, int) or not re.search(r"[\[(-]", p))
    if error["type"] == "extra_forbidden":
        *parent, key = loc
        known = _known_keys(model, tuple(parent))
        if not parent:
            return loc, f"[{key}]: unknown section{_suggestion(key, known)}"
        what = "source" if tuple(parent) == ("sources",) else "key"
        return loc, f"[{table_name(tuple(parent))}] {key}: unknown {what}{_suggestion(key, known)}"
    words = _words(error)
    if len(loc) == 1:
        return loc, f"[{loc[0]}] {words}"
    if isinstance(loc[-1], int) and error["type"] in ("value_error", "model_type"):
        return loc, f"[{table_name(loc)}] {words}"  # one table of a list: its own check
    keys = [i for i, p in enumerate(loc) if isinstance(p, str)]
    last = keys[-1]
    if last == len(loc) - 1 or any(isinstance(p, int) for p in loc[last:]):
        parent, key = loc[:last], loc[last]
        if not parent:  # a whole section's own check (e.g. [band] low < high)
            return loc, f"[{key}] {words}"
        return loc[: last + 1], f"[{table_name(parent)}] {key}: {words}"
    return loc, f"[{table_name(loc)}] {words}"


def line_of(text: str, loc: tuple) -> int | None:
    """The line number of the key at ``loc`` in the TOML ``text`` (its table's header for a
    section), or None when it cannot be found (a key set only by the defaults)."""
    names = [p for p in loc if isinstance(p, str)]
    if not names:
        return None
    table, key = ".".join(names[:-1]), names[-1]
    current, header = "", re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?")
    for number, line in enumerate(text.splitlines(), 1):
        found = header.match(line)
        if found:
            current = found.group(1).replace('"', "")
            if current == ".".join(names) or (len(names) == 1 and current.startswith(key + ".")):
                return number
            continue
        if current == table and re.match(rf"^\s*{re.escape(key)}\s*=", line):
            return number
    return None


def check_config(
    config: dict[str, Any], model: type[BaseModel], *, text: str = "", file: str = ""
) -> str | None:
    """None when ``config`` fits ``model``; else one line: file, line, key path, the mistake."""
    try:
        model.model_validate(config)
    except ValidationError as exc:
        loc, message = describe_error(exc.errors()[0], model)
        line = line_of(text, loc) if text else None
        where = f"{file}:{line}: " if line else f"{file}: " if file else ""
        return f"{where}{message}"
    return None


def check_section(name: str, table: dict[str, Any], model: type[BaseModel]) -> str | None:
    """None when the section ``[name]`` fits ``model`` (a field of the configuration's model);
    else its one line, for code that is handed a section outside ``load_config``."""
    section = model.model_fields[name].annotation
    try:
        section.model_validate(table)
    except ValidationError as exc:
        error = dict(exc.errors()[0])
        error["loc"] = (name, *error["loc"])
        return describe_error(error, model)[1]
    return None
