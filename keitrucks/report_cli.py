"""The ``report`` and ``serve`` commands, as standalone click commands that ``keitrucks.cli``
registers. Each command's docstring is its help; user errors become one line (``common_cli``).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import click

from analysis.load import DatabaseMissing, as_of_date
from keitrucks.common_cli import (
    EXIT_USAGE,
    CliError,
    as_of_option,
    cli_error,
    config_of,
    config_option,
    db_option,
    out_option,
)


@click.command()
@db_option()
@out_option()
@config_option()
@as_of_option()
@click.pass_context
def report(ctx: click.Context, db: str, out: str, as_of: str | None) -> None:
    """Write the night's price report (HTML, CSV, charts).

    Trends, band summary, deals, sold trucks, import eligibility and road rules, as of today
    (UTC) unless --as-of says otherwise. Files go to OUT/<date>/ (CSV, PNG and a
    self-contained report.html). Any past date can be regenerated: only what was known by the
    end of that date is used. Sources that failed or were blocked on the last night, or no
    crawl since, are said at the top of the page and here on stderr.

    \b
    Example:
      keitrucks report --db data/demo.db --as-of 2026-11-24
    """
    from analysis.report import REPORT_STEPS, change_count, write_report
    from keitrucks.night import store_deal_scores
    from keitrucks.progress import progress_bar, wants_progress
    from pipelines.schema import StorageError

    today = dt.datetime.now(dt.UTC).date()
    day = as_of_date(as_of) if as_of else today
    config = config_of(ctx)
    try:
        with progress_bar(wants_progress(), len(REPORT_STEPS), "report") as update:
            result = write_report(Path(db), Path(out), as_of=day, config=config, step=update)
    except (DatabaseMissing, OSError) as exc:
        raise cli_error(exc) from None
    try:  # for Datasette's underpriced question; the report itself is written either way
        store_deal_scores(Path(db), result)
    except (StorageError, sqlite3.Error) as exc:
        click.echo(f"Warning: deal scores not stored in the database: {exc}", err=True)
    if day > today:
        click.echo(
            f"Warning: --as-of {day} is in the future (today is {today}): nothing is known "
            "after the last crawl, so the report shows the market as it was then.",
            err=True,
        )
    for line in result.warnings:
        click.echo(f"Warning: {line}", err=True)
    h = result.headline
    click.echo(
        f"Report {day.isoformat()}: {h['trucks_for_sale']} trucks for sale, "
        f"{h['deals_15pct']} deals 15%+ under, {h['new']} new, "
        f"{change_count('price_drop', h['price_drops'])}"
    )
    click.echo(f"  {result.folder / 'report.html'}")


@click.command()
@db_option()
@click.option(
    "--port",
    default=8001,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port on 127.0.0.1.",
)
@config_option()
@click.pass_context
def serve(ctx: click.Context, db: str, port: int) -> None:
    """Browse the database in Datasette (read-only, local).

    Serves http://127.0.0.1:PORT/, with descriptions of every table and column and canned
    queries: underpriced 4WD trucks (the night's deal scores), becoming eligible soon, price
    drops this week, median price by model and year, and a truck's full price history (every
    listing links to it);
    active_trucks_map shows the trucks on a map, and /-/appraise appraises a listing pasted from
    anywhere. Stop with Ctrl-C.

    \b
    Example:
      keitrucks serve --db data/demo.db --port 8002
    """
    from analysis.serve import HOST, check_database, port_in_use
    from analysis.serve import serve as run

    try:
        check_database(Path(db))
    except DatabaseMissing as exc:
        raise cli_error(exc) from None
    if port_in_use(port):
        raise CliError(
            f"port {port} on {HOST} is already in use: pick another with --port", EXIT_USAGE
        )
    click.echo(f"Datasette on http://{HOST}:{port}/ (read-only). Ctrl-C to stop.")
    try:
        run(Path(db), port=port, config=config_of(ctx))
    except OSError as exc:
        raise CliError(f"cannot serve on {HOST}:{port}: {exc}", EXIT_USAGE) from None
