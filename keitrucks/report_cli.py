"""The ``report`` and ``serve`` commands, as standalone click commands that ``keitrucks.cli``
registers. Each command's docstring is its help; user errors become one line (``common_cli``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from analysis.load import DatabaseMissing, as_of_date
from keitrucks.common_cli import EXIT_USAGE, CliError, as_of_option, cli_error, config_of, db_option
from keitrucks.core.paths import DEFAULT_REPORTS


@click.command()
@db_option()
@click.option(
    "--out",
    default=DEFAULT_REPORTS,
    show_default=True,
    type=click.Path(file_okay=False),
    help="Reports folder; the report goes into a dated folder inside it.",
)
@as_of_option("Report as of this date, from the history. Default: today (UTC).")
@click.pass_context
def report(ctx: click.Context, db: str, out: str, as_of: str | None) -> None:
    """Write the price report: trends, band summary, deals, sold, eligibility, charts, HTML.

    Files go to OUT/<date>/ (CSV, PNG and a self-contained report.html). Any past date can be
    regenerated: only what was known by the end of that date is used. Sources that failed or
    were blocked on the last night, or no crawl since, are said at the top of the page and
    here on stderr.
    """
    from analysis.report import write_report

    today = dt.datetime.now(dt.UTC).date()
    day = as_of_date(as_of) if as_of else today
    config = config_of(ctx)
    try:
        result = write_report(Path(db), Path(out), as_of=day, config=config)
    except (DatabaseMissing, OSError) as exc:
        raise cli_error(exc) from None
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
        f"{h['deals_15pct']} deals 15%+ under, {h['new']} new, {h['price_drops']} price drops"
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
def serve(db: str, port: int) -> None:
    """Browse the database in Datasette, read-only, on http://127.0.0.1:PORT/.

    Comes with descriptions of every table and column and canned queries: underpriced 4WD
    trucks, becoming eligible soon, price drops this week, median price by model and year,
    and a truck's full price history. Stop with Ctrl-C.
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
        run(Path(db), port=port)
    except OSError as exc:
        raise CliError(f"cannot serve on {HOST}:{port}: {exc}", EXIT_USAGE) from None
