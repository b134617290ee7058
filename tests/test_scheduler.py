"""The scheduler is built and inspected, never started."""

from __future__ import annotations

import multiprocessing
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

import scheduler
from keitrucks.config import ConfigError, load_config


def config_with(**schedule):
    config = load_config(None)
    config["schedule"] = {**config["schedule"], **schedule}
    return config


def test_one_nightly_job_with_safe_defaults(tmp_path):
    sched = scheduler.build_scheduler(
        config_with(cron="30 2 * * *", timezone="America/Chicago", jitter_seconds=0),
        db=tmp_path / "k.db",
        out=tmp_path,
    )
    (job,) = sched.get_jobs()
    assert job.id == "night"
    assert str(job.trigger.timezone) == "America/Chicago"
    assert scheduler.JOB_DEFAULTS == {"coalesce": True, "max_instances": 1,
                                      "misfire_grace_time": 6 * 3600}  # fmt: skip


def test_next_runs_keep_local_time_across_the_dst_change(tmp_path):
    sched = scheduler.build_scheduler(
        config_with(cron="30 2 * * *", timezone="America/Chicago", jitter_seconds=0),
        db=tmp_path / "k.db",
        out=tmp_path,
    )
    tz = ZoneInfo("America/Chicago")
    start = datetime(2026, 10, 30, 12, 0, tzinfo=tz)  # DST ends 2026-11-01
    runs = [when for _, when in scheduler.next_runs(sched, count=4, now=start)]
    assert [w.strftime("%m-%d %H:%M") for w in runs] == [
        "10-31 02:30", "11-01 02:30", "11-02 02:30", "11-03 02:30",
    ]  # fmt: skip
    assert [w.utcoffset().total_seconds() / 3600 for w in runs] == [-5, -6, -6, -6]


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "not an IANA time zone"),
        ({"cron": "every night"}, "[schedule] cron"),
    ],
)
def test_bad_schedules_are_config_errors(tmp_path, schedule, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        scheduler.build_scheduler(config_with(**schedule), db=tmp_path / "k.db", out=tmp_path)


def _hold_lock(path, ready, release):
    with scheduler.night_lock(path):
        ready.set()
        release.wait(10)


def test_the_night_lock_holds_against_another_process(tmp_path):
    lock = tmp_path / "k.lock"
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    other = ctx.Process(target=_hold_lock, args=(lock, ready, release))
    other.start()
    try:
        assert ready.wait(20)
        with (
            pytest.raises(scheduler.NightAlreadyRunningError, match="another night is running"),
            scheduler.night_lock(lock),
        ):
            pass
    finally:
        release.set()
        other.join(10)
    with scheduler.night_lock(lock):
        pass


def test_main_rejects_a_bad_config_in_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[schedule]\ntimezone = 'Nowhere/Land'\n")
    assert scheduler.main(["--config", str(bad), "--print-jobs"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("\n") == 1
