"""Source health: is each source still giving us what it used to give?

The last step of a night judges every source's latest run against the source's own recent
healthy runs and records the verdict in the ``source_health`` table (one row per run, created
here, idempotently). The rules, each a small function:

- blocked: the run stopped at a block page (403/429, a challenge, HTML where JSON was expected);
- failed: the run did not finish, or finished without seeing everything it searched;
- too few items: below ``min_items_ratio`` of the median of the recent healthy runs;
- field coverage: price, year, model or 4WD filled for a share of listings that fell by
  ``coverage_drop`` or more from the recent median;
- dead: ``dead_after`` nights in a row without a healthy run.

The verdict decides nothing about "gone" by itself: the storage pipeline marks listings gone
only after a complete, healthy run, and ``review_verdict`` lets it apply the coverage rule
before it does. ``analysis.alerts`` turns unhealthy sources into "source unhealthy" alerts.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from keitrucks.core.config import ConfigError
from pipelines.storage import RunVerdict

logger = logging.getLogger(__name__)

#: Run statuses, best first.
OK, UNHEALTHY, FAILED, BLOCKED = "ok", "unhealthy", "failed", "blocked"
#: A source's state after its latest run.
STATE_OK, STATE_FAILING, STATE_DEAD, STATE_NEVER = "ok", "failing", "dead", "never run"

HEALTH_SCHEMA = """
CREATE TABLE IF NOT EXISTS source_health (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id),
    source TEXT NOT NULL,
    -- the night (YYYY-MM-DD) of the run's as-of time
    night TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    -- ok, unhealthy, failed, blocked
    status TEXT NOT NULL,
    -- the source after this run: ok, failing, dead
    state TEXT NOT NULL,
    -- nights in a row, up to this one, without a healthy run
    failed_nights INTEGER NOT NULL,
    -- JSON list of one-line reasons; [] when ok
    reasons TEXT NOT NULL,
    items INTEGER,
    median_items REAL,
    -- JSON {field: share} of this run and the recent median
    coverage TEXT,
    coverage_median TEXT
);
CREATE INDEX IF NOT EXISTS source_health_source_night ON source_health (source, night);
"""


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
class RunHealth:
    """The verdict on one run."""

    run_id: int
    source: str
    night: str
    status: str
    reasons: tuple[str, ...] = ()
    items: int = 0
    median_items: float | None = None
    coverage: dict[str, float] = field(default_factory=dict)
    coverage_median: dict[str, float] = field(default_factory=dict)
    #: nights in a row, up to this run's, without a healthy run; and the resulting state.
    failed_nights: int = 0
    state: str = STATE_OK

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def line(self) -> str:
        """One line a user can act on."""
        words = {
            STATE_DEAD: f"DEAD ({self.failed_nights} nights without a healthy run)",
            STATE_FAILING: f"{self.status} ({self.failed_nights} night(s) in a row)",
        }
        head = words.get(self.state, self.status)
        return head + (": " + "; ".join(self.reasons) if self.reasons else "")


# -- the rules: (run, recent healthy runs, rules) -> reason or None -----------------------------


def night_of(run: Mapping[str, Any]) -> str:
    return str(run.get("as_of") or run.get("started_at") or "")[:10]


def coverage_of(run: Mapping[str, Any]) -> dict[str, float]:
    """The run's field coverage (stored as JSON text), {} when absent or unreadable."""
    raw = run.get("coverage")
    if isinstance(raw, Mapping):
        data = raw
    else:
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            return {}
    if not isinstance(data, Mapping):
        return {}
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


def blocked_problem(run, recent, rules) -> str | None:
    if run.get("status") == "blocked" or run.get("blocked_reason"):
        return f"blocked ({run.get('blocked_reason') or 'block page'})"
    return None


def unfinished_problem(run, recent, rules) -> str | None:
    if run.get("status") in ("abandoned", "failed") or run.get("finish_reason") != "finished":
        why = run.get("finish_reason") or run.get("status") or "unknown"
        return f"did not finish ({why})"
    if not run.get("complete"):
        return f"incomplete ({run.get('health_reason') or 'part of the search failed'})"
    return None


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
_RANK = {OK: 0, UNHEALTHY: 1, FAILED: 2, BLOCKED: 3}


def assess_run(
    run: Mapping[str, Any], recent: Sequence[Mapping[str, Any]], rules: HealthRules
) -> RunHealth:
    """Judge one finished run against ``recent`` (the source's earlier healthy runs over the
    same search, newest first)."""
    status, reasons = OK, []
    for rule, gives in RULES:
        reason = rule(run, recent, rules)
        if reason is None:
            continue
        reasons.append(reason)
        status = max(status, gives, key=_RANK.__getitem__)
        if gives in (FAILED, BLOCKED):
            break
    if status == OK and run.get("healthy") == 0:
        # The crawl's own verdict (storage.judge_run) found a problem these rules do not name.
        status, reasons = UNHEALTHY, [run.get("health_reason") or "judged unhealthy by the crawl"]
    return RunHealth(
        run_id=int(run["id"]),
        source=str(run["source"]),
        night=night_of(run),
        status=status,
        reasons=tuple(reasons),
        items=int(run.get("items") or 0),
        median_items=median_items(recent),
        coverage=coverage_of(run),
        coverage_median=median_coverage(recent, rules.coverage_fields),
    )


