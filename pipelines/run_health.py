"""The one judgement of a crawl run: complete? healthy? may it mark listings gone?

``judge_run(run, recent, rules)`` is a pure function. ``run`` is what is known of the run, as
the Scrapy pipeline has it when the crawl closes or as a ``runs`` row holds it: ``status``,
``finish_reason``, ``blocked_reason``, ``stats`` (dict or JSON text), ``items``, ``coverage``
(dict or JSON text) and, on a stored row, ``complete``. ``recent`` are the source's earlier
healthy runs over the same search, newest first (at most ``rules.window``). The rules, each a
small function, in order:

- blocked: the run stopped at a block page (403/429, a challenge, HTML where JSON was expected);
- failed: the run did not finish, or finished without seeing everything it searched;
- too few items: none, or below ``min_items_ratio`` of the median of the recent healthy runs;
- field coverage: price, year, model or 4WD filled for a share of listings that fell by
  ``coverage_drop`` or more from the recent median.

The first blocked or failed rule ends the check. Storage records the verdict on the run's row
(``runs.complete``, ``healthy``, ``health_status``, ``health_reasons``, ``health_reason``)
when the run ends; everything else reads it there instead of judging again.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from keitrucks.core.config import ConfigError

#: Run health statuses, best first.
OK, UNHEALTHY, FAILED, BLOCKED = "ok", "unhealthy", "failed", "blocked"
_RANK = {OK: 0, UNHEALTHY: 1, FAILED: 2, BLOCKED: 3}

#: Fields whose share of filled values the crawl records as the run's coverage.
COVERAGE_FIELDS = ("price_usd", "year", "model", "is_4wd", "mileage_mi")

#: Stats that mean part of the crawl failed, so the run did not see everything.
INCOMPLETE_STATS = {
    "keitrucks/blocked": "blocked",
    "keitrucks/budget_exhausted": "request budget spent",
    "keitrucks/request_failed": "requests failed",
    "keitrucks/empty_page": "page with no listings (layout change?)",
    "spider_exceptions/count": "parser exceptions",
    "retry/max_reached": "retries exhausted",
    "httperror/response_ignored_count": "HTTP errors",
}


@dataclass(frozen=True)
class HealthRules:
    """Thresholds, from the ``[health]`` table of the configuration."""

    #: a run with fewer items than this share of the recent median is unhealthy.
    min_items_ratio: float = 0.5
    #: a field whose coverage (0-1) fell by this much from the recent median is a problem.
    coverage_drop: float = 0.25
    coverage_fields: tuple[str, ...] = ("price_usd", "year", "model", "is_4wd")
    #: nights in a row without a healthy run before a source is called dead.
    dead_after: int = 3
    #: how many recent healthy runs the medians are taken over.
    window: int = 7

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> HealthRules:
        table = dict((config or {}).get("health") or {})
        known = {f.name for f in fields(cls)}
        unknown = set(table) - known
        if unknown:
            raise ConfigError(f"[health] unknown key(s): {', '.join(sorted(unknown))}")
        for key in ("min_items_ratio", "coverage_drop"):
            value = table.get(key, getattr(cls, key))
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ConfigError(f"[health] {key} must be a number from 0 to 1, not {value!r}")
        for key in ("dead_after", "window"):
            value = table.get(key, getattr(cls, key))
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"[health] {key} must be a whole number >= 1, not {value!r}")
        if "coverage_fields" in table:
            table["coverage_fields"] = tuple(str(f) for f in table["coverage_fields"])
        return cls(**table)


@dataclass(frozen=True)
class RunVerdict:
    """The verdict on one run. ``status`` and ``reasons`` follow from the flags when omitted."""

    complete: bool
    healthy: bool
    #: the reasons joined by "; ", "ok" when there are none.
    reason: str = "ok"
    status: str = ""
    reasons: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.status:
            status = OK if self.healthy else (UNHEALTHY if self.complete else FAILED)
            object.__setattr__(self, "status", status)
        if not self.reasons and self.reason != "ok":
            object.__setattr__(self, "reasons", (self.reason,))

    @property
    def may_mark_gone(self) -> bool:
        """Only a complete, healthy run may mark the listings it did not see as gone."""
        return self.complete and self.healthy


# -- reading a run ------------------------------------------------------------------------------


def _mapping(raw: Any) -> Mapping[str, Any]:
    if isinstance(raw, Mapping):
        return raw
    try:
        data = json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, Mapping) else {}


def coverage_of(run: Mapping[str, Any]) -> dict[str, float]:
    """The run's field coverage (a dict, or JSON text as stored), {} when absent or unreadable."""
    data = _mapping(run.get("coverage"))
    return {k: float(v) for k, v in data.items() if isinstance(v, int | float)}


