"""One night: crawl every enabled source (a subprocess each), then the report, then the alerts.

Shared by ``keitrucks nightly``, ``keitrucks demo`` and ``scheduler.py``. One source failing
never stops the others; each source's outcome is one line a user can act on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keitrucks.crawl import CrawlResult, run_crawl
from keitrucks.dates import normalize_as_of, now_iso
from pipelines.storage import last_run_id, open_db, read_runs_after

logger = logging.getLogger(__name__)

_NETWORK_ERRORS = {
    "DNSLookupError": "no network (DNS lookup failed)",
    "ConnectionRefusedError": "connection refused",
    "DownloadConnectionRefusedError": "connection refused",
    "TCPTimedOutError": "connection timed out",
    "TimeoutError": "timed out",
    "DownloadTimeoutError": "timed out",
    "CannotResolveHostError": "no network (DNS lookup failed)",
    "DownloadFailedError": "download failed",
    "ResponseDataLossError": "response cut short",
    "ConnectionLost": "connection lost",
    "ResponseNeverReceived": "no response received",
    "NoRouteError": "no route to host",
}


@dataclass
class SourceOutcome:
    source: str
    ok: bool
    line: str
    run: dict[str, Any] | None = None
    returncode: int = 0


@dataclass
class NightResult:
    as_of: str | None
    outcomes: list[SourceOutcome] = field(default_factory=list)
    report_folder: Path | None = None
    alerts: Any = None

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)


def _stats(run: dict[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(run.get("stats") or "{}")
    except ValueError:
        return {}


def _failure_cause(stats: dict[str, Any]) -> str | None:
    for key in stats:
        if key.startswith("downloader/exception_type_count/"):
            name = key.rsplit(".", 1)[-1]
            return _NETWORK_ERRORS.get(name, name)
    return None


def describe(source: str, crawl: CrawlResult, run: dict[str, Any] | None) -> SourceOutcome:
    """One line on how a source's crawl went, and whether it counts as a success."""
    if run is None:
        last = (crawl.stderr_tail.strip().splitlines() or ["no output"])[-1]
        return SourceOutcome(source, False, f"did not start: {last}", None, crawl.returncode)
    stats = _stats(run)
    if run["status"] in ("running", "abandoned"):
        why = "killed" if crawl.returncode < 0 else f"exit code {crawl.returncode}"
        return SourceOutcome(source, False, f"did not finish ({why}); nothing marked gone", run,
                             crawl.returncode)  # fmt: skip
    if run["blocked_reason"]:
        return SourceOutcome(
            source, False,
            f"blocked ({run['blocked_reason']}) at {stats.get('keitrucks/blocked_url', '?')}; "
            "stopped the source, nothing marked gone", run, crawl.returncode,
        )  # fmt: skip
    if not run["healthy"]:
        cause = _failure_cause(stats) if run["items"] == 0 else None
        why = cause or run["health_reason"] or run["finish_reason"]
        return SourceOutcome(source, False, f"failed: {why}; {run['items']} listings kept, "
                             "nothing marked gone", run, crawl.returncode)  # fmt: skip
    events = {
        k.rsplit("/", 1)[-1]: v for k, v in stats.items() if k.startswith("keitrucks/history/")
    }
    parts = [f"{run['items']} listings"]
    parts += [f"{events[k]} {k.replace('_', ' ')}" for k in ("new", "price_change", "relisted",
              "status_change") if events.get(k)]  # fmt: skip
    if run["gone_marked"]:
        parts.append(f"{run['gone_marked']} gone")
    return SourceOutcome(source, True, "ok: " + ", ".join(parts), run, crawl.returncode)


def crawl_sources(
    db: Path,
    sources: list[str],
    *,
    as_of: str | None = None,
    base_url: str | None = None,
    config_path: str | None = None,
    log_dir: Path | None = None,
    progress: Callable[[str, SourceOutcome], None] | None = None,
) -> list[SourceOutcome]:
    open_db(db).close()  # create the schema once, before crawls write concurrently with readers
    outcomes = []
    for source in sources:
        before = last_run_id(db)
        stamp = (as_of or "live").replace(":", "")[:10]
        log_path = log_dir / f"{stamp}-{source}.log" if log_dir else None
        crawl = run_crawl(source, db=db, base_url=base_url, as_of=as_of, config=config_path,
                          log_path=log_path)  # fmt: skip
        runs = [r for r in read_runs_after(db, before) if r["source"] == source]
        outcome = describe(source, crawl, runs[-1] if runs else None)
        if not outcome.ok:
            logger.warning("%s: %s", source, outcome.line)
        outcomes.append(outcome)
        if progress:
            progress(source, outcome)
    return outcomes


def report_and_alert(
    db: Path,
    out_dir: Path,
    *,
    as_of: str,
    config: dict[str, Any],
    dry_run_alerts: bool = False,
    echo: Callable[[str], None] | None = None,
) -> tuple[Path | None, Any]:
    """Write the night's report and raise its alerts; returns (report folder, alert run)."""
    from analysis.alerts import run_alerts
    from analysis.report import write_report

    report = write_report(db, out_dir, as_of=as_of[:10], config=config)
    alerts = run_alerts(
        db, as_of=as_of[:10], config=config, dry_run=dry_run_alerts,
        digest_dir=report.folder, echo=echo,
    )  # fmt: skip
    return report.folder, alerts


def run_night(
    db: Path,
    out_dir: Path,
    *,
    config: dict[str, Any],
    sources: list[str],
    config_path: str | None = None,
    as_of: str | None = None,
    base_url: str | None = None,
    dry_run_alerts: bool = False,
    progress: Callable[[str, SourceOutcome], None] | None = None,
    echo: Callable[[str], None] | None = None,
) -> NightResult:
    """Crawl every source, then report and alert on what the database now holds."""
    stamp = normalize_as_of(as_of) if as_of else now_iso()
    result = NightResult(as_of=stamp)
    result.outcomes = crawl_sources(
        db, sources, as_of=stamp, base_url=base_url, config_path=config_path,
        log_dir=db.parent / "logs", progress=progress,
    )  # fmt: skip
    result.report_folder, result.alerts = report_and_alert(
        db, out_dir, as_of=stamp, config=config, dry_run_alerts=dry_run_alerts, echo=echo
    )
    return result
