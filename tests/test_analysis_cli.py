"""The ``report`` and ``serve`` commands: help, user errors, and a report run."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner
from test_analysis_helpers import build_market

from keitrucks import report_cli as cli
from tests.conftest import rows


@pytest.mark.parametrize(
    ("command", "words"),
    [
        (cli.report, ["--db", "--out", "--as-of", "dated folder"]),
        (cli.serve, ["--db", "--port", "127.0.0.1"]),
    ],
)
def test_every_command_has_help(command, words):
    result = CliRunner().invoke(command, ["--help"])
    assert result.exit_code == 0
    assert all(w in result.output for w in words)


def test_report_writes_the_dated_folder(tmp_path):
    db = tmp_path / "m.db"
    build_market(db)
    result = CliRunner().invoke(
        cli.report, ["--db", str(db), "--out", str(tmp_path / "out"), "--as-of", "2026-11-10"]
    )
    assert result.exit_code == 0, result.output
    # the last night of the market: its for-sale count is the for_sale view's
    for_sale = len(rows(db, "SELECT * FROM for_sale"))
    assert for_sale == 5
    assert f"Report 2026-11-10: {for_sale} trucks for sale" in result.output
    assert (tmp_path / "out" / "2026-11-10" / "report.html").is_file()
    # the night of Nov 9 (A: 8000 -> 7500) is the last with a crawl of Craigslist
    nine = CliRunner().invoke(
        cli.report, ["--db", str(db), "--out", str(tmp_path / "out"), "--as-of", "2026-11-09"]
    )
    assert nine.exit_code == 0, nine.output
    assert nine.output.splitlines()[0].endswith(", 1 price drop")  # not "1 price drops"
    # the report's deal scores are in the database, for Datasette's underpriced question
    conn = sqlite3.connect(db)
    stored = conn.execute("SELECT DISTINCT as_of FROM deal_scores").fetchall()
    conn.close()
    assert stored == [("2026-11-10",)]


@pytest.mark.parametrize("command", [cli.report, cli.serve])
def test_a_missing_database_is_a_one_line_error(tmp_path, command):
    result = CliRunner().invoke(command, ["--db", str(tmp_path / "nope.db")])
    assert result.exit_code == 4  # a database problem (README, "Exit codes")
    assert "no database at" in result.output
    assert "Traceback" not in result.output


def test_a_bad_date_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli.report, ["--db", str(tmp_path / "x.db"), "--as-of", "soon"])
    assert result.exit_code == 2
    assert "'soon' is not a date" in result.output


def test_serve_runs_datasette_on_the_port(tmp_path, monkeypatch):
    db = tmp_path / "m.db"
    build_market(db, until="2026-11-02")
    calls = []
    monkeypatch.setattr(
        "analysis.serve.serve", lambda path, port, config=None: calls.append((path, port))
    )
    # whether 8123 is free here is not this test's business (a busy port: test_cli_errors)
    monkeypatch.setattr("analysis.serve.port_in_use", lambda port, host="127.0.0.1": False)
    result = CliRunner().invoke(cli.serve, ["--db", str(db), "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert calls == [(db, 8123)]
    assert "http://127.0.0.1:8123/" in result.output
