"""``keitrucks schedule``: the nightly schedule in the foreground (``scheduler.py`` runs it too)."""

from __future__ import annotations

import click

from keitrucks.common_cli import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_USAGE,
    CliError,
    as_of_option,
    config_option,
    config_path_of,
    db_option,
    out_option,
)


@click.command(context_settings={"ignore_unknown_options": False})
@db_option()
@out_option()
@config_option()
@click.option(
    "--jobstore",
    metavar="URL",
    help="SQLAlchemy URL of the job store. Default: scheduler.sqlite beside the database.",
)
@click.option(
    "--log-file",
    metavar="PATH",
    help="Rotating log file ('none': console only). Default: logs/scheduler.log beside the "
    "database.",
)
@click.option("--once", is_flag=True, help="Run one night now, then exit.")
@click.option(
    "--print-jobs",
    is_flag=True,
    help="Print the next run time (and a missed night) and exit; creates and writes nothing.",
)
@click.option("--base-url", metavar="URL", help="With --once: crawl a local copy of the sites.")
@as_of_option()
@click.pass_context
def schedule(ctx: click.Context, **options) -> None:
    """Run the nights on their schedule, in the foreground.

    The schedule is the configuration's [schedule] cron and timezone. A night missed while the
    scheduler was down runs once when it starts again (within misfire_grace_hours); two nights
    never overlap, also with a manual `keitrucks nightly`. Stop it with Ctrl-C or SIGTERM: a
    running night stops its crawls cleanly first. --as-of applies with --once only.

    \b
    Example (when is the next night?):
      keitrucks schedule --print-jobs
    """
    import scheduler

    if options["jobstore"]:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(options["jobstore"])
        except ArgumentError:
            raise CliError(
                f"--jobstore {options['jobstore']!r} is not an SQLAlchemy URL "
                "(like sqlite:////var/lib/keitrucks/scheduler.sqlite)",
                EXIT_USAGE,
            ) from None
    alone = [f"--{n.replace('_', '-')}" for n in ("as_of", "base_url") if options[n] is not None]
    if alone and not options["once"]:  # the scheduler would run every night, ignoring them
        raise CliError(
            f"{' and '.join(alone)} only go with --once (one night now); the schedule's nights "
            "crawl the live sites on their own dates",
            EXIT_USAGE,
        )
    argv = []
    if config_path_of(ctx):
        argv += ["--config", str(config_path_of(ctx))]
    for name in ("db", "out", "jobstore", "log_file", "base_url", "as_of"):
        if options[name] is not None:
            argv += [f"--{name.replace('_', '-')}", str(options[name])]
    argv += [f"--{flag.replace('_', '-')}" for flag in ("once", "print_jobs") if options[flag]]
    code = scheduler.main(argv)
    # scheduler.py's own codes, read as the README's: its 2 is a bad configuration (3 here),
    # its 3 another scheduler or night running (a night that cannot run: 1 here)
    ctx.exit(
        {scheduler.EXIT_CONFIG: EXIT_CONFIG, scheduler.EXIT_LOCKED: EXIT_FAILED}.get(code, code)
    )
