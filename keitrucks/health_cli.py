"""``keitrucks health``, ``keitrucks deploy``: standalone click commands the CLI registers.

``health`` prints each source's state and its last runs as the health check judges them
(``keitrucks.health``); ``--check`` makes it a monitoring probe that exits 1 when a source is not
ok. ``deploy`` packages the project and uploads it to a Scrapyd server (``keitrucks.scrapyd``).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import click

from keitrucks.common_cli import (
    EXIT_DATABASE,
    CliError,
    check_tracker_database,
    cli_error,
    config_of,
    config_option,
    db_option,
)
from keitrucks.core.config import ConfigError, enabled_sources

#: One letter per run in the "recent" column, oldest first.
STATUS_MARKS = {"ok": ".", "unhealthy": "U", "failed": "F", "blocked": "B"}


def _pct(coverage: dict, name: str) -> str:
    return f"{coverage[name]:.0%}" if name in coverage else "-"


def health_rows(states, fields: tuple[str, ...]) -> list[list[str]]:
    """The table's rows: one per source, its latest run and its recent runs as marks."""
    rows = []
    for item in states:
        latest = item.latest
        if latest is None:
            rows.append([item.source, item.state, "-", "-", "-", "-", *["-"] * len(fields), "", ""])
            continue
        marks = "".join(STATUS_MARKS.get(r.status, "?") for r in item.recent)
        median = f"{latest.median_items:g}" if latest.median_items is not None else "-"
        rows.append(
            [
                item.source,
                item.state,
                latest.night,
                latest.status,
                str(latest.items),
                median,
                *[_pct(latest.coverage, f) for f in fields],
                marks,
                "; ".join(latest.reasons),
            ]
        )
    return rows


def problem_lines(states) -> list[str]:
    """Under the table, for each source whose last run was not ok: since when, and what to do."""
    lines = []
    for item in states:
        latest = item.latest
        if latest is None or latest.ok:
            continue
        lines.append(f"{item.source}: {latest.line}")
        if latest.advice:
            lines.append(f"  what to do: {latest.advice}")
    return lines


#: What SQLite says when it may not write a file or its folder (WAL needs its -shm beside it).
READ_ONLY_WORDS = ("readonly", "read-only", "unable to open")


def database_error(db: str, exc: sqlite3.Error, record: bool) -> CliError:
    """The one line of a database ``health`` could not read (or, with ``record``, write)."""
    if not any(words in str(exc) for words in READ_ONLY_WORDS):
        return CliError(f"{db} is not a tracker database ({exc})", EXIT_DATABASE)
    if record:
        why = "--record writes the verdicts; without it health only reads"
    else:
        why = f"SQLite writes {Path(db).name}-shm beside it even to read"
    return CliError(
        f"cannot open {db}: {exc} (read-only file or folder for this user? {why})", EXIT_DATABASE
    )


def format_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    return "\n".join(lines)


@click.command()
@db_option()
@config_option()
@click.option("--record", is_flag=True, help="Also record the verdicts in source_health.")
@click.option("--check", is_flag=True, help="Exit 1 when any source is not ok (for monitoring).")
@click.pass_context
def health(ctx: click.Context, db: str, record: bool, check: bool) -> None:
    """Each source's health and its last runs.

    A run is ok, unhealthy (too few listings against the recent median, or field coverage of
    price, year, model or 4WD fell), failed (did not finish, or part of the search failed) or
    blocked. A source with no healthy run for [health] dead_after nights in a row is dead.
    The "recent" column shows the last runs, oldest first: . ok, U unhealthy, F failed,
    B blocked.

    \b
    Example (a monitoring probe: exit 1 when a source is not ok):
      keitrucks health --check
    """
    from keitrucks.core.dates import now_iso
    from keitrucks.health import HealthRules, check_health

    config = config_of(ctx)
    try:
        rules = HealthRules.from_config(config)
    except ConfigError as exc:
        raise cli_error(exc) from None
    check_tracker_database(db, must_exist=True)
    try:
        states = check_health(
            db, enabled_sources(config), rules=rules, checked_at=now_iso(), record=record
        )
    except sqlite3.DatabaseError as exc:
        raise database_error(db, exc, record) from None
    fields = rules.coverage_fields
    labels = {"price_usd": "price", "is_4wd": "4wd"}
    header = [
        "source",
        "state",
        "last night",
        "status",
        "items",
        "median",
        *[labels.get(f, f) for f in fields],
        "recent",
        "reason",
    ]
    click.echo(format_table(header, health_rows(states, fields)))
    quiet = silent_for(states, dt.datetime.now(dt.UTC).date(), rules.dead_after)
    if quiet and not check:
        click.echo(f"Warning: {quiet}", err=True)
    problems = problem_lines(states)
    if problems:
        click.echo("\n" + "\n".join(problems))
    if check and not all(s.ok for s in states):
        bad = [s.source for s in states if not s.ok]
        raise click.ClickException(f"not healthy: {', '.join(bad)}")
    if check and quiet:
        raise click.ClickException(quiet)


def silent_for(states, today: dt.date, dead_after: int) -> str | None:
    """What to say when no source has run for more than ``dead_after`` nights: every source's
    last run was ok, but nothing runs any more (a stopped cron or scheduler), which the probe
    reported as healthy for ever. None while runs come in."""
    nights = [s.latest.night for s in states if s.latest is not None and s.latest.night]
    if not nights:
        return None
    last = dt.date.fromisoformat(max(nights))
    days = (today - last).days
    if days <= dead_after:
        return None
    return (
        f"no source has run since {last} ({days} days ago): is the nightly job "
        "(cron, systemd or `keitrucks schedule`) still running?"
    )


@click.command()
@click.argument("url", required=False)
@click.option(
    "--project", default="keitrucks", show_default=True, help="Project name on the server."
)
@click.option("--version", "version", help="Version label. Default: the current Unix time.")
@config_option()
@click.pass_context
def deploy(ctx, url: str | None, project: str, version: str | None) -> None:
    """Upload the project to Scrapyd servers.

    Packages the project as an egg and uploads it to the Scrapyd server at URL. Without URL:
    to every server of [scrapyd] in the configuration, else to the [deploy] url of scrapy.cfg.
    The Scrapyd hosts need the project's dependencies installed (see docs/deploy.md).

    \b
    Example:
      keitrucks deploy http://scrapyd.local:6800
    """
    import time

    from keitrucks.scrapyd import ScrapydClient, ScrapydError, deploy_url, servers_from_config
    from keitrucks.scrapyd import deploy as upload

    try:
        if url:
            clients = [ScrapydClient(url, project=project)]
        else:
            clients = [c for c, _ in servers_from_config(config_of(ctx))]
            for client in clients:
                client.project = project
            clients = clients or [ScrapydClient(deploy_url(), project=project)]
    except ConfigError as exc:
        raise cli_error(exc) from None
    except ScrapydError as exc:
        raise click.ClickException(str(exc)) from None
    version = version or str(int(time.time()))  # one version on every server
    failed = []
    for client in clients:
        try:
            done = upload(client, version)
            click.echo(f"deployed {project} version {done} to {client.url}")
        except ScrapydError as exc:
            click.echo(f"not deployed to {client.url}: {exc}", err=True)
            failed.append(client.url)
    if failed:
        raise click.ClickException(f"not deployed to {len(failed)} of {len(clients)} server(s)")
