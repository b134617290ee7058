"""The ``keitrucks`` command: one subcommand per job. Each command's docstring is its help.

Errors take one path (``keitrucks.common_cli``): one line on stderr and a documented exit code.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from keitrucks.common_cli import (
    EXIT_DATABASE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    CliError,
    OneErrorPathGroup,
    as_of_option,
    cli_error,
    config_of,
)
from keitrucks.core import paths
from keitrucks.core.config import ConfigError, enabled_sources, known_sources
from keitrucks.core.paths import DEFAULT_DB, DEFAULT_REPORTS, DEMO_DB, DEMO_REPORTS

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
def ctrl_c_stops_crawls() -> Iterator[None]:
    """Ctrl-C says one line at once, stops the running crawls (no new one starts), keeps their
    noise (tracebacks, "did not start" lines) off the terminal, and exits 130."""
    from keitrucks.crawl import clear_stop, request_stop

    def stop(signum, frame):
        click.echo(INTERRUPTED_LINE, err=True)
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
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="KEITRUCKS_CONFIG",
    help="TOML configuration (searches, sources, band, alerts). Default: built-in defaults.",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Log more detail to stderr; show tracebacks of errors."
)
@click.version_option(package_name="keitrucks")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Kei Truck Tracker: nightly used kei truck listings, price history, reports and alerts.

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
    ctx.obj["config_path"] = config_path
    _config(ctx)  # fail early, in one line, on a bad configuration


def _sources_option(f):
    return click.option(
        "--source",
        "sources",
        multiple=True,
        type=click.Choice(known_sources()),
        help="Only this source (repeatable). Default: every enabled source.",
    )(f)


def _print_outcome(prefix: str):
    def progress(source, outcome) -> None:
        mark = "ok " if outcome.ok else "FAIL"
        click.echo(f"{prefix} {source:<14} {mark} {outcome.line.removeprefix('ok: ')}")

    return progress


@cli.command()
@click.option("--db", default=DEMO_DB, show_default=True, type=click.Path(dir_okay=False))
@click.option("--out", default=DEMO_REPORTS, show_default=True, type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Replace --db even if the demo did not create it.")
@click.pass_context
def demo(ctx: click.Context, db: str, out: str, force: bool) -> None:
    """Run three nights on the bundled sample marketplace, offline, then report and alert.

    Starts a local server on 127.0.0.1 serving the sample pages (data/sample/ in a checkout;
    an installed copy renders them once into the user's cache folder), crawls each night with that
    night's date as the as-of time, and writes reports and alerts as a night would. Starts
    from a clean demo database each time: it replaces only a database the demo created
    (use --force for any other file at --db).
    """
    from keitrucks.demo import NotADemoDatabaseError, check_replaceable, run_demo

    config = _config(ctx)
    _check_alerts(config)
    try:
        check_replaceable(Path(db), force=force)
    except NotADemoDatabaseError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    started = time.monotonic()
    with ctrl_c_stops_crawls():
        summary = run_demo(
            Path(db), Path(out), config=config, echo=_quiet_once_stopped(click.echo), force=force
        )
    click.echo(summary.text(time.monotonic() - started))
    if not summary.ok:
        raise CliError("the demo did not complete cleanly (see the lines above)", EXIT_FAILED)


@cli.command()
@click.option("--db", default=DEFAULT_DB, show_default=True, type=click.Path(dir_okay=False))
@click.option("--out", default=DEFAULT_REPORTS, show_default=True, type=click.Path(file_okay=False))
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
    """The whole night once against the live sites: crawl, report, alerts, health check.

    Exits non-zero when any source failed; failed runs are recorded and mark nothing gone.
    Waits for nothing: if another night (the scheduler's) is running on the same database, it
    exits at once saying so.
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
            ctrl_c_stops_crawls(),
            sigterm_stops_the_night(),
            night_lock(lock_path(db), holder="keitrucks nightly"),
        ):
            result = run_night(
                Path(db),
                Path(out),
                config=config,
                config_path=ctx.obj["config_path"],
                sources=chosen,
                as_of=as_of,
                dry_run_alerts=dry_run_alerts,
                progress=_quiet_once_stopped(_print_outcome("crawl")),
                echo=_quiet_once_stopped(click.echo),
                scrapyd=scrapyd,
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
@click.option("--db", default=DEFAULT_DB, show_default=True, type=click.Path(dir_okay=False))
@click.option(
    "--base-url", help="Crawl a local copy (e.g. the sample server) instead of the sites."
)
@as_of_option()
@_sources_option
@click.pass_context
def crawl(ctx, db, base_url, as_of, sources) -> None:
    """Crawl sources into the database (no report, no alerts)."""
    from keitrucks.night import crawl_sources

    config = _config(ctx)
    outcomes = crawl_sources(
        Path(db),
        list(sources) or enabled_sources(config),
        as_of=as_of,
        base_url=base_url,
        config_path=ctx.obj["config_path"],
        log_dir=Path(db).parent / "logs",
        progress=_print_outcome("crawl"),
    )
    if not all(o.ok for o in outcomes):
        raise CliError("some sources failed (see above)", EXIT_FAILED)


@cli.command()
@click.argument("source", type=click.Choice(known_sources()))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--url", help="The page's original URL (relative links resolve against it).")
@click.option(
    "--kind",
    type=click.Choice(["search", "detail"]),
    help="Page kind; by default it is worked out from the page.",
)
def parse(source: str, file: str, url: str | None, kind: str | None) -> None:
    """Run SOURCE's parser on a saved page FILE; print its listings as JSON Lines.

    The tool to reach for when a site changes its layout: what does the parser still see? A page
    the crawl would take for a block says "blocked: <reason>" and fails; a layout the parser does
    not know (or names as unsupported) fails with its name; a known layout that yields no
    listing prints a shape warning on stderr and exits with status 2.
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
    for listing in reading.listings:
        click.echo(json.dumps(asdict(listing), ensure_ascii=False, default=str))
    layout = reading.layout.name if reading.layout else "unknown layout"
    click.echo(f"{len(reading.listings)} listing(s) ({layout})", err=True)
    if reading.warning:
        click.echo(f"shape warning: {reading.warning}", err=True)
        raise SystemExit(2)


@cli.command()
@click.pass_context
def normalize(ctx: click.Context) -> None:
    """Normalize JSON Lines of raw listings from stdin; write them with normalized fields.

    One object per line, in order. A bad line is reported on stderr with its line number and
    the rest still flows; the exit status is 1 if any line failed.
    """
    from pipelines.jsonl import normalize_stream

    config = _config(ctx)
    try:
        failed = normalize_stream(sys.stdin, sys.stdout, sys.stderr, config=config)
    except UnicodeDecodeError as exc:
        raise CliError(f"stdin: {cli_error(exc).message}", EXIT_USAGE) from None
    if failed:
        ctx.exit(1)


@cli.command()
@click.option("--db", default=DEFAULT_DB, show_default=True, type=click.Path(dir_okay=False))
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100000))
@click.pass_context
def renormalize(ctx: click.Context, db: str, batch_size: int) -> None:
    """Re-derive every stored listing's normalized fields from its raw fields.

    Run it after updating the reference tables; price history is kept as it is.
    """
    from pipelines.listings import landed_deriver, renormalize_listings
    from pipelines.normalize import normalize_listing
    from pipelines.schema import StorageError, open_db

    if not Path(db).is_file():
        raise CliError(f"no database at {db}", EXIT_DATABASE)
    config = _config(ctx)
    try:
        database = open_db(db)
    except StorageError as exc:
        raise cli_error(exc) from None
    with click.progressbar(length=database["listings"].count, label="renormalizing") as bar:
        last = [0]

        def progress(done: int, total: int) -> None:
            bar.update(done - last[0])
            last[0] = done

        count = renormalize_listings(
            database,
            lambda raw: normalize_listing(raw, config=config),
            derive=landed_deriver(config),
            batch_size=batch_size,
            progress=progress,
        )
    database.close()
    click.echo(f"renormalized {count} listing(s) in {db}")


@cli.command(name="paths")
@click.pass_context
def paths_command(ctx: click.Context) -> None:
    """Print where the database, reports, logs and configuration are read and written.

    One location per line: a name, then the path. These are the defaults; a command's --db and
    --out override them for that command.
    """
    for name, path in paths.locations().items():
        click.echo(f"{name:<16} {path.absolute()}")
    config = ctx.obj.get("config_path")
    click.echo(f"{'config':<16} {Path(config).absolute() if config else '(built-in defaults)'}")
    click.echo(f"{'example config':<16} {paths.EXAMPLE_CONFIG}")


def main() -> None:
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

    for command in (report, serve, alerts, health, deploy, ingest, rules, schedule, appraise):
        cli.add_command(command)


_register_commands()
