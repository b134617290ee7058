"""The scheduler is built and inspected; where a test must see APScheduler act (a missed night
after downtime), it runs a background scheduler for a second with the night replaced."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from click.testing import CliRunner

import scheduler
from keitrucks.cli import cli
from keitrucks.core.config import ConfigError, load_config
from keitrucks.night import lock_path, night_lock
from tests.conftest import TESTS_DIR


def config_with(**schedule):
    config = load_config(None)
    config["schedule"] = {**config["schedule"], **schedule}
    return config


CHICAGO = {"cron": "30 2 * * *", "timezone": "America/Chicago", "jitter_seconds": 0}


def test_one_nightly_job_with_safe_defaults(tmp_path):
    sched = scheduler.build_scheduler(config_with(**CHICAGO), db=tmp_path / "k.db", out=tmp_path)
    (job,) = sched.get_jobs()
    assert job.id == "night"
    assert job.func_ref == "scheduler:night_job"
    assert job.args == (str(tmp_path / "k.db"), str(tmp_path), None)
    assert str(job.trigger.timezone) == "America/Chicago"
    assert sched._job_defaults == {
        "coalesce": True,
        "max_instances": 1,
        "misfire_grace_time": 12 * 3600,
    }


def test_next_runs_keep_local_time_across_the_dst_change(tmp_path):
    sched = scheduler.build_scheduler(config_with(**CHICAGO), db=tmp_path / "k.db", out=tmp_path)
    tz = ZoneInfo("America/Chicago")
    start = datetime(2026, 10, 30, 12, 0, tzinfo=tz)  # DST ends 2026-11-01
    runs = [when for _, when in scheduler.next_runs(sched, count=4, now=start)]
    assert [w.strftime("%m-%d %H:%M") for w in runs] == [
        "10-31 02:30",
        "11-01 02:30",
        "11-02 02:30",
        "11-03 02:30",
    ]
    assert [w.utcoffset().total_seconds() / 3600 for w in runs] == [-5, -6, -6, -6]


def test_a_night_in_the_spring_forward_gap_still_runs_once(tmp_path):
    sched = scheduler.build_scheduler(config_with(**CHICAGO), db=tmp_path / "k.db", out=tmp_path)
    start = datetime(2027, 3, 13, 12, 0, tzinfo=ZoneInfo("America/Chicago"))  # DST 2027-03-14
    runs = [when for _, when in scheduler.next_runs(sched, count=3, now=start)]
    # 02:30 does not exist on 03-14: that night runs an hour later, at 03:30 CDT.
    local = [w.astimezone(UTC).astimezone(ZoneInfo("America/Chicago")) for w in runs]
    assert [w.strftime("%m-%d %H:%M") for w in local] == [
        "03-14 03:30",
        "03-15 02:30",
        "03-16 02:30",
    ]
    assert [w.astimezone(UTC).strftime("%H:%M") for w in runs] == ["08:30", "07:30", "07:30"]


def test_jitter_spreads_the_start_over_the_configured_window(tmp_path):
    config = config_with(**{**CHICAGO, "jitter_seconds": 600})
    sched = scheduler.build_scheduler(config, db=tmp_path / "k.db", out=tmp_path)
    (job,) = sched.get_jobs()
    assert job.trigger.jitter == 600
    start = datetime(2026, 6, 1, 12, 0, tzinfo=ZoneInfo("America/Chicago"))
    runs = [when for _, when in scheduler.next_runs(sched, count=30, now=start)]
    offsets = [
        (w - w.replace(hour=2, minute=30, second=0, microsecond=0)).total_seconds() for w in runs
    ]
    assert all(0 <= s <= 600 for s in offsets)
    assert len(set(offsets)) > 1


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "not an IANA time zone"),
        ({"cron": "every night"}, "[schedule] cron"),
        ({"jitter_seconds": -1}, "[schedule] jitter_seconds"),
        ({"misfire_grace_hours": 0}, "must be > 0"),
        ({"crawl_timeout_minutes": "long"}, "[schedule] crawl_timeout_minutes"),
    ],
)
def test_bad_schedules_are_config_errors(tmp_path, schedule, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        scheduler.build_scheduler(config_with(**schedule), db=tmp_path / "k.db", out=tmp_path)


# -- the persistent job store -------------------------------------------------------------------


def _cron_at(moment: datetime) -> dict:
    """A daily UTC schedule firing at ``moment``'s time of day, with no jitter."""
    return {
        "cron": f"{moment.minute} {moment.hour} * * *",
        "timezone": "UTC",
        "jitter_seconds": 0,
        "misfire_grace_hours": 12,
    }


