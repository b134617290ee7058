"""The ``keitrucks`` command: one subcommand per job. Each command's docstring is its help.

Errors take one path (``keitrucks.common_cli``): one line on stderr and a documented exit code.
"""

from __future__ import annotations

import io
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path

import click

from keitrucks.common_cli import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    CliError,
    OneErrorPathGroup,
    as_of_option,
    check_tracker_database,
    cli_error,
    config_of,
    config_option,
    config_path_of,
    db_option,
    never_unencodable,
    out_option,
)
from keitrucks.core import paths
from keitrucks.core.config import ConfigError, enabled_sources, known_sources
from keitrucks.core.paths import DEMO_DB, DEMO_REPORTS

INTERRUPTED_LINE = "interrupted: stopping crawls"


def _config(ctx: click.Context) -> dict:
    return config_of(ctx)


def _check_alerts(config: dict) -> None:
    """Check ``[alerts]`` and ``[notify]`` before a night starts, not after its crawls."""
    from analysis.alerts import AlertsConfigError, alert_settings, build_channels, notify_urls

    try:
        alert_settings(config)
        build_channels(notify_urls(config, os.environ))
    except AlertsConfigError as exc:
        raise cli_error(exc) from None


@contextmanager
def ctrl_c_stops_crawls(say=None) -> Iterator[None]:
    """Ctrl-C says one line at once (through ``say``, default stderr), stops the running crawls
    (no new one starts), keeps their noise (tracebacks, "did not start" lines) off the
    terminal, and exits 130."""
    from keitrucks.crawl import clear_stop, request_stop

    def stop(signum, frame):
        (say or partial(click.echo, err=True))(INTERRUPTED_LINE)
        logging.disable(logging.CRITICAL)
        request_stop()
        raise KeyboardInterrupt

    clear_stop()
    previous = signal.signal(signal.SIGINT, stop)
    try:
        yield
    except KeyboardInterrupt:
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    finally:
        signal.signal(signal.SIGINT, previous)


def _quiet_once_stopped(progress):
    """``progress`` until a stop was asked for; nothing after (the stopped crawls' lines)."""
    from keitrucks.crawl import stop_requested

    def quiet(*args, **kwargs):
        if not stop_requested():
            progress(*args, **kwargs)

    return quiet


@click.group(cls=OneErrorPathGroup, context_settings={"help_option_names": ["-h", "--help"]})
@config_option()
@click.option(
    "-v", "--verbose", is_flag=True, help="Log more detail to stderr; show tracebacks of errors."
)
@click.version_option(package_name="keitrucks")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Kei Truck Tracker: nightly used kei truck listings, price history, reports and alerts.

    Start with `keitrucks demo` (offline sample nights), then `keitrucks serve --db
    data/demo.db`. In a checkout set up with `make demo`, the command is .venv/bin/keitrucks.

    Default locations (`keitrucks paths` prints them): the database, reports and logs live in
    $KEITRUCKS_HOME if set; else in data/ when run from a project checkout (a folder with
    scrapy.cfg and keitrucks/: data/keitrucks.db, data/demo.db, data/reports); else in the
    user's data folder. --db and --out override them.

    Exit codes: 0 ok, 1 a night/crawl/check failed, 2 usage or bad input, 3 bad configuration,
    4 database problem, 130 interrupted.
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    ctx.ensure_object(dict)
    _config(ctx)  # fail early, in one line, on a bad configuration


def _sources_option(f):
    return click.option(
        "--source",
        "sources",
        multiple=True,
        type=click.Choice(known_sources()),
        help="Only this source (repeatable). Default: every enabled source.",
    )(f)


def _print_outcome(prefix: str, echo=click.echo):
    def progress(source, outcome) -> None:
        mark = "ok " if outcome.ok else "FAIL"
        echo(f"{prefix} {source:<14} {mark} {outcome.line.removeprefix('ok: ')}")

    return progress


def _board():
    """Live per-source counts while crawls run, on a terminal only (``keitrucks.progress``)."""
    from keitrucks.progress import CrawlBoard, wants_progress

    return CrawlBoard(wants_progress())


