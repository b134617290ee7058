"""Run the nightly job on a schedule, in the foreground: ``python scheduler.py``.

Each night crawls every enabled source in its own subprocess (Twisted's reactor cannot
restart in one process), then writes the report, raises the alerts and checks each source's
health (``keitrucks.night``). The schedule is a cron expression in an explicit IANA time zone,
from the ``[schedule]`` table of the configuration:

    [schedule]
    cron = "30 2 * * *"          # 02:30 every night
    timezone = "America/Chicago" # default: the machine's
    jitter_seconds = 600         # start up to 10 minutes late, at random
    misfire_grace_hours = 12     # a night missed by downtime still runs if this late at most
    crawl_timeout_minutes = 30   # per source; the crawl is stopped after that

The job lives in a persistent job store (SQLite through SQLAlchemy, ``data/scheduler.sqlite``
beside the database), so after downtime the missed night runs once when the scheduler starts
again (``coalesce``), never once per missed night, and not at all when it is more than the
grace time late. Locks keep two schedulers, and two nights, from overlapping across processes;
a manual ``keitrucks nightly`` takes the same night lock. Logs go to the console and to a
rotating file.

``--once`` runs one night now; ``--print-jobs`` prints the next run times.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from keitrucks import common_cli
from keitrucks.common_cli import EXIT_FAILED
from keitrucks.core.config import ConfigError, enabled_sources, load_config
from keitrucks.core.paths import DEFAULT_DB, DEFAULT_REPORTS
from keitrucks.crawl import request_stop
from keitrucks.health import HealthRules
from keitrucks.night import (
    NightAlreadyRunningError,
    lock_path,
    night_lock,
    sigterm_stops_the_night,
)

logger = logging.getLogger("keitrucks.scheduler")

DEFAULT_SCHEDULE = {
    "cron": "30 2 * * *",
    "timezone": None,
    "jitter_seconds": 600,
    "misfire_grace_hours": 12,
    "crawl_timeout_minutes": 30,
}
JOB_ID = "night"
#: The job's function by reference, so the persistent store can find it after a restart.
NIGHT_FUNC = "scheduler:night_job"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Exit codes of main(), those of every keitrucks command (README "Exit codes"): another
#: night holding the lock fails this one, as it fails `keitrucks nightly`.
EXIT_OK, EXIT_NIGHT_FAILED, EXIT_CONFIG = common_cli.EXIT_OK, EXIT_FAILED, common_cli.EXIT_CONFIG
EXIT_LOCKED = EXIT_FAILED


def schedule_settings(config: dict[str, Any]) -> dict[str, Any]:
    """``[schedule]`` over the defaults, checked; ``tz`` is the ZoneInfo or None (local)."""
    settings = {**DEFAULT_SCHEDULE, **config.get("schedule", {})}
    try:
        settings["tz"] = ZoneInfo(settings["timezone"]) if settings["timezone"] else None
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"[schedule] timezone {settings['timezone']!r} is not an IANA time zone"
        ) from None
    for key in ("jitter_seconds", "misfire_grace_hours", "crawl_timeout_minutes"):
        value = settings[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"[schedule] {key} must be a number >= 0, not {value!r}")
    if not settings["misfire_grace_hours"] or not settings["crawl_timeout_minutes"]:
        raise ConfigError("[schedule] misfire_grace_hours and crawl_timeout_minutes must be > 0")
    return settings


def build_trigger(settings: dict[str, Any]) -> CronTrigger:
    try:
        trigger = CronTrigger.from_crontab(
            settings["cron"], timezone=settings["tz"] or _local_zone()
        )
    except ValueError as exc:
        raise ConfigError(f"[schedule] cron {settings['cron']!r}: {exc}") from None
    trigger.jitter = int(settings["jitter_seconds"]) or None
    return trigger


def default_jobstore(db: Path) -> str:
    return f"sqlite:///{Path(db).resolve().parent / 'scheduler.sqlite'}"


# -- the night ----------------------------------------------------------------------------------


def run_locked_night(
    db: Path,
    out: Path,
    config: dict[str, Any],
    config_path: str | None,
    *,
    base_url: str | None = None,
    as_of: str | None = None,
    holder: str = "scheduled night",
) -> bool:
    """One night under the night lock; True when every source and step succeeded.

    Raises NightAlreadyRunningError when another night holds the lock.
    """
    from keitrucks.night import run_night

    schedule_settings(config)  # a bad [schedule] fails here, before anything runs
    with night_lock(lock_path(db), holder=holder):
        logger.info("night starts: database %s, reports %s", db, out)
        result = run_night(
            Path(db),
            Path(out),
            config=config,
            config_path=config_path,
            sources=enabled_sources(config),
            base_url=base_url,
            as_of=as_of,
            progress=lambda s, o: logger.info("crawl %s: %s", s, o.line),
            echo=lambda line: logger.info("%s", line),
        )
    failed = [o.source for o in result.outcomes if not o.ok] + list(result.errors)
    logger.log(
        logging.WARNING if failed else logging.INFO,
        "night %s ends: %s",
        result.as_of,
        f"failed: {', '.join(failed)}" if failed else "all sources ok",
    )
    return result.ok


def night_job(db: str, out: str, config_path: str | None) -> bool:
    """The scheduled job: reads the configuration afresh, then runs the night under the lock."""
    try:
        config = load_config(config_path)
        return run_locked_night(Path(db), Path(out), config, config_path)
    except NightAlreadyRunningError as exc:
        logger.warning("scheduled night skipped: %s", exc)
    except ConfigError as exc:
        logger.error("scheduled night skipped, bad configuration: %s", exc)
    return False


# -- the scheduler ------------------------------------------------------------------------------


def _same_trigger(a: Any, b: CronTrigger) -> bool:
    return repr(a) == repr(b)


def _stored_job(scheduler: BaseScheduler, store: Any) -> Any:
    """The night job as the persistent store holds it, or None (absent or unreadable)."""
    store.start(scheduler, "default")
    try:
        return store.lookup_job(JOB_ID)
    except Exception as exc:  # a job pickled by an incompatible version: start afresh
        logger.warning("stored job unreadable (%s); scheduling afresh", exc)
        store.remove_job(JOB_ID)
        return None


def build_scheduler(
    config: dict[str, Any],
    *,
    db: Path,
    out: Path,
    config_path: str | None = None,
    jobstore: str | None = None,
    scheduler_class: type[BaseScheduler] = BlockingScheduler,
    now: datetime | None = None,
) -> BaseScheduler:
    """The scheduler with its one nightly job, not started.

    ``jobstore`` is an SQLAlchemy URL (``sqlite:///data/scheduler.sqlite``); None keeps the job
    in memory. With a store, a night the store still has due (missed while the scheduler was
    down) keeps its time, so the started scheduler runs it once; a changed schedule replaces
    a future run time.
    """
    settings = schedule_settings(config)
    trigger = build_trigger(settings)
    job_defaults = {
        "coalesce": True,
        "max_instances": 1,
        "misfire_grace_time": int(settings["misfire_grace_hours"] * 3600),
    }
    scheduler = scheduler_class(job_defaults=job_defaults, timezone=trigger.timezone)
    keep: dict[str, Any] = {}
    if jobstore:
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

        store = SQLAlchemyJobStore(url=jobstore)
        stored = _stored_job(scheduler, store)
        moment = now or datetime.now(trigger.timezone)
        if (
            stored is not None
            and stored.next_run_time is not None
            and (stored.next_run_time <= moment or _same_trigger(stored.trigger, trigger))
        ):
            keep["next_run_time"] = stored.next_run_time
        scheduler.add_jobstore(store, "default")
    scheduler.add_job(
        NIGHT_FUNC,
        trigger,
        args=[str(db), str(out), config_path],
        id=JOB_ID,
        name="nightly crawl, report, alerts, health",
        replace_existing=True,
        **keep,
    )
    return scheduler


def next_runs(scheduler: BaseScheduler, count: int = 1, now: datetime | None = None):
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


def upcoming(scheduler: BaseScheduler, now: datetime | None = None):
    """(job id, time) of each job's next run: the stored time when the job store keeps one
    (jitter included), else the trigger's next fire time."""
    out = []
    for job in scheduler.get_jobs():
        stored = getattr(job, "next_run_time", None)
        if stored is not None and stored > (now or datetime.now(stored.tzinfo)):
            out.append((job.id, stored))
        else:
            out.extend((i, w) for i, w in next_runs(scheduler, now=now) if i == job.id)
    return out


def missed_run(scheduler: BaseScheduler, now: datetime | None = None) -> datetime | None:
    """The missed run the started scheduler will catch up on, if the store holds one."""
    for job in scheduler.get_jobs():
        when = getattr(job, "next_run_time", None)
        if when is not None and when <= (now or datetime.now(when.tzinfo)):
            return when
    return None


def _local_zone():
    from tzlocal import get_localzone

    return get_localzone()


# -- the command --------------------------------------------------------------------------------


@contextmanager
def logging_to(log_file: Path | None, level: int = logging.INFO) -> Iterator[None]:
    """Log to the console and, if given, a rotating file (5 MB x 5); removed on exit. A console
    handler already there (``keitrucks schedule``'s own) steps aside meanwhile: with both, every
    line reached the console twice."""
    root = logging.getLogger()
    aside = [
        h
        for h in root.handlers
        if type(h) is logging.StreamHandler and h.stream in (sys.stderr, sys.__stderr__)
    ]
    for handler in aside:
        root.removeHandler(handler)
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if log_file:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_file, maxBytes=5_000_000, backupCount=5, encoding="utf-8"
            )
        )
    old_level = root.level
    root.setLevel(level)
    for handler in handlers:
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
    logging.getLogger("apscheduler").setLevel(level)
    try:
        yield
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
        for handler in aside:
            root.addHandler(handler)
        root.setLevel(old_level)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--config", default=os.getenv("KEITRUCKS_CONFIG"), help="TOML configuration"
    )
    parser.add_argument("--db", default=DEFAULT_DB, help=f"SQLite database (default: {DEFAULT_DB})")
    parser.add_argument(
        "--out", default=DEFAULT_REPORTS, help=f"report folder (default: {DEFAULT_REPORTS})"
    )
    parser.add_argument(
        "--jobstore",
        help="SQLAlchemy URL of the job store "
        "(default: sqlite:///<database folder>/scheduler.sqlite)",
    )
    parser.add_argument(
        "--log-file",
        help="rotating log file (default: <database folder>/logs/"
        "scheduler.log); 'none' logs to the console only",
    )
    parser.add_argument("--once", action="store_true", help="run one night now, then exit")
    parser.add_argument("--print-jobs", action="store_true", help="print the next run times")
    parser.add_argument("--base-url", help="with --once: crawl a local copy (the sample server)")
    parser.add_argument("--as-of", help="with --once: stamp the night with this date")
    return parser


