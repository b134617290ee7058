"""``keitrucks schedule``: the nightly schedule in the foreground (``scheduler.py`` runs it too)."""

from __future__ import annotations

import click

from keitrucks.core.paths import DEFAULT_DB, DEFAULT_REPORTS


@click.command(context_settings={"ignore_unknown_options": False})
@click.option("--db", default=DEFAULT_DB, show_default=True, help="The tracker's SQLite database.")
@click.option(
    "--out", default=DEFAULT_REPORTS, show_default=True, help="Reports folder (dated inside)."
)
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
@click.option("--as-of", metavar="DATE", help="With --once: stamp the night with this date.")
@click.pass_context
def schedule(ctx: click.Context, **options) -> None:
    """Run the night on its schedule ([schedule] cron and timezone), in the foreground.

    A night missed while the scheduler was down runs once when it starts again (within
    misfire_grace_hours); two nights never overlap, also with a manual `keitrucks nightly`.
    Stop it with Ctrl-C or SIGTERM: a running night stops its crawls cleanly first.
    """
    import scheduler

    root = ctx.find_root().obj
    argv = []
    if isinstance(root, dict) and root.get("config_path"):
        argv += ["--config", str(root["config_path"])]
    for name in ("db", "out", "jobstore", "log_file", "base_url", "as_of"):
        if options[name] is not None:
            argv += [f"--{name.replace('_', '-')}", str(options[name])]
    argv += [f"--{flag.replace('_', '-')}" for flag in ("once", "print_jobs") if options[flag]]
    ctx.exit(scheduler.main(argv))