@cli.command()
@db_option(DEMO_DB)
@out_option(DEMO_REPORTS)
@config_option()
@click.option("--force", is_flag=True, help="Replace --db even if the demo did not create it.")
@click.pass_context
def demo(ctx: click.Context, db: str, out: str, force: bool) -> None:
    """Six months of a sample kei truck market, offline.

    Weekly nights of the bundled sample marketplace, then three nights in a row, each of the
    three reported and alerted.

    Starts a local server on 127.0.0.1 serving the sample pages (rendered from the sample
    catalog), crawls each night with that night's date as the as-of time, and after each of
    the last three writes the report and alerts as a night would. Starts from a clean demo
    database each time: it replaces only a database the demo created (use --force for any
    other file at --db).

    \b
    Example:
      keitrucks demo && keitrucks serve --db data/demo.db
    """
    from keitrucks.demo import NotADemoDatabaseError, check_replaceable, run_demo

    config = _config(ctx)
    _check_alerts(config)
    try:
        check_replaceable(Path(db), force=force)
    except NotADemoDatabaseError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    started = time.monotonic()
    with _board() as board, ctrl_c_stops_crawls(board.say):
        summary = run_demo(
            Path(db),
            Path(out),
            config=config,
            echo=_quiet_once_stopped(board.echo),
            force=force,
        )
    click.echo(summary.text(time.monotonic() - started))
    if not summary.ok:
        raise CliError("the demo did not complete cleanly (see the lines above)", EXIT_FAILED)


@cli.command()
@db_option()
@out_option()
@config_option()
@as_of_option()
@click.option("--dry-run-alerts", is_flag=True, help="Work out alerts but send nothing.")
@click.option(
    "--scrapyd",
    "scrapyd_url",
    metavar="URL",
    help="Run every crawl as a job on this Scrapyd server (deployed with `keitrucks deploy`) "
    "and store what the jobs found in --db here. Without it, the servers of [scrapyd] in the "
    "configuration are used when it lists any (see docs/deploy.md).",
)
@_sources_option
@click.pass_context
def nightly(ctx, db, out, as_of, dry_run_alerts, scrapyd_url, sources) -> None:
    """The whole night once: crawl the live sites, report, alert.

    Crawls every enabled source (two at a time), then writes the report, checks each source's
    health and raises the alerts. On a terminal each running crawl shows its pages and
    listings so far; each source ends with one line. Exits non-zero when any source failed;
    failed runs are recorded and mark nothing gone. Waits for nothing: if another night (the
    scheduler's) is running on the same database, it exits at once saying so.

    \b
    Example:
      keitrucks nightly --config my.toml --source craigslist --dry-run-alerts
    """
    from keitrucks.night import (
        NightAlreadyRunningError,
        lock_path,
        night_lock,
        run_night,
        sigterm_stops_the_night,
    )

    config = _config(ctx)
    _check_alerts(config)
    check_tracker_database(db, must_exist=False)
    chosen = list(sources) or enabled_sources(config)
    scrapyd = None
    if scrapyd_url:
        from keitrucks.scrapyd import ScrapydClient, ScrapydError

        try:
            scrapyd = ScrapydClient(scrapyd_url)
            scrapyd.daemon_status()
        except ScrapydError as exc:  # a night that cannot run: a failure, not a usage error
            raise CliError(str(exc), EXIT_FAILED) from None
    try:
        with (
            _board() as board,
            ctrl_c_stops_crawls(board.say),
            sigterm_stops_the_night(),
            night_lock(lock_path(db), holder="keitrucks nightly"),
        ):
            result = run_night(
                Path(db),
                Path(out),
                config=config,
                config_path=config_path_of(ctx),
                sources=chosen,
                as_of=as_of,
                dry_run_alerts=dry_run_alerts,
                progress=_quiet_once_stopped(_print_outcome("crawl", board.echo)),
                echo=_quiet_once_stopped(board.echo),
                scrapyd=scrapyd,
                on_counts=board.on_counts,
            )
    except NightAlreadyRunningError as exc:
        raise CliError(str(exc), EXIT_FAILED) from None
    except ConfigError as exc:
        raise cli_error(exc) from None
    if not result.ok:
        failed = [o.source for o in result.outcomes if not o.ok]
        problems = [f"{len(failed)} source(s) failed: {', '.join(failed)}"] if failed else []
        if result.errors:
            problems.append(f"step(s) failed: {', '.join(result.errors)}")
        raise CliError("; ".join(problems), EXIT_FAILED)