def median_items(recent: Sequence[Mapping[str, Any]]) -> float | None:
    counts = [int(r["items"]) for r in recent if r.get("items") is not None]
    return float(statistics.median(counts)) if counts else None


def median_coverage(recent: Sequence[Mapping[str, Any]], names: Iterable[str]) -> dict[str, float]:
    out = {}
    for name in names:
        values = [c[name] for c in map(coverage_of, recent) if name in c]
        if values:
            out[name] = round(float(statistics.median(values)), 3)
    return out


def field_coverage(items: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Share (0-1, 3 decimals) of ``items`` with each of ``COVERAGE_FIELDS`` filled."""
    filled = {f: sum(1 for i in items if i.get(f) is not None) for f in COVERAGE_FIELDS}
    return coverage_of_counts(filled, len(items))


def coverage_of_counts(filled: Mapping[str, int], items: int) -> dict[str, float]:
    """``field_coverage`` of ``items`` listings of which ``filled[f]`` have the field ``f``
    (a crawl counts as it goes instead of keeping every listing)."""
    if not items:
        return {f: 0.0 for f in COVERAGE_FIELDS}
    return {f: round(filled.get(f, 0) / items, 3) for f in COVERAGE_FIELDS}


# -- the rules: (run, recent healthy runs, rules) -> reason or None -----------------------------


def blocked_problem(run, recent, rules) -> str | None:
    blocked = run.get("blocked_reason") or _mapping(run.get("stats")).get("keitrucks/blocked")
    if run.get("status") == "blocked" or blocked:
        return f"blocked ({blocked or 'block page'})"
    return None


def unfinished_problem(run, recent, rules) -> str | None:
    if run.get("status") in ("abandoned", "failed") or run.get("finish_reason") != "finished":
        why = run.get("finish_reason") or run.get("status") or "unknown"
        return f"did not finish ({why})"
    stats = _mapping(run.get("stats"))
    why = next((why for key, why in INCOMPLETE_STATS.items() if stats.get(key)), None)
    if why is None and run.get("complete") in (0, False):
        why = run.get("health_reason") or "part of the search failed"
    return f"incomplete ({why})" if why else None


def items_problem(run, recent, rules) -> str | None:
    items = int(run.get("items") or 0)
    if items == 0:
        return "no listings"
    median = median_items(recent)
    if median and items < rules.min_items_ratio * median:
        return f"{items} listings, recent median {median:g}"
    return None


def coverage_problem(run, recent, rules) -> str | None:
    now = coverage_of(run)
    before = median_coverage(recent, rules.coverage_fields)
    lost = [
        f"{name} {before[name]:.0%} -> {now[name]:.0%}"
        for name in rules.coverage_fields
        if name in now and name in before and before[name] - now[name] >= rules.coverage_drop
    ]
    return "field coverage fell: " + ", ".join(lost) if lost else None


Rule = Callable[[Mapping[str, Any], Sequence[Mapping[str, Any]], HealthRules], str | None]
#: (rule, the status it gives); the first failing or blocked rule ends the check.
RULES: tuple[tuple[Rule, str], ...] = (
    (blocked_problem, BLOCKED),
    (unfinished_problem, FAILED),
    (items_problem, UNHEALTHY),
    (coverage_problem, UNHEALTHY),
)


def judge_run(
    run: Mapping[str, Any],
    recent: Sequence[Mapping[str, Any]],
    rules: HealthRules | None = None,
) -> RunVerdict:
    """Judge one run against ``recent`` (the source's earlier healthy runs over the same search,
    newest first): blocked or failed runs are incomplete, unhealthy ones complete but not
    healthy, and only an ``ok`` run may mark listings gone."""
    rules = rules or HealthRules()
    status, reasons = OK, []
    for rule, gives in RULES:
        reason = rule(run, recent, rules)
        if reason is None:
            continue
        reasons.append(reason)
        status = max(status, gives, key=_RANK.__getitem__)
        if gives in (FAILED, BLOCKED):
            break
    return RunVerdict(
        complete=status in (OK, UNHEALTHY),
        healthy=status == OK,
        reason="; ".join(reasons) or "ok",
        status=status,
        reasons=tuple(reasons),
    )


def recorded_verdict(run: Mapping[str, Any]) -> RunVerdict | None:
    """The verdict stored on a ``runs`` row, None when the row has none (still running, or
    written before verdicts were recorded)."""
    status = run.get("health_status")
    if status not in _RANK:
        return None
    reasons = tuple(str(r) for r in json.loads(run.get("health_reasons") or "[]"))
    return RunVerdict(
        complete=bool(run.get("complete")),
        healthy=status == OK,
        reason=run.get("health_reason") or "; ".join(reasons) or "ok",
        status=status,
        reasons=reasons,
    )