class Nights:
    """Stands in for the night: counts calls, and what APScheduler reported."""

    def __init__(self):
        self.calls = 0
        self.events = []
        self.done = threading.Event()

    def night(self, db, out, config_path):
        self.calls += 1
        return True

    def listen(self, event):
        self.events.append(event.code)
        self.done.set()


def _start_and_wait(sched, nights: Nights) -> None:
    sched.add_listener(nights.listen, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED)
    sched.start()
    try:
        assert nights.done.wait(10), "the scheduler did not process the due night"
        time.sleep(0.5)  # room for a wrong second run to show up
    finally:
        sched.shutdown(wait=True)


def _stored_next_run(url: str) -> datetime:
    store = SQLAlchemyJobStore(url=url)
    try:
        return store.get_next_run_time()
    finally:
        store.shutdown()


def _simulate_downtime(url: str, config: dict, tmp_path, since: datetime) -> None:
    """What a scheduler leaves in the store when it goes down just before ``since``'s run."""
    sched = scheduler.build_scheduler(config, db=tmp_path / "k.db", out=tmp_path)
    sched.modify_job("night", next_run_time=since, **sched._job_defaults)
    store = SQLAlchemyJobStore(url=url)
    store.start(sched, "default")
    store.add_job(sched.get_job("night"))
    store.shutdown()


@pytest.mark.parametrize(
    ("late_hours", "calls", "event"), [(2, 1, EVENT_JOB_EXECUTED), (13, 0, EVENT_JOB_MISSED)]
)
def test_after_three_days_down_the_missed_night_runs_once_or_not_at_all(
    tmp_path, monkeypatch, late_hours, calls, event
):
    """Down for three nights: the last missed night runs once when the scheduler is back
    within the grace time (12 h), and is skipped when it is later than that."""
    nights = Nights()
    monkeypatch.setattr(scheduler, "night_job", nights.night)
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    last_missed = now - timedelta(hours=late_hours)
    config = config_with(**_cron_at(last_missed))
    _simulate_downtime(url, config, tmp_path, since=last_missed - timedelta(days=3))

    back = scheduler.build_scheduler(
        config,
        db=tmp_path / "k.db",
        out=tmp_path,
        jobstore=url,
        scheduler_class=BackgroundScheduler,
    )
    assert scheduler.missed_run(back) == last_missed - timedelta(days=3)
    _start_and_wait(back, nights)
    assert nights.calls == calls
    assert nights.events == [event]
    assert _stored_next_run(url) == last_missed + timedelta(days=1)


def test_the_store_keeps_a_future_run_and_replaces_it_when_the_schedule_changes(tmp_path):
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    jittery = config_with(**{**CHICAGO, "jitter_seconds": 3600})
    first = scheduler.build_scheduler(
        jittery,
        db=tmp_path / "k.db",
        out=tmp_path,
        jobstore=url,
        scheduler_class=BackgroundScheduler,
    )
    first.start(paused=True)
    planned = first.get_job("night").next_run_time
    first.shutdown(wait=False)
    for _ in range(3):  # restarts keep the jittered time instead of drawing a new one
        again = scheduler.build_scheduler(
            jittery,
            db=tmp_path / "k.db",
            out=tmp_path,
            jobstore=url,
            scheduler_class=BackgroundScheduler,
        )
        assert again.get_jobs()[0].next_run_time == planned
        assert scheduler.upcoming(again) == [("night", planned)]
    moved = scheduler.build_scheduler(
        config_with(**{**CHICAGO, "cron": "0 4 * * *"}),
        db=tmp_path / "k.db",
        out=tmp_path,
        jobstore=url,
    )
    assert not hasattr(moved.get_jobs()[0], "next_run_time")  # computed afresh at start
    assert scheduler.next_runs(moved)[0][1].strftime("%H:%M") == "04:00"


def test_an_unreadable_stored_job_is_replaced(tmp_path, caplog):
    import sqlite3

    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    _simulate_downtime(url, config_with(), tmp_path, since=datetime.now(UTC))
    with sqlite3.connect(tmp_path / "jobs.sqlite") as conn:
        conn.execute("UPDATE apscheduler_jobs SET job_state = x'00'")
    sched = scheduler.build_scheduler(
        config_with(), db=tmp_path / "k.db", out=tmp_path, jobstore=url
    )
    assert [j.id for j in sched.get_jobs()] == ["night"]
    assert "stored job unreadable" in caplog.text