@cli.command()
@db_option()
@config_option()
@click.option(
    "--base-url",
    metavar="URL",
    help="Crawl a local copy (e.g. the sample server) instead of the sites.",
)
@as_of_option()
@_sources_option
@click.pass_context
def crawl(ctx, db, base_url, as_of, sources) -> None:
    """Crawl sources into the database (no report, no alerts).

    On a terminal each running crawl shows its pages and listings so far; each source ends
    with one line. Exits 1 when any source failed.

    \b
    Example:
      keitrucks crawl --source craigslist --source ebay
    """
    from keitrucks.night import crawl_sources

    config = _config(ctx)
    check_tracker_database(db, must_exist=False)
    with _board() as board:
        outcomes = crawl_sources(
            Path(db),
            list(sources) or enabled_sources(config),
            as_of=as_of,
            base_url=base_url,
            config_path=config_path_of(ctx),
            log_dir=Path(db).parent / "logs",
            progress=_print_outcome("crawl", board.echo),
            on_counts=board.on_counts,
        )
    if not all(o.ok for o in outcomes):
        raise CliError("some sources failed (see above)", EXIT_FAILED)


@cli.command()
@click.argument("source", type=click.Choice(known_sources()))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--url", metavar="URL", help="The page's original URL (relative links resolve against it)."
)
@click.option(
    "--kind",
    type=click.Choice(["search", "detail"]),
    help="Page kind; by default it is worked out from the page.",
)
def parse(source: str, file: str, url: str | None, kind: str | None) -> None:
    """What SOURCE's parser reads from a saved page FILE.

    The tool to reach for when a site changes its layout: what does the parser still see? A page
    the crawl would take for a block says "blocked: <reason>" and fails; a layout the parser does
    not know (or names as unsupported) fails with its name; a known layout that yields no
    listing prints a shape warning on stderr and exits with status 2.

    \b
    Example:
      keitrucks parse craigslist saved.html --url https://knoxville.craigslist.org/...
    """
    import importlib
    import json
    from dataclasses import asdict

    from scrapy.http import HtmlResponse, TextResponse

    from scrapers.blocking import block_reason, looks_like_json
    from scrapers.parsers.shape import LayoutError, read_page

    try:
        module = importlib.import_module(f"scrapers.parsers.{source}")
    except ImportError:
        raise click.ClickException(f"no parser for {source} yet") from None
    body = Path(file).read_bytes()
    url = url or Path(file).resolve().as_uri()
    blocked = block_reason(200, body, url)
    if blocked:
        raise click.ClickException(f"blocked: {blocked.replace('_', ' ')} ({file})")
    cls = TextResponse if looks_like_json(body) else HtmlResponse
    response = cls(url=url, body=body, encoding="utf-8")
    parse_fn = module.PAGE_PARSERS[kind] if kind else module.parse_page
    try:
        reading = read_page(module.LAYOUTS, parse_fn, response, forced=kind is not None)
    except LayoutError as exc:
        raise click.ClickException(f"{source} parser cannot read {file}: {exc}") from None
    except Exception as exc:  # a page the parser cannot read: say so in one line
        raise click.ClickException(f"{source} parser failed on {file}: {exc!r}") from None
    for listing in reading.listings:  # JSON is UTF-8, whatever the locale's encoding
        line = json.dumps(asdict(listing), ensure_ascii=False, default=str) + "\n"
        click.echo(line.encode("utf-8"), nl=False)
    layout = reading.layout.name if reading.layout else "unknown layout"
    click.echo(f"{len(reading.listings)} listing(s) ({layout})", err=True)
    if reading.warning:
        click.echo(f"shape warning: {reading.warning}", err=True)
        raise SystemExit(2)