def existing_jobstore(url: str) -> str | None:
    """``url`` when it names a job store that exists; None for an SQLite file not there yet
    (so looking at the schedule never creates one)."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not Path(url.removeprefix(prefix)).exists():
        return None
    return url


def when_text(when: datetime) -> str:
    """A run time to the second, in its zone."""
    return when.replace(microsecond=0).isoformat()


def planned_runs(scheduler: BaseScheduler, settings: dict[str, Any]) -> list[str]:
    """The next run of each job as a line: the time the job store holds (its jitter already
    drawn) or, without one, the cron time itself with the jitter said in words, so the same
    schedule prints the same line every time."""
    jitter = int(settings["jitter_seconds"])
    plain = build_trigger({**settings, "jitter_seconds": 0})
    lines = []
    for job in scheduler.get_jobs():
        stored = getattr(job, "next_run_time", None)
        now = datetime.now(plain.timezone)
        if stored is not None and stored > now:
            lines.append(f"{job.id}: next run {when_text(stored)}")
            continue
        when = plain.get_next_fire_time(None, now)
        late = f" (starts up to {jitter} s later, at random)" if jitter else ""
        lines.append(f"{job.id}: next run {when_text(when)}{late}")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    db, out = Path(args.db), Path(args.out)
    log_file = (
        None
        if args.log_file == "none" or args.print_jobs
        else Path(args.log_file or db.resolve().parent / "logs" / "scheduler.log")
    )
    level = logging.WARNING if args.print_jobs else logging.INFO
    with logging_to(log_file, level):
        try:
            config = load_config(args.config)
            HealthRules.from_config(config)  # a bad [health] fails now, not at 02:30
            if args.once:
                with sigterm_stops_the_night():
                    ok = run_locked_night(
                        db,
                        out,
                        config,
                        args.config,
                        base_url=args.base_url,
                        as_of=args.as_of,
                        holder="scheduler.py --once",
                    )
                return EXIT_OK if ok else EXIT_NIGHT_FAILED
            scheduler = build_scheduler(
                config,
                db=db,
                out=out,
                config_path=args.config,
                jobstore=(
                    existing_jobstore(args.jobstore or default_jobstore(db))
                    if args.print_jobs
                    else args.jobstore or default_jobstore(db)
                ),
            )
        except ConfigError as exc:
            print(f"Error: {exc}", file=sys.stderr)  # noqa: T201
            return EXIT_CONFIG
        except NightAlreadyRunningError as exc:
            print(f"Error: {exc}", file=sys.stderr)  # noqa: T201
            return EXIT_LOCKED
        if args.print_jobs:
            missed = missed_run(scheduler)
            if missed:
                print(f"{JOB_ID}: missed run {when_text(missed)} runs once at start")  # noqa: T201
            for line in planned_runs(scheduler, schedule_settings(config)):
                print(line)  # noqa: T201
            return EXIT_OK
        return _serve(scheduler, db)


def _serve(scheduler: BaseScheduler, db: Path) -> int:
    """Start the scheduler in the foreground under the scheduler lock (one per database)."""
    try:
        with night_lock(lock_path(db).with_suffix(".scheduler.lock"), holder="scheduler.py"):
            missed = missed_run(scheduler)
            if missed:
                logger.info("a night due at %s was missed; it runs once now", missed.isoformat())
            for job_id, when in upcoming(scheduler):
                logger.info(
                    "scheduler started; %s next at %s; Ctrl-C to stop", job_id, when.isoformat()
                )
            with sigterm_stops_the_night(), suppress(KeyboardInterrupt, SystemExit):
                scheduler.start()
            logger.info("scheduler stopping; a running night winds down first")
            request_stop()
            if scheduler.running:
                scheduler.shutdown(wait=True)
    except NightAlreadyRunningError as exc:
        message = str(exc).replace("another night is running", "another scheduler is running")
        print(f"Error: {message}", file=sys.stderr)  # noqa: T201
        return EXIT_LOCKED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
