"""``keitrucks health``: the probe also fails when nothing has run for nights (a stopped cron),
not only when a run went wrong."""

from __future__ import annotations

import datetime as dt
import os
import re
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from test_health import COVERAGE, _db_with_runs

from keitrucks.cli import cli
from keitrucks.health_cli import silent_for

TODAY = dt.date(2026, 12, 5)


def state(night: str | None):
    return SimpleNamespace(latest=None if night is None else SimpleNamespace(night=night))


@pytest.mark.parametrize(
    ("nights", "said"),
    [
        (["2026-12-04", "2026-12-05"], None),
        (["2026-12-02"], None),  # three nights: dead_after's grace
        (["2026-12-01", "2026-11-20"], "no source has run since 2026-12-01 (4 days ago)"),
        (["2026-11-26", None], "no source has run since 2026-11-26 (9 days ago)"),
        ([None, None], None),  # never run: the table says so already
    ],
)
def test_nights_without_any_run_are_said(nights, said):
    found = silent_for([state(n) for n in nights], TODAY, dead_after=3)
    if said is None:
        assert found is None
    else:
        assert found.startswith(said)
        assert found.endswith("(cron, systemd or `keitrucks schedule`) still running?")


def invoke(*args):
    environ = {k: None for k in os.environ if k.startswith("KEITRUCKS_")}
    return CliRunner().invoke(cli, list(args), obj={}, env=environ, catch_exceptions=False)


@pytest.mark.parametrize(("days_ago", "code"), [(1, 0), (12, 1)])
def test_the_probe_fails_when_the_nights_stopped(tmp_path, days_ago, code):
    """A database whose last night was ok 12 days ago passed `health --check` for ever."""
    night = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days_ago)).isoformat()
    _db_with_runs(tmp_path / "k.db", [(night, 40, COVERAGE, "finished")]).close()
    args = ["health", "--db", str(tmp_path / "k.db"), "--check"]
    config = tmp_path / "only-beforward.toml"
    config.write_text(
        "".join(
            f"[sources.{name}]\nenabled = false\n"
            for name in ("craigslist", "bringatrailer", "ebay", "sbtjapan", "carfromjapan", "tcv")
        )
    )
    result = invoke("--config", str(config), *args)
    assert result.exit_code == code, result.output
    if code:  # the days counted when the command ran (midnight may have passed since)
        assert re.fullmatch(
            rf"Error: no source has run since {night} \(1[23] days ago\): is the nightly job "
            r"\(cron, systemd or `keitrucks schedule`\) still running\?\n",
            result.stderr,
        ), result.stderr
