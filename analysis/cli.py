"""The ``report`` and ``serve`` commands, as standalone click commands that ``keitrucks.cli``
registers. Each command's docstring is its help; user errors become ``click.ClickException``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from analysis.load import DatabaseMissing, as_of_date
from keitrucks.core.paths import DEFAULT_DB, DEFAULT_REPORTS


def db_option(*names: str, help_text: str = "The tracker's SQLite database.", path_type=None):
    """The ``--db`` option of the analysis commands (default ``DEFAULT_DB``)."""
    return click.option(
        "--db",
        *names,
        default=DEFAULT_DB,
        show_default=True,
        type=click.Path(dir_okay=False, path_type=path_type),
        help=help_text,
    )


def _config(ctx: click.Context) -> dict | None:
    """The configuration of the parent ``keitrucks`` group, when there is one."""
    obj = ctx.find_root().obj
    path = obj.get("config_path") if isinstance(obj, dict) else None
    from keitrucks.core.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _as_of(value: str | None) -> dt.date:
    if value is None:
        return dt.datetime.now(dt.UTC).date()
    try:
        return as_of_date(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint="--as-of"
        ) from None


@click.command()
@db_option()
@click.option(
    "--out",
    default=DEFAULT_REPORTS,
    show_default=True,
    type=click.Path(file_okay=False),
    help="Reports folder; the report goes into a dated folder inside it.",
)
@click.option(
    "--as-of",
    "as_of",
    metavar="DATE",
    help="Report as of this date (YYYY-MM-DD), from the history. Default: today (UTC).",
)
@click.pass_context
def report(ctx: click.Context, db: str, out: str, as_of: str | None) -> None:
    """Write the price report: trends, band summary, deals, sold, eligibility, charts, HTML.

    Files go to OUT/<date>/ (CSV, PNG and a self-contained report.html). Any past date can be
    regenerated: only history observed by the end of that date is used.
    """
    from analysis.report import write_report

    day = _as_of(as_of)
    try:
        result = write_report(Path(db), Path(out), as_of=day, config=_config(ctx))
    except DatabaseMissing as exc:
        raise click.ClickException(str(exc)) from None
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
    from analysis.serve import HOST
    from analysis.serve import serve as run

    if not Path(db).is_file():
        raise click.ClickException(f"no database at {db}: run a crawl (or `keitrucks demo`) first")
    click.echo(f"Datasette on http://{HOST}:{port}/ (read-only). Ctrl-C to stop.")
    try:
        run(Path(db), port=port)
    except OSError as exc:
        raise click.ClickException(f"cannot serve on {HOST}:{port}: {exc}") from None
