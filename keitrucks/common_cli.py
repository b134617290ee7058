"""What every ``keitrucks`` command shares: exit codes, the one error path, ``--as-of``, ``--db``.

Every user error ends as one line on stderr and an exit code from ``EXIT_CODES`` (README.md,
"Exit codes"). ``cli_error`` turns a known exception into that line (``ERROR_KINDS``, first
match wins); ``OneErrorPathGroup`` applies it to anything a command lets escape, and says
"run with -v for details" for what it does not know; ``-v`` prints the traceback too.
"""

from __future__ import annotations

import logging
import sqlite3
import traceback

import click

from analysis.alerts import AlertsConfigError
from analysis.load import DatabaseMissing
from keitrucks.core.config import ConfigError, load_config
from keitrucks.core.dates import AS_OF_FORMS, normalize_as_of
from keitrucks.core.paths import DEFAULT_DB
from pipelines.schema import StorageError

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_DATABASE = 4
EXIT_INTERRUPTED = 130
#: Exit code -> what it means (the README's table).
EXIT_CODES = {
    EXIT_OK: "ok",
    EXIT_FAILED: "a night, crawl, delivery or check failed (or an unexpected error)",
    EXIT_USAGE: "usage or bad input (an option, a date, a path, stdin)",
    EXIT_CONFIG: "bad configuration",
    EXIT_DATABASE: "database problem (missing, not SQLite, not the tracker's)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}
UNEXPECTED_HINT = "run with -v for details"


class CliError(click.ClickException):
    """One line for the user, with its exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class InterruptError(CliError):
    """Ctrl-C: the line alone, without "Error:"."""

    def __init__(self, message: str = "interrupted") -> None:
        super().__init__(message, EXIT_INTERRUPTED)

    def show(self, file=None) -> None:
        click.echo(self.format_message(), err=True)


def _os_line(exc: OSError) -> str:
    where = f": {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"


def _decode_line(exc: UnicodeDecodeError) -> str:
    return f"input is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})"


#: (exception type, exit code, its line); the first matching row wins.
ERROR_KINDS: tuple[tuple[type[BaseException], int, object], ...] = (
    (ConfigError, EXIT_CONFIG, str),
    (AlertsConfigError, EXIT_CONFIG, str),
    (DatabaseMissing, EXIT_DATABASE, str),
    (StorageError, EXIT_DATABASE, str),
    (sqlite3.DatabaseError, EXIT_DATABASE, lambda exc: f"database problem: {exc}"),
    (UnicodeDecodeError, EXIT_USAGE, _decode_line),
    (OSError, EXIT_USAGE, _os_line),
)


def cli_error(exc: BaseException) -> CliError:
    """The one-line error of ``exc``: a known kind's line and code, else an unexpected error."""
    if isinstance(exc, click.ClickException):
        return exc if isinstance(exc, CliError) else CliError(exc.format_message(), exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        return InterruptError()
    for kind, code, line in ERROR_KINDS:
        if isinstance(exc, kind):
            return CliError(line(exc), code)
    return CliError(f"unexpected {type(exc).__name__}: {exc} ({UNEXPECTED_HINT})", EXIT_FAILED)


class OneErrorPathGroup(click.Group):
    """A group whose commands never end in a traceback (unless ``-v`` asks for it)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:  # one line, without the usage block
            raise CliError(exc.format_message(), exc.exit_code) from None
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except (Exception, KeyboardInterrupt) as exc:
            if ctx.params.get("verbose"):
                traceback.print_exc()
            raise cli_error(exc) from None


def config_of(ctx: click.Context, path: str | None = None) -> dict:
    """The configuration (``path``, else the root group's ``--config``), or a config error."""
    obj = ctx.find_root().obj
    path = path or (obj.get("config_path") if isinstance(obj, dict) else None)
    try:
        return load_config(path)
    except ConfigError as exc:
        raise cli_error(exc) from None


class AsOf(click.ParamType):
    """An as-of value, read by ``keitrucks.core.dates`` into ISO 8601 UTC."""

    name = "DATE"

    def convert(self, value, param, ctx):
        try:
            return normalize_as_of(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def as_of_option(what: str = "Stamp listings with this date instead of now."):
    """``--as-of DATE``, the same in every command; the value is ISO 8601 UTC."""
    return click.option(
        "--as-of", "as_of", type=AsOf(), metavar="DATE", help=f"{what} DATE: {AS_OF_FORMS}."
    )


def db_option(*names: str, help_text: str = "The tracker's SQLite database.", path_type=None):
    """The ``--db`` option (default ``DEFAULT_DB``)."""
    return click.option(
        "--db",
        *names,
        default=DEFAULT_DB,
        show_default=True,
        type=click.Path(dir_okay=False, path_type=path_type),
        help=help_text,
    )
