"""Run the nightly job on a schedule, in the foreground: ``python scheduler.py``.

Each night crawls every enabled source in its own subprocess (Twisted's reactor cannot
restart in one process), then writes the report and raises the alerts. The schedule is a cron
expression in an explicit IANA time zone, from the ``[schedule]`` table of the configuration:

    [schedule]
    cron = "30 2 * * *"        # 02:30 every night
    timezone = "America/Chicago"
    jitter_seconds = 600

A lock file keeps two nights from overlapping, also across processes.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from keitrucks.config import ConfigError, enabled_sources, load_config

logger = logging.getLogger("keitrucks.scheduler")

DEFAULT_SCHEDULE = {"cron": "30 2 * * *", "timezone": None, "jitter_seconds": 600}
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 6 * 3600}


class NightAlreadyRunningError(RuntimeError):
    """Another night holds the lock."""


@contextmanager
def night_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` for the night, or raise NightAlreadyRunningError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise NightAlreadyRunningError(
                f"another night is running (lock {path} is held); try again when it ends"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def schedule_settings(config: dict[str, Any]) -> dict[str, Any]:
    settings = {**DEFAULT_SCHEDULE, **config.get("schedule", {})}
    try:
        settings["tz"] = ZoneInfo(settings["timezone"]) if settings["timezone"] else None
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"[schedule] timezone {settings['timezone']!r} is not an IANA time zone") from None  # fmt: skip
    return settings


def night_job(db: Path, out: Path, config: dict[str, Any], config_path: str | None) -> bool:
    """One scheduled night under the lock; True when every source succeeded."""
    from keitrucks.night import run_night

    try:
        with night_lock(db.with_suffix(".lock")):
            result = run_night(
                db, out, config=config, config_path=config_path,
                sources=enabled_sources(config),
                progress=lambda s, o: logger.info("%s: %s", s, o.line),
            )  # fmt: skip
    except NightAlreadyRunningError as exc:
        logger.warning("%s", exc)
        return False
    return result.ok


def build_scheduler(
    config: dict[str, Any], *, db: Path, out: Path, config_path: str | None = None
) -> BlockingScheduler:
    """The scheduler with its one nightly job, not started."""
    settings = schedule_settings(config)
    try:
        trigger = CronTrigger.from_crontab(
            settings["cron"], timezone=settings["tz"] or _local_zone()
        )
    except ValueError as exc:
        raise ConfigError(f"[schedule] cron {settings['cron']!r}: {exc}") from None
    trigger.jitter = settings["jitter_seconds"] or None
    scheduler = BlockingScheduler(job_defaults=JOB_DEFAULTS, timezone=trigger.timezone)
    scheduler.add_job(
        night_job, trigger, args=[db, out, config, config_path], id="night", name="nightly crawl"
    )
    return scheduler


def next_runs(scheduler: BlockingScheduler, count: int = 1, now: datetime | None = None):
    """(job id, time) of the next ``count`` runs of each job, without starting the scheduler."""
    out = []
    for job in scheduler.get_jobs():
        previous = None
        moment = now or datetime.now(job.trigger.timezone)
        for _ in range(count):
            when = job.trigger.get_next_fire_time(previous, moment)
            if when is None:
                break
            out.append((job.id, when))
            previous, moment = when, when
    return out


def _local_zone():
    from tzlocal import get_localzone

    return get_localzone()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--config", default=os.getenv("KEITRUCKS_CONFIG"), help="TOML configuration"
    )
    parser.add_argument("--db", default="data/keitrucks.db", help="SQLite database")
    parser.add_argument("--out", default="data/reports", help="report folder")
    parser.add_argument("--once", action="store_true", help="run one night now, then exit")
    parser.add_argument("--print-jobs", action="store_true", help="print the next run times")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        config = load_config(args.config)
        if args.once:
            return 0 if night_job(Path(args.db), Path(args.out), config, args.config) else 1
        scheduler = build_scheduler(config, db=Path(args.db), out=Path(args.out),
                                    config_path=args.config)  # fmt: skip
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    if args.print_jobs:
        for job_id, when in next_runs(scheduler):
            print(f"{job_id}: next run {when.isoformat()}")  # noqa: T201
        return 0
    logger.info("scheduler started; Ctrl-C to stop")
    with suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
