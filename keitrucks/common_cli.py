"""What every ``keitrucks`` command shares: exit codes, the one error path, and the shared
options ``--db``, ``--config``, ``--as-of``, ``--out`` (one help text and one error each).

Every user error ends as one line on stderr and an exit code from ``EXIT_CODES`` (README.md,
"Exit codes"). ``cli_error`` turns a known exception into that line (``ERROR_KINDS``, first
match wins); ``OneErrorPathGroup`` applies it to anything a command lets escape, and says
"run with -v for details" for what it does not know; ``-v`` prints the traceback too.
"""

from __future__ import annotations

import codecs
import datetime as dt
import logging
import os
import shlex
import shutil
import sqlite3
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import click
from click.core import ParameterSource

from analysis.alerts import AlertsConfigError
from analysis.load import DatabaseMissing, table_names
from keitrucks.core.config import ConfigError, load_config
from keitrucks.core.dates import AS_OF_FORMS, normalize_as_of
from keitrucks.core.paths import DEFAULT_DB, DEFAULT_REPORTS
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


def _database_line(exc: sqlite3.DatabaseError) -> str:
    """A missing table or column is a database from an older version: renormalize (which
    brings the schema up to date) is the way out."""
    line = f"database problem: {exc}"
    if str(exc).startswith(("no such table", "no such column")):
        line += " (a database from an older version? `keitrucks renormalize --db FILE` updates it)"
    return line