def assess_history(runs: Sequence[Mapping[str, Any]], rules: HealthRules) -> list[RunHealth]:
    """Every finished run of one source, oldest first, each judged against the healthy runs
    before it; with the count of failed nights and the source's state after each run."""
    healthy: dict[Any, list[Mapping[str, Any]]] = {}
    night_ok: dict[str, bool] = {}
    out = []
    for run in sorted(runs, key=lambda r: r["id"]):
        if run.get("status") == "running":
            continue
        same = healthy.setdefault(run.get("search_key"), [])
        verdict = assess_run(run, same[: rules.window], rules)
        if verdict.ok:
            same.insert(0, run)
        # A night counts as failed when none of its runs was healthy.
        night_ok[verdict.night] = night_ok.get(verdict.night, False) or verdict.ok
        failed = 0
        for night in sorted(night_ok, reverse=True):
            if night_ok[night]:
                break
            failed += 1
        state = (
            STATE_OK
            if failed == 0
            else (STATE_DEAD if failed >= rules.dead_after else STATE_FAILING)
        )
        out.append(_replace(verdict, failed_nights=failed, state=state))
    return out


def _replace(verdict: RunHealth, **changes) -> RunHealth:
    return RunHealth(**{**asdict(verdict), **changes})


def latest_by_source(
    runs: Sequence[Mapping[str, Any]], rules: HealthRules
) -> dict[str, list[RunHealth]]:
    """source -> its judged runs, oldest first."""
    by_source: dict[str, list[Mapping[str, Any]]] = {}
    for run in runs:
        by_source.setdefault(str(run["source"]), []).append(run)
    return {source: assess_history(rs, rules) for source, rs in sorted(by_source.items())}


# -- the pipeline's hook ------------------------------------------------------------------------


def review_verdict(
    db: Database,
    source: str,
    search_key: str | None,
    verdict: RunVerdict,
    coverage: Mapping[str, float],
    rules: HealthRules | None = None,
) -> RunVerdict:
    """The crawl's verdict with the coverage rule applied, before anything is marked gone.

    ``storage.judge_run`` already covers blocks, incomplete runs and too few items; a run that
    passed it but lost field coverage against its recent healthy runs comes back unhealthy.
    """
    if not verdict.healthy:
        return verdict
    rules = rules or HealthRules()
    recent = list(
        db.query(
            "SELECT items, coverage FROM runs WHERE source = ? AND search_key IS ? AND healthy = 1 "
            "ORDER BY id DESC LIMIT ?",
            [source, search_key, rules.window],
        )
    )
    problem = coverage_problem({"coverage": dict(coverage)}, recent, rules)
    return RunVerdict(verdict.complete, False, problem) if problem else verdict


# -- storage of verdicts ------------------------------------------------------------------------


def ensure_health_schema(db: Database) -> None:
    """Create ``source_health`` if missing. Idempotent."""
    with db.conn:
        db.conn.executescript(HEALTH_SCHEMA)


def read_runs(db: Database) -> list[dict[str, Any]]:
    if not db["runs"].exists():
        return []
    return list(db.query("SELECT * FROM runs ORDER BY id"))


def save_health(db: Database, verdicts: Iterable[RunHealth], *, checked_at: str) -> int:
    """Upsert one row per judged run (the verdicts are recomputed from ``runs`` each check)."""
    rows = [
        [
            v.run_id,
            v.source,
            v.night,
            checked_at,
            v.status,
            v.state,
            v.failed_nights,
            json.dumps(list(v.reasons), ensure_ascii=False),
            v.items,
            v.median_items,
            json.dumps(v.coverage, sort_keys=True),
            json.dumps(v.coverage_median, sort_keys=True),
        ]
        for v in verdicts
    ]
    with db.conn:
        db.conn.executemany(
            "INSERT INTO source_health (run_id, source, night, checked_at, status, state, "
            "failed_nights, reasons, items, median_items, coverage, coverage_median) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(run_id) DO UPDATE SET "
            "source = excluded.source, night = excluded.night, checked_at = excluded.checked_at, "
            "status = excluded.status, state = excluded.state, "
            "failed_nights = excluded.failed_nights, reasons = excluded.reasons, "
            "items = excluded.items, median_items = excluded.median_items, "
            "coverage = excluded.coverage, coverage_median = excluded.coverage_median",
            rows,
        )
    return len(rows)


@dataclass
class SourceHealth:
    """A source's latest verdict (None when it never ran) and its recent runs, oldest first."""

    source: str
    latest: RunHealth | None
    recent: list[RunHealth]

    @property
    def state(self) -> str:
        return self.latest.state if self.latest else STATE_NEVER

    @property
    def ok(self) -> bool:
        return self.latest is not None and self.latest.ok


def summarize(
    judged: Mapping[str, list[RunHealth]], sources: Iterable[str], keep: int = 7
) -> list[SourceHealth]:
    """One SourceHealth per source named or judged, in that order (named first)."""
    names = list(dict.fromkeys([*sources, *judged]))
    return [
        SourceHealth(s, (judged.get(s) or [None])[-1], list(judged.get(s) or [])[-keep:])
        for s in names
    ]


def check_health(
    db_path: str | os.PathLike,
    sources: Sequence[str],
    *,
    rules: HealthRules,
    checked_at: str,
    record: bool = True,
) -> list[SourceHealth]:
    """Judge every source's runs, record the verdicts (unless ``record`` is false), and return
    each source's state; ``sources`` (the enabled ones) are listed even if they never ran."""
    if not Path(db_path).is_file():
        return summarize({}, sources)
    db = Database(db_path)
    try:
        db.execute("PRAGMA busy_timeout = 30000")
        judged = latest_by_source(read_runs(db), rules)
        if record:
            ensure_health_schema(db)
            save_health(db, [v for vs in judged.values() for v in vs], checked_at=checked_at)
    finally:
        db.close()
    out = summarize(judged, sources)
    for health in out:
        latest = health.latest
        if latest is not None and latest.ok is False:
            logger.warning("%s: %s", health.source, latest.line)
            if latest.state == STATE_DEAD:
                logger.error(
                    "%s looks dead: fix its spider or disable it in [sources]", health.source
                )
    return out
