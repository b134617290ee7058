"""``keitrucks alerts``: raise the night's alerts from the database and deliver them.

A standalone click command (the ``keitrucks`` group registers it); the work is
``analysis.alerts.run_alerts``. User errors (no database, bad date, bad configuration) become
one-line ``ClickException`` messages.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from analysis.alerts import AlertsConfigError, run_alerts
from analysis.load import DatabaseMissing, as_of_date
from keitrucks.core.config import ConfigError, load_config
from keitrucks.core.paths import DEFAULT_DB
from pipelines.storage import StorageError


@click.command(name="alerts")
@click.option(
    "--db",
    "db_path",
    default=DEFAULT_DB,
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The database the crawls write.",
)
@click.option(
    "--dry-run", is_flag=True, help="Show what would be raised; send, record and write nothing."
)
@click.option(
    "--as-of",
    "as_of",
    metavar="DATE",
    help="The night to alert on (YYYY-MM-DD). Default: today (UTC).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML configuration ([alerts], [notify], [band]). Default: $KEITRUCKS_CONFIG or the "
    "parent command's --config, else built-in defaults.",
)
@click.option(
    "--digest-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the night's digest (alerts-DATE.md) goes. Default: reports/alerts beside the "
    "database.",
)
@click.pass_context
def alerts(
    ctx: click.Context,
    db_path: Path,
    dry_run: bool,
    as_of: str | None,
    config_path: Path | None,
    digest_dir: Path | None,
) -> None:
    """Raise the night's alerts and send them to your notification channels.

    Rules: underpriced 4WD trucks (against their comparables, or under the band floor), price
    drops, new matches and trucks turning 25 on watched searches ([[alerts.watch]]), and
    unhealthy sources. Each truck is announced once per rule, again only after a further price
    drop; a daily cap holds the rest for the next night.

    Channels are Apprise URLs from [notify] urls and $KEITRUCKS_NOTIFY_URLS (comma or space
    separated; keep secrets in the environment). [notify] mode is "digest" (one message per
    channel per night) or "immediate". Failed sends are retried on the next run. Alerts are
    also printed here and written to a dated Markdown digest.
    """
    parent = (ctx.obj or {}).get("config_path") if ctx.obj is not None else None
    try:
        config = load_config(config_path or parent)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        day = as_of_date(as_of) if as_of else dt.datetime.now(dt.UTC).date()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--as-of") from None
    if not dry_run and digest_dir is None:
        digest_dir = db_path.parent / "reports" / "alerts"
    try:
        run = run_alerts(
            db_path,
            as_of=day,
            config=config,
            dry_run=dry_run,
            digest_dir=None if dry_run else digest_dir,
            echo=click.echo,
        )
    except (DatabaseMissing, StorageError, AlertsConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    if run.failed:
        raise click.ClickException(
            f"{run.failed} delivery(ies) failed; they are recorded and will be retried next run"
        )