def test_print_jobs_names_the_missed_night_and_the_next(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    toml = tmp_path / "k.toml"
    toml.write_text(
        f'[schedule]\ncron = "{now.minute} {now.hour} * * *"\ntimezone = "UTC"\n'
        "jitter_seconds = 0\n"
    )
    config = load_config(toml)
    _simulate_downtime(url, config, tmp_path, since=now - timedelta(days=1))
    args = [
        "--config",
        str(toml),
        "--db",
        str(tmp_path / "k.db"),
        "--jobstore",
        url,
        "--log-file",
        "none",
        "--print-jobs",
    ]
    assert scheduler.main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"night: missed run {(now - timedelta(days=1)).isoformat()} runs once at start"
    assert out[1].startswith("night: next run ")


# -- locks, logs, exit codes --------------------------------------------------------------------


def _hold_lock(path, ready, release, holder="scheduled night"):
    with night_lock(path, holder=holder):
        ready.set()
        release.wait(20)


@pytest.fixture
def other_process_holds():
    """other_process_holds(path): a second process holds the night lock on ``path``."""
    ctx = multiprocessing.get_context("spawn")
    started = []

    def hold(path: Path):
        ready, release = ctx.Event(), ctx.Event()
        other = ctx.Process(target=_hold_lock, args=(path, ready, release))
        other.start()
        started.append((other, release))
        assert ready.wait(20)

    yield hold
    for other, release in started:
        release.set()
        other.join(10)


def test_the_night_lock_holds_against_another_process(tmp_path, other_process_holds):
    lock = tmp_path / "k.lock"
    other_process_holds(lock)
    with (
        pytest.raises(scheduler.NightAlreadyRunningError, match="another night is running") as err,
        night_lock(lock),
    ):
        pass
    assert "scheduled night" in str(err.value)
    assert "pid " in str(err.value)


def test_the_lock_is_free_again_after_its_holder_ends(tmp_path):
    lock = tmp_path / "k.lock"
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    other = ctx.Process(target=_hold_lock, args=(lock, ready, release))
    other.start()
    assert ready.wait(20)
    other.kill()  # even a killed holder releases it
    other.join(10)
    with night_lock(lock):
        assert "pid" in lock.read_text()


def test_a_manual_nightly_during_a_scheduled_night_exits_with_a_clear_message(
    tmp_path, other_process_holds
):
    db = tmp_path / "k.db"
    other_process_holds(lock_path(db))
    result = CliRunner().invoke(
        cli,
        ["nightly", "--db", str(db), "--out", str(tmp_path / "r"), "--source", "beforward"],
        obj={},
    )
    assert result.exit_code == 1
    assert "another night is running (pid " in result.output
    assert "scheduled night" in result.output
    assert not db.exists()  # nothing was crawled


def test_a_manual_crawl_during_a_night_exits_with_a_clear_message(tmp_path, other_process_holds):
    """`keitrucks crawl` took no lock: beside a night it crawled the night's sources again, and
    each crawl then took the listings the other saw last for gone."""
    db = tmp_path / "k.db"
    other_process_holds(lock_path(db))
    result = CliRunner().invoke(cli, ["crawl", "--db", str(db), "--source", "beforward"], obj={})
    assert result.exit_code == 1, result.output
    assert "Error: another night is running (pid " in result.output
    assert "scheduled night" in result.output
    assert not db.exists()  # nothing was crawled


def test_a_manual_nightly_holds_the_night_lock_while_it_runs(tmp_path, monkeypatch):
    import keitrucks.night

    db = tmp_path / "k.db"
    seen = []

    def fake_night(*args, **kwargs):
        with pytest.raises(scheduler.NightAlreadyRunningError) as err, night_lock(lock_path(db)):
            pass
        seen.append(str(err.value))
        return keitrucks.night.NightResult(as_of=None)

    monkeypatch.setattr(keitrucks.night, "run_night", fake_night)
    result = CliRunner().invoke(cli, ["nightly", "--db", str(db)], obj={})
    assert result.exit_code == 0, result.output
    assert len(seen) == 1
    assert "keitrucks nightly" in seen[0]


def test_once_and_the_scheduled_job_step_aside_for_a_running_night(
    tmp_path, other_process_holds, capsys, caplog
):
    db = tmp_path / "k.db"
    other_process_holds(lock_path(db))
    # a night that could not run fails (1), as `keitrucks nightly` does; 3 is a bad config
    assert scheduler.main(["--once", "--db", str(db), "--log-file", "none"]) == 1
    assert "another night is running" in capsys.readouterr().err
    assert scheduler.night_job(str(db), str(tmp_path / "r"), None) is False
    assert "scheduled night skipped: another night is running" in caplog.text
    assert not db.exists()


def test_a_second_scheduler_exits_with_a_clear_message(tmp_path, capsys):
    db = tmp_path / "k.db"
    args = [
        "--db",
        str(db),
        "--jobstore",
        f"sqlite:///{tmp_path / 'jobs.sqlite'}",
        "--log-file",
        str(tmp_path / "first.log"),
    ]
    first = subprocess.Popen(
        [sys.executable, "scheduler.py", *args],
        cwd=TESTS_DIR.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while "scheduler started" not in _read(tmp_path / "first.log"):
            assert first.poll() is None, "the first scheduler exited"
            assert time.monotonic() < deadline, "the first scheduler did not start"
            time.sleep(0.1)
        second = [*args[:-1], str(tmp_path / "second.log")]
        assert scheduler.main(second) == 1
        err = capsys.readouterr().err
        assert "another scheduler is running (pid " in err
        assert "scheduler.py" in err
    finally:
        first.terminate()
        code = first.wait(10)
    assert code == 0  # SIGTERM stops the scheduler cleanly
    assert "scheduler stopping" in _read(tmp_path / "first.log")


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def test_logs_go_to_a_rotating_file_and_the_console(tmp_path, capsys):
    log = tmp_path / "logs" / "scheduler.log"
    with scheduler.logging_to(log):
        scheduler.logger.info("hello from the night")
    assert "INFO keitrucks.scheduler: hello from the night" in log.read_text()
    assert "hello from the night" in capsys.readouterr().err
    import logging

    assert not any(
        getattr(h, "baseFilename", None) == str(log) for h in logging.getLogger().handlers
    )


def test_under_keitrucks_schedule_each_line_reaches_the_console_once(capsys):
    """`keitrucks schedule --once` printed every line twice: the CLI's console handler and the
    scheduler's, one with the time and one without."""
    import logging

    root = logging.getLogger()
    cli_console = logging.StreamHandler(sys.stderr)  # what the keitrucks group sets up
    cli_console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(cli_console)
    try:
        with scheduler.logging_to(None):
            scheduler.logger.info("crawl beforward: ok: 32 listings")
        assert cli_console in root.handlers  # given back
    finally:
        root.removeHandler(cli_console)
    assert capsys.readouterr().err.count("crawl beforward: ok: 32 listings") == 1


@pytest.mark.parametrize(
    "toml",
    ["[schedule]\ntimezone = 'Nowhere/Land'\n", "[health]\ndead_after = 0\n"],
    ids=["schedule", "health"],
)
def test_main_rejects_a_bad_config_in_one_line(tmp_path, capsys, toml):
    bad = tmp_path / "bad.toml"
    bad.write_text(toml)
    args = [
        "--config",
        str(bad),
        "--print-jobs",
        "--log-file",
        "none",
        "--db",
        str(tmp_path / "k.db"),
    ]
    assert scheduler.main(args) == 3  # a bad configuration, as every keitrucks command says
    err = capsys.readouterr().err
    assert err.startswith("Error: ")
    assert err.count("\n") == 1


# -- keitrucks schedule ---------------------------------------------------------------------------


def test_print_jobs_creates_nothing_and_prints_the_same_line_each_time(tmp_path):
    toml = tmp_path / "k.toml"
    toml.write_text('[schedule]\ncron = "30 2 * * *"\ntimezone = "America/Chicago"\n')
    db = tmp_path / "data" / "k.db"
    runner = CliRunner()
    args = ["--config", str(toml), "schedule", "--print-jobs", "--db", str(db)]
    first = runner.invoke(cli, args, obj={})
    second = runner.invoke(cli, args, obj={})
    assert first.exit_code == 0, first.output
    assert first.output == second.output
    assert first.output.startswith("night: next run ")
    assert "T02:30:00-06:00 (starts up to 600 s later, at random)" in first.output
    assert not (tmp_path / "data").exists()


def test_schedule_help_is_a_keitrucks_command():
    result = CliRunner().invoke(cli, ["schedule", "--help"], obj={})
    assert result.exit_code == 0
    assert "--print-jobs" in result.output
    assert "creates and writes nothing" in result.output


@pytest.mark.parametrize(
    "option", [["--as-of", "2026-11-27"], ["--base-url", "http://127.0.0.1:1"]]
)
def test_a_night_s_own_options_need_once(tmp_path, option):
    """`keitrucks schedule --as-of DATE` started the scheduler, which crawled every night on its
    own date: the date was ignored without a word."""
    db = tmp_path / "k.db"
    result = CliRunner().invoke(cli, ["schedule", "--print-jobs", "--db", str(db), *option], obj={})
    assert result.exit_code == 2, result.output
    assert f"Error: {option[0]} only go with --once" in result.output
