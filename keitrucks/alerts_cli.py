"""``keitrucks alerts``: raise the night's alerts from the database and deliver them.

A standalone click command (the ``keitrucks`` group registers it); the work is
``analysis.alerts.run_alerts``. User errors (no database, bad date, bad configuration, a digest
folder it cannot write) become one line with their exit code (``keitrucks.common_cli``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from analysis.alerts import AlertsConfigError, run_alerts
from analysis.load import DatabaseMissing, as_of_date
from keitrucks.common_cli import as_of_option, cli_error, config_of, config_option, db_option
from pipelines.schema import StorageError


@click.command(name="alerts")
@db_option(path_type=Path)
@click.option(
    "--dry-run", is_flag=True, help="Show what would be raised; send, record and write nothing."
)
@as_of_option()
@config_option()
@click.option(
    "--digest-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the night's digest (alerts-DATE.md) goes. Default: reports/alerts beside the "
    "database.",
)
@click.pass_context
def alerts(
    ctx: click.Context,
    db: Path,
    dry_run: bool,
    as_of: str | None,
    digest_dir: Path | None,
) -> None:
    """Raise the night's alerts and send them.

    Alerts go to your notification channels, as of today (UTC) unless --as-of says otherwise.
    Rules: underpriced 4WD trucks (against their comparables, or under the band floor), price
    drops, new matches and trucks turning 25 on watched searches ([[alerts.watch]]), and
    unhealthy sources. Each truck is announced once per rule, again only after a further price
    drop; a daily cap holds the rest for the next night.

    Channels are Apprise URLs from [notify] urls and $KEITRUCKS_NOTIFY_URLS (comma or space
    separated; keep secrets in the environment). [notify] mode is "digest" (one message per
    channel per night) or "immediate". Failed sends are retried on the next run. Alerts are
    also printed here and written to a dated Markdown digest.

    \b
    Example:
      keitrucks alerts --db data/demo.db --as-of 2026-11-24 --dry-run
    """
    config = config_of(ctx)
    day = as_of_date(as_of) if as_of else dt.datetime.now(dt.UTC).date()
    if not dry_run and digest_dir is None:
        digest_dir = db.parent / "reports" / "alerts"
    try:
        run = run_alerts(
            db,
            as_of=day,
            config=config,
            dry_run=dry_run,
            digest_dir=None if dry_run else digest_dir,
            echo=click.echo,
        )
    except (DatabaseMissing, StorageError, AlertsConfigError, OSError) as exc:
        raise cli_error(exc) from None
    if run.failed:
        raise click.ClickException(
            f"{run.failed} delivery(ies) failed; they are recorded and will be retried next run"
        )