@cli.command()
@config_option()
@click.pass_context
def normalize(ctx: click.Context) -> None:
    """Normalize JSON Lines of raw listings (stdin to stdout).

    One object per line, in order, written back with the normalized fields added. A bad line
    is reported on stderr with its line number and the rest still flows; the exit status is 1
    if any line failed.

    \b
    Example:
      keitrucks parse craigslist saved.html | keitrucks normalize
    """
    from pipelines.jsonl import normalize_stream

    config = _config(ctx)
    # JSON Lines are UTF-8 whatever the locale: under a Latin-1 one, "スズキ" was read as
    # mojibake and the truck as no make at all
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8")
    sys.stdout.flush()
    stdout = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8")
    try:
        failed = normalize_stream(stdin, stdout, sys.stderr, config=config)
        stdout.flush()
    except UnicodeDecodeError as exc:
        raise CliError(f"stdin: {cli_error(exc).message}", EXIT_USAGE) from None
    finally:
        for stream in (stdin, stdout):
            with suppress(OSError, ValueError):  # a reader gone: click says nothing
                stream.detach()
    if failed:
        ctx.exit(1)


@cli.command()
@db_option()
@config_option()
@click.option(
    "--batch-size",
    default=500,
    show_default=True,
    type=click.IntRange(1, 100000),
    help="Listings read and written per transaction.",
)
@click.pass_context
def renormalize(ctx: click.Context, db: str, batch_size: int) -> None:
    """Re-derive every stored listing from its raw fields.

    Run it after updating the reference tables (keitrucks/core/data/*.csv, your fx_rates.csv
    rows) or the normalizer; the normalized and derived fields are rewritten, price history is
    kept as it is. Shows a progress bar on a terminal.

    \b
    Example:
      keitrucks renormalize --db data/keitrucks.db
    """
    from keitrucks.progress import progress_bar, wants_progress
    from pipelines.listings import landed_deriver, renormalize_listings
    from pipelines.normalize import normalize_listing
    from pipelines.schema import StorageError, open_db

    check_tracker_database(db, must_exist=True)
    config = _config(ctx)
    try:
        database = open_db(db)
    except StorageError as exc:
        raise cli_error(exc) from None
    total = database["listings"].count
    with progress_bar(wants_progress(), total, "renormalizing") as update:
        count = renormalize_listings(
            database,
            lambda raw: normalize_listing(raw, config=config),
            derive=landed_deriver(config),
            batch_size=batch_size,
            progress=lambda done, total: update(done),
        )
    database.close()
    click.echo(f"renormalized {count} listing(s) in {db}")


@cli.command(name="paths")
@config_option()
@click.pass_context
def paths_command(ctx: click.Context) -> None:
    """Where the database, reports, logs and configuration are.

    One location per line: a name, then the path. These are the defaults; a command's --db and
    --out override them for that command. A --config file is read and checked too.

    \b
    Example:
      keitrucks paths --config my.toml
    """
    _config(ctx)  # a missing or broken file is said here too, as by every other command
    for name, path in paths.locations().items():
        click.echo(f"{name:<16} {path.absolute()}")
    config = config_path_of(ctx)
    click.echo(f"{'config':<16} {Path(config).absolute() if config else '(built-in defaults)'}")
    click.echo(f"{'example config':<16} {paths.EXAMPLE_CONFIG}")


def main() -> None:
    never_unencodable(sys.stdout, sys.stderr)
    try:
        cli(obj={})
    except KeyboardInterrupt:  # between the group's own checks, before a command runs
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)


def _register_commands() -> None:
    """Commands kept in their own modules."""
    from keitrucks.alerts_cli import alerts
    from keitrucks.appraise_cli import appraise
    from keitrucks.health_cli import deploy, health
    from keitrucks.ingest_cli import ingest
    from keitrucks.report_cli import report, serve
    from keitrucks.rules_cli import rules
    from keitrucks.schedule_cli import schedule
    from keitrucks.track_cli import track

    for command in (
        report,
        serve,
        alerts,
        health,
        deploy,
        ingest,
        rules,
        schedule,
        appraise,
        track,
    ):
        cli.add_command(command)


_register_commands()