#: (exception type, exit code, its line); the first matching row wins.
ERROR_KINDS: tuple[tuple[type[BaseException], int, object], ...] = (
    (ConfigError, EXIT_CONFIG, str),
    (AlertsConfigError, EXIT_CONFIG, str),
    (DatabaseMissing, EXIT_DATABASE, str),
    (StorageError, EXIT_DATABASE, str),
    (sqlite3.DatabaseError, EXIT_DATABASE, _database_line),
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

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        """The group's own options and command name: a mistake is one line here too."""
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.exceptions.NoArgsIsHelpError:  # `keitrucks` alone: the help, as asked
            raise
        except click.UsageError as exc:  # `keitrucks --bogus`, `keitrucks nosuch`
            raise CliError(exc.format_message(), exc.exit_code) from None

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:  # `keitrucks track` alone: its help
            raise
        except click.UsageError as exc:  # one line, without the usage block
            raise CliError(exc.format_message(), exc.exit_code) from None
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except BrokenPipeError:  # `keitrucks rules | head`: the reader left; click ends quietly
            raise
        except (Exception, KeyboardInterrupt) as exc:
            if ctx.params.get("verbose"):
                traceback.print_exc()
            raise cli_error(exc) from None


def config_path_of(ctx: click.Context) -> str | None:
    """The ``--config`` path in force (the command's, else the group's), or None."""
    obj = ctx.find_root().obj
    return obj.get("config_path") if isinstance(obj, dict) else None


def config_of(ctx: click.Context, path: str | None = None) -> dict:
    """The configuration (``path``, else ``--config`` of the command or the root group), or a
    config error."""
    path = path or config_path_of(ctx)
    try:
        return load_config(path)
    except ConfigError as exc:
        raise cli_error(exc) from None


def check_tracker_database(db: str | os.PathLike, *, must_exist: bool) -> None:
    """A ``CliError`` (exit 4) unless ``db`` is the tracker's database, or, when not
    ``must_exist``, no database yet (absent or empty: a command creates it). An SQLite file of
    another program (``--db`` pointing at the wrong file) is never written into."""
    path = Path(db)
    if not path.is_file() or path.stat().st_size == 0:
        if must_exist:
            empty = f"{db} is empty, not a tracker database yet"
            raise CliError(empty if path.is_file() else f"no database at {db}", EXIT_DATABASE)
        return
    try:
        tables = table_names(path)
    except sqlite3.OperationalError as exc:  # a locked or unreadable file, not a foreign one
        raise CliError(f"cannot read database {db}: {exc}", EXIT_DATABASE) from None
    if tables and "listings" not in tables:
        raise CliError(
            f"{db} is not a tracker database (no listings table): is --db the right file?",
            EXIT_DATABASE,
        )


#: The years a date may fall in: a typo such as 0202 or 2062 is an error, not a night to store
#: (a sighting in year 1 made every later `alerts` fail; one in 2062 refused every later price).
AS_OF_YEARS = (2000, 2099)


class AsOf(click.ParamType):
    """An as-of value, read by ``keitrucks.core.dates`` into ISO 8601 UTC, in ``AS_OF_YEARS``;
    with ``future=False`` (a sighting) not after tomorrow (UTC: a day ahead for any time zone)."""

    name = "DATE"

    def __init__(self, *, future: bool = True) -> None:
        self.future = future

    def convert(self, value, param, ctx):
        first, last = AS_OF_YEARS
        out_of_range = f"{value!r} is out of range (use a date in the years {first} to {last})"
        try:
            iso = normalize_as_of(value)
        except OverflowError:  # 9999-12-31T23:00-05:00 is no date in UTC
            self.fail(out_of_range, param, ctx)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        day = dt.datetime.fromisoformat(iso).date()
        if not first <= day.year <= last:
            self.fail(out_of_range, param, ctx)
        today = dt.datetime.now(dt.UTC).date()
        if not self.future and day > today + dt.timedelta(days=1):
            self.fail(f"{value!r} is in the future (today is {today} UTC)", param, ctx)
        return iso


# -- the options every command shares: one help text, one metavar, one error each -------------
#
# A new command takes them as decorators and reads the configuration with ``config_of``:
#
#     @cli.command()
#     @db_option()
#     @config_option()
#     @as_of_option()
#     @click.pass_context
#     def appraise(ctx, db, as_of):
#         config = config_of(ctx)

#: The help of each shared option, word for word the same in every command.
DB_HELP = "The tracker's SQLite database."
CONFIG_HELP = (
    "TOML configuration (sources, searches, band, alerts, buyer, schedule). "
    "Default: built-in defaults."
)
AS_OF_HELP = (
    "Work as of this night instead of now (stamp a crawl; report or alert on a past night). "
    f"DATE: {AS_OF_FORMS}."
)
OUT_HELP = "Reports folder; each night's report goes into a dated folder inside it."


def _home_expanded(ctx: click.Context, param: click.Parameter, value):
    """``~/kei.db`` as the user's home, also where no shell expanded it (quoted, a systemd
    unit): a folder named "~" was created in the working directory."""
    if value is None:
        return None
    expanded = os.path.expanduser(os.fspath(value))
    return type(value)(expanded) if isinstance(value, Path) else expanded


def db_option(default: str = DEFAULT_DB, *, path_type=None):
    """``--db FILE``: the database (``default``: ``DEFAULT_DB``); the value is the path given,
    with ``~`` expanded."""
    return click.option(
        "--db",
        default=default,
        show_default=True,
        type=click.Path(dir_okay=False, path_type=path_type),
        help=DB_HELP,
        callback=_home_expanded,
    )


def out_option(default: str = DEFAULT_REPORTS, *, path_type=None):
    """``--out DIRECTORY``: the reports folder (``default``: ``DEFAULT_REPORTS``), with ``~``
    expanded."""
    return click.option(
        "--out",
        default=default,
        show_default=True,
        type=click.Path(file_okay=False, path_type=path_type),
        help=OUT_HELP,
        callback=_home_expanded,
    )


def as_of_option():
    """``--as-of DATE``; the value is ISO 8601 UTC, or None when not given."""
    return click.option("--as-of", "as_of", type=AsOf(), metavar="DATE", help=AS_OF_HELP)


def _remember_config(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """Keep ``--config`` on the root context's object, where ``config_of`` reads it. A
    subcommand's value wins over the group's, but only when typed: its ``$KEITRUCKS_CONFIG``
    default is the group's already."""
    if value is None:
        return
    typed = ctx.get_parameter_source(param.name) is ParameterSource.COMMANDLINE
    if ctx.parent is None or typed:
        root = ctx.find_root()
        root.ensure_object(dict)
        if isinstance(root.obj, dict):
            root.obj["config_path"] = os.path.expanduser(value)


def config_option():
    """``--config FILE`` (or ``$KEITRUCKS_CONFIG``), read with ``config_of``; the command gets
    no parameter for it. The same on the group (``keitrucks --config F report``) and on each
    command (``keitrucks report --config F``)."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        envvar="KEITRUCKS_CONFIG",
        show_envvar=True,
        metavar="FILE",
        help=CONFIG_HELP,
        expose_value=False,
        callback=_remember_config,
    )


#: The shared options, by their flag: what tests/test_cli_style.py holds every command to.
SHARED_OPTIONS = {
    "--db": DB_HELP,
    "--config": CONFIG_HELP,
    "--as-of": AS_OF_HELP,
    "--out": OUT_HELP,
}


def never_unencodable(*streams) -> None:
    """Let text a stream's encoding cannot hold ("≈", "¥", Japanese under a Latin-1 or cp1252
    locale) be replaced by "?" rather than end the command in an UnicodeEncodeError (appraise
    failed so). UTF-8 streams are left as they are; data (JSON Lines) is written as UTF-8."""
    for stream in streams:
        encoding = getattr(stream, "encoding", None) or "utf-8"
        if codecs.lookup(encoding).name != "utf-8" and callable(
            getattr(stream, "reconfigure", None)
        ):
            stream.reconfigure(errors="replace")


def command_for(
    name: str,
    *,
    which: Callable[[str], str | None] = shutil.which,
    bin_dir: Path | None = None,
    cwd: Path | None = None,
) -> str:
    """How a user types the installed program ``name`` (``keitrucks``, ``sqlite-utils``) to
    run this installation's copy: the bare name when it is on PATH, else its path in
    ``bin_dir`` (this Python's scripts folder), relative to ``cwd`` when under it
    (``.venv/bin/keitrucks`` in a checkout set up by ``make``)."""
    bin_dir = Path(sys.executable).parent if bin_dir is None else bin_dir
    ours = bin_dir / name
    found = which(name)
    if found and (not ours.exists() or Path(found).resolve() == ours.resolve()):
        return name
    if not ours.exists():
        return name
    cwd = Path.cwd() if cwd is None else cwd
    try:
        shown = ours.absolute().relative_to(cwd.absolute())
    except ValueError:
        shown = ours.absolute()
    text = str(shown)
    return shlex.quote(text if os.sep in text else f".{os.sep}{text}")  # ./keitrucks, not a name
