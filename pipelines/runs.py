"""Run bookkeeping: start, finish or abandon a crawl run, with its recorded verdict.

A run's row is written ``running`` when the crawl opens and completed when it ends, with the
verdict of ``pipelines.run_health.judge_run`` (``complete``, ``healthy``, ``health_status``,
``health_reasons``, ``health_reason``). A run that never finished (killed, timed out) is
recorded ``abandoned`` with status ``failed``: by ``abandon_run`` at once, or by the source's
next ``start_run``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from keitrucks.core.dates import now_iso
from pipelines.run_health import FAILED, RunVerdict, unfinished_problem
from pipelines.schema import open_db

_ABANDON_SQL = (
    "UPDATE runs SET status = 'abandoned', finish_reason = coalesce(finish_reason, ?), "
    "finished_at = coalesce(finished_at, ?), complete = 0, healthy = 0, health_status = ?, "
    "health_reason = ?, health_reasons = ? WHERE {where} AND status = 'running'"
)


def _abandoned_verdict(reason: str) -> list[Any]:
    why = unfinished_problem({"status": "abandoned", "finish_reason": reason}, [], None)
    return [FAILED, why, json.dumps([why], ensure_ascii=False)]


def start_run(
    db: Database,
    source: str,
    *,
    search_key: str,
    as_of: str,
    started_at: str,
    pid: int | None = None,
) -> int:
    """Insert a ``running`` run row; earlier runs of the source still ``running`` were killed.

    ``pid``: the crawl's process (this one by default; a remote job's on its own host)."""
    with db.conn:
        db.execute(
            _ABANDON_SQL.format(where="source = ?"),
            ["killed", None, *_abandoned_verdict("killed"), source],
        )
        cursor = db.execute(
            "INSERT INTO runs (source, search_key, as_of, started_at, status, pid) "
            "VALUES (?, ?, ?, ?, 'running', ?)",
            [source, search_key, as_of, started_at, os.getpid() if pid is None else pid],
        )
    return cursor.lastrowid


def abandon_run(db_path: str | os.PathLike, run_id: int, reason: str) -> dict[str, Any]:
    """Record a run whose crawl died before it finished as abandoned; return the run row.

    ``start_run`` does the same for a source's earlier runs, but only at its next run; the
    night's report, alerts and health check need to see it now.
    """
    db = open_db(db_path)
    try:
        with db.conn:
            db.execute(
                _ABANDON_SQL.format(where="id = ?"),
                [reason, now_iso(), *_abandoned_verdict(reason), run_id],
            )
        return next(db.query("SELECT * FROM runs WHERE id = ?", [run_id]))
    finally:
        db.close()


def recent_healthy_runs(
    db: Database, source: str, search_key: str | None, limit: int = 7
) -> list[dict[str, Any]]:
    """The source's last ``limit`` healthy runs over the same search, newest first."""
    return list(
        db.query(
            "SELECT id, items, coverage FROM runs WHERE source = ? AND search_key IS ? "
            "AND healthy = 1 ORDER BY id DESC LIMIT ?",
            [source, search_key, limit],
        )
    )


def finish_run(
    db: Database,
    run_id: int,
    *,
    finished_at: str,
    finish_reason: str,
    verdict: RunVerdict,
    stats: dict[str, Any],
    items: int,
    coverage: dict[str, float],
    gone_marked: int = 0,
    job: tuple[str, str | None] | None = None,
) -> None:
    """Complete the run's row: how it ended, its counts, and the verdict. ``job``: the
    (job id, server) of a Scrapyd job whose feed this run stored, remembered in the same
    transaction (``ingested_jobs``), so a crash cannot leave a finished run unremembered."""
    blocked = stats.get("keitrucks/blocked")
    status = "blocked" if blocked else ("finished" if finish_reason == "finished" else "failed")
    with db.conn:
        db.execute(
            "UPDATE runs SET finished_at = ?, status = ?, finish_reason = ?, complete = ?, "
            "healthy = ?, health_reason = ?, health_status = ?, health_reasons = ?, items = ?, "
            "drops = ?, errors = ?, requests = ?, blocked_reason = ?, gone_marked = ?, "
            "coverage = ?, stats = ? WHERE id = ?",
            [
                finished_at,
                status,
                finish_reason,
                int(verdict.complete),
                int(verdict.healthy),
                verdict.reason,
                verdict.status,
                json.dumps(list(verdict.reasons), ensure_ascii=False),
                items,
                int(stats.get("item_dropped_count", 0)),
                int(stats.get("log_count/ERROR", 0)),
                int(stats.get("downloader/request_count", 0)),
                blocked,
                gone_marked,
                json.dumps(coverage, sort_keys=True),
                json.dumps(stats, sort_keys=True, default=str),
                run_id,
            ],
        )
        if job is not None:
            db.execute(
                _INGESTED_SQL, [job[0], source_of_run(db, run_id), job[1], run_id, items, now_iso()]
            )


def set_run_stats(db: Database, run_id: int, stats: dict[str, Any]) -> None:
    """The open run's ``stats`` before its crawl ends (``finish_run`` writes the crawl's own)."""
    with db.conn:
        db.execute("UPDATE runs SET stats = ? WHERE id = ?", [json.dumps(stats), run_id])


def source_of_run(db: Database, run_id: int) -> str | None:
    row = db.execute("SELECT source FROM runs WHERE id = ?", [run_id]).fetchone()
    return row[0] if row else None


def read_runs_after(db_path: str | os.PathLike, after_id: int = 0) -> list[dict[str, Any]]:
    """Runs with id greater than ``after_id``, oldest first (what a night just recorded)."""
    if not Path(db_path).is_file():
        return []
    db = Database(db_path)
    try:
        if not db["runs"].exists():
            return []
        return list(db.query("SELECT * FROM runs WHERE id > ? ORDER BY id", [after_id]))
    finally:
        db.close()


def last_run_id(db_path: str | os.PathLike) -> int:
    if not Path(db_path).is_file():
        return 0
    db = Database(db_path)
    try:
        if not db["runs"].exists():
            return 0
        return next(db.query("SELECT coalesce(max(id), 0) AS n FROM runs"))["n"]
    finally:
        db.close()


def read_ingested_job(db_path: str | os.PathLike, job_id: str) -> dict[str, Any] | None:
    """The ``ingested_jobs`` row (run_id, items) of a Scrapyd job whose feed is stored, or None."""
    db = open_db(db_path)
    try:
        return next(
            db.query("SELECT run_id, items FROM ingested_jobs WHERE job_id = ?", [job_id]), None
        )
    finally:
        db.close()


_INGESTED_SQL = (
    "INSERT OR IGNORE INTO ingested_jobs "
    "(job_id, source, server, run_id, items, ingested_at) VALUES (?, ?, ?, ?, ?, ?)"
)


def record_ingested_job(
    db_path: str | os.PathLike, job_id: str, source: str, server: str | None, run_id, items: int
) -> None:
    """Remember that the feed of ``job_id`` is stored (a second ingest is then a no-op)."""
    db = open_db(db_path)
    try:
        with db.conn:
            db.execute(_INGESTED_SQL, [job_id, source, server, run_id, items, now_iso()])
    finally:
        db.close()
