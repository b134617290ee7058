"""One error path for the whole CLI: every user error is one line on stderr and a documented exit
code (README.md, "Exit codes"); ``-v`` shows the traceback; never a traceback otherwise.

The group runs in process (``CliRunner``, exceptions not caught by the runner: an escaping one
fails the test as the traceback a user would see).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import socket
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_analysis_helpers import build_market

from keitrucks.cli import cli
from keitrucks.common_cli import EXIT_CODES, UNEXPECTED_HINT, never_unencodable
from keitrucks.core.dates import normalize_as_of
from keitrucks.demo import NotADemoDatabaseError, _mark_as_demo, check_replaceable

ROOT = Path(__file__).resolve().parents[1]
NOT_SQLITE = b"these bytes are no SQLite database, however long the file gets" * 4


def invoke(*args: str, stdin: bytes | None = None):
    environ = {k: None for k in os.environ if k.startswith("KEITRUCKS_")}
    return CliRunner().invoke(
        cli, list(args), obj={}, env=environ, input=stdin, catch_exceptions=False
    )


def one_line(result, code: int) -> str:
    """The single stderr line of a failed command, with its exit code; no traceback."""
    assert result.exit_code == code, (result.exit_code, result.stderr)
    assert "Traceback" not in result.output + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.db").write_bytes(NOT_SQLITE)
    (tmp_path / "empty.db").write_bytes(b"")
    return tmp_path


@pytest.mark.parametrize(
    "args",
    [
        ["report", "--db", "bad.db", "--out", "out"],
        ["health", "--db", "bad.db"],
        ["alerts", "--dry-run", "--db", "bad.db", "--as-of", "2026-11-24"],
        ["serve", "--db", "bad.db"],
    ],
    ids=["report", "health", "alerts", "serve"],
)
def test_a_file_that_is_not_sqlite_is_a_database_error(folder, args):
    line = one_line(invoke(*args), 4)
    assert "bad.db is not" in line
    assert (folder / "bad.db").read_bytes() == NOT_SQLITE


@pytest.mark.parametrize(
    "args",
    [
        ["track", "add", "https://example.com/1", "--price", "5000", "--text", "1996 Carry"],
        ["track", "list"],
        ["renormalize"],
        ["health"],
        ["ingest", "feed.jl", "--source", "bringatrailer"],
    ],
    ids=["track-add", "track-list", "renormalize", "health", "ingest"],
)
def test_an_sqlite_file_of_another_program_is_never_written_into(folder, args):
    """--db on the wrong file: track and renormalize added the tracker's tables to it, health
    said every source 'never run' and exited 0."""
    other = folder / "other.db"
    with closing(sqlite3.connect(other)) as conn, conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    (folder / "feed.jl").write_text('{"source": "bringatrailer", "listing_id": "1"}\n')
    before = other.read_bytes()
    line = one_line(invoke(*args, "--db", "other.db"), 4)
    assert (
        line
        == "Error: other.db is not a tracker database (no listings table): is --db the right file?"
    )
    assert other.read_bytes() == before


@pytest.mark.parametrize(
    "args",
    [
        ["report", "--db", "empty.db", "--out", "out"],
        ["alerts", "--dry-run", "--db", "empty.db", "--as-of", "2026-11-24"],
        ["alerts", "--db", "empty.db", "--as-of", "2026-11-24"],
    ],
    ids=["report", "alerts-dry-run", "alerts"],
)
def test_an_empty_file_is_not_a_tracker_database(folder, args):
    line = one_line(invoke(*args), 4)
    assert line.startswith("Error: empty.db is not a tracker database (no listings table)")


def test_a_database_from_an_older_version_says_how_to_update_it(folder):
    """A listings table without the later columns and tables said only 'no such column: ...'
    (or 'no such table: price_history'), not the way out."""
    with closing(sqlite3.connect(folder / "old.db")) as conn, conn:
        conn.execute("CREATE TABLE listings (source, listing_id, title, first_seen_at)")
    args = ["--db", "old.db", "--as-of", "2026-11-02"]
    line = one_line(invoke("report", *args, "--out", "out"), 4)
    assert line.startswith("Error: database problem: no such ")
    assert line.endswith(
        "(a database from an older version? `keitrucks renormalize --db FILE` updates it)"
    )
    assert invoke("renormalize", "--db", "old.db").exit_code == 0
    assert invoke("report", *args, "--out", "out").exit_code == 0


def test_a_tilde_path_is_the_home_folder_even_unexpanded(folder, monkeypatch):
    """`--db '~/kei.db'` (quoted, or in a systemd unit) made a folder named "~" here."""
    home = folder / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    (home / "my.toml").write_text('[buyer]\nstate = "TN"\n')
    add = ["track", "add", "https://example.com/1", "--price", "5000", "--text", "1996 Carry"]
    assert invoke("--config", "~/my.toml", *add, "--db", "~/kei.db").exit_code == 0
    assert (home / "kei.db").is_file()
    assert not (folder / "~").exists()
    shown = invoke("paths", "--config", "~/my.toml").stdout
    assert f"config           {home / 'my.toml'}\n" in shown


LINE = {"listing_id": "1", "title": "1996 Suzuki Carry", "url": "https://example.com/1"}


@pytest.mark.parametrize(
    ("line", "args", "message"),
    [
        (LINE, [], "feed.jl: cannot tell whose feed this is (it names no source): give --source,"),
        (
            {"listing_id": "1", "title": "x"},
            ["--source", "craigslist"],
            "feed.jl: listing 1 has no url: not a feed of a keitrucks job",
        ),
    ],
    ids=["no-source", "not-a-listing"],
)
def test_a_feed_that_is_not_a_jobs_is_one_usage_line(folder, line, args, message):
    """A saved feed without its source, or of lines that are no listings, ended in
    'unexpected TypeError: Listing.__init__() missing ... source'."""
    (folder / "feed.jl").write_text(json.dumps(line) + "\n")
    line = one_line(invoke("ingest", "feed.jl", "--db", "k.db", *args), 2)
    assert line.startswith(f"Error: {message}")
    assert not (folder / "k.db").exists()


@pytest.mark.parametrize("command", ["nightly", "crawl", "report", "alerts"])
@pytest.mark.parametrize("value", ["2026-13-45", "someday", "24/11/2026"])
def test_a_bad_as_of_is_one_usage_line_before_any_database(folder, command, value):
    line = one_line(invoke(command, "--db", "k.db", "--as-of", value), 2)
    assert line == (
        f"Error: Invalid value for '--as-of': {value!r} is not a date "
        "(use YYYY-MM-DD, an ISO 8601 time (2026-11-24T06:00:00Z), today or yesterday)"
    )
    assert not (folder / "k.db").exists()


IN_A_MONTH = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)).isoformat()
TRACK = ["track", "add", "https://example.com/1", "--price", "5000", "--text", "1996 Carry"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "--as-of", "0001-01-01"], "'--as-of': '0001-01-01' is out of range"),
        (["alerts", "--as-of", "9999-12-31"], "'--as-of': '9999-12-31' is out of range"),
        (["report", "--as-of", "9999-12-31T23:00-05:00"], "'9999-12-31T23:00-05:00' is out of"),
        ([*TRACK, "--seen", "0202-11-20"], "'--seen': '0202-11-20' is out of range"),
        ([*TRACK, "--seen", IN_A_MONTH], f"'--seen': '{IN_A_MONTH}' is in the future (today"),
    ],
    ids=["year-1", "year-9999", "overflow-in-utc", "seen-typo-past", "seen-future"],
)
def test_a_date_no_night_can_have_is_one_usage_line_and_stores_nothing(folder, args, message):
    """A typo'd year once crashed report and alerts (OverflowError), and a tracked sighting in
    year 1 (or 2062) was stored: every later `alerts` failed (or `track price` was refused)."""
    line = one_line(invoke(*args, "--db", "k.db"), 2)
    assert message in line
    assert not (folder / "k.db").exists()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["--config", "k.toml", "nightly"],
            3,
            "Error: k.toml:2: [schedule] timezone: 'Eastern' is not an IANA time zone",
        ),
        (
            ["--config", "k.toml", "schedule", "--print-jobs"],
            3,
            "Error: k.toml:2: [schedule] timezone: 'Eastern' is not an IANA time zone",
        ),
        (
            ["schedule", "--print-jobs", "--jobstore", "scheduler.sqlite"],
            2,
            "Error: --jobstore 'scheduler.sqlite' is not an SQLAlchemy URL (like sqlite:///",
        ),
    ],
    ids=["nightly-bad-zone", "schedule-bad-zone", "schedule-jobstore-not-a-url"],
)
def test_a_bad_schedule_is_one_line_with_its_documented_code(folder, args, code, message):
    """A bad [schedule] was said only by `schedule`, as 'error: ...' with status 2 (usage);
    a --jobstore that is a path was an 'unexpected ArgumentError'."""
    (folder / "k.toml").write_text('[schedule]\ntimezone = "Eastern"\n')
    line = one_line(invoke(*args, "--db", "k.db"), code)
    assert line.startswith(message)
    assert not (folder / "k.db").exists()


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["nosuch"], "Error: No such command 'nosuch'."),
        (["--bogus", "paths"], "Error: No such option '--bogus'. Did you mean '--verbose'?"),
        (["track", "nosuch"], "Error: No such command 'nosuch'."),
    ],
    ids=["command", "group-option", "subgroup-command"],
)
def test_a_mistake_before_the_command_is_one_line_too(folder, args, line):
    """The group's own mistakes printed the usage block and a 'Try' line around the error."""
    assert one_line(invoke(*args), 2) == line


def test_a_group_alone_shows_its_help_not_an_error(folder):
    """`keitrucks track` printed its whole help after "Error: "."""
    result = invoke("track")
    assert result.exit_code == 2
    assert re.match(r"Usage: \S+ track \[OPTIONS\] COMMAND", result.stderr), result.stderr
    assert "Error" not in result.stderr


@pytest.mark.parametrize("command", ["nightly", "crawl", "report", "alerts"])
def test_every_dated_command_says_as_of_date_in_its_help(command):
    result = invoke(command, "--help")
    assert re.search(r"--as-of DATE\s+.*YYYY-MM-DD", " ".join(result.output.split()))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-24", "2026-11-24T06:00:00+00:00"),
        ("2026-11-24T08:30:00Z", "2026-11-24T08:30:00+00:00"),
        ("2026-11-24T08:30:00-05:00", "2026-11-24T13:30:00+00:00"),
        ("today", "2026-03-01T06:00:00+00:00"),
        ("Yesterday", "2026-02-28T06:00:00+00:00"),
    ],
)
def test_dates_parse_in_one_place(value, expected):
    assert normalize_as_of(value, today=dt.date(2026, 3, 1)) == expected


def test_binary_stdin_to_normalize_is_one_line(folder):
    line = one_line(invoke("normalize", stdin=b"\xff\xfe\x00\x81 not text\n"), 2)
    assert line == "Error: stdin: input is not UTF-8 text (byte 0xff at offset 0)"


@pytest.fixture
def read_only(folder, monkeypatch) -> Path:
    """A folder nothing may be created in (as root, chmod alone would not stop a write)."""
    locked = folder / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if locked in self.absolute().parents:
            raise PermissionError(13, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    yield locked
    locked.chmod(0o755)


def test_report_into_a_read_only_folder_is_one_line(folder, read_only):
    build_market(folder / "m.db", until="2026-11-02")
    args = ["report", "--db", "m.db", "--out", "locked/reports", "--as-of", "2026-11-02"]
    line = one_line(invoke(*args), 2)
    assert line.startswith("Error: Permission denied: ")
    assert "locked/reports" in line


def test_alerts_digest_into_a_read_only_folder_is_one_line(folder, read_only):
    build_market(folder / "m.db", until="2026-11-02")
    args = ["alerts", "--db", "m.db", "--digest-dir", "locked/digests", "--as-of", "2026-11-02"]
    line = one_line(invoke(*args), 2)
    assert line.startswith("Error: Permission denied: ")


def test_an_unexpected_error_is_one_line_and_v_shows_the_traceback(folder, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("keitrucks.core.paths.locations", broken)
    line = one_line(invoke("paths"), 1)
    assert line == f"Error: unexpected RuntimeError: a bug ({UNEXPECTED_HINT})"
    verbose = invoke("-v", "paths")
    assert verbose.exit_code == 1
    assert "Traceback" in verbose.stderr
    assert verbose.stderr.rstrip().endswith(f"({UNEXPECTED_HINT})")


def test_the_readme_lists_every_exit_code():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    for code in EXIT_CODES:
        assert re.search(rf"^\| {code} \|", section, re.MULTILINE), code


def test_the_demo_replaces_only_its_own_database(folder):
    with pytest.raises(NotADemoDatabaseError, match="bad.db was not created by the demo"):
        check_replaceable(folder / "bad.db")
    check_replaceable(folder / "bad.db", force=True)
    check_replaceable(folder / "absent.db")
    mine = folder / "mine.db"
    _mark_as_demo(mine)
    check_replaceable(mine)
    other = folder / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(NotADemoDatabaseError):
        check_replaceable(other)


def test_demo_refuses_a_database_it_did_not_create(folder):
    line = one_line(invoke("demo", "--db", "bad.db", "--out", "reports"), 2)
    assert "--force" in line
    assert (folder / "bad.db").read_bytes() == NOT_SQLITE
    assert not (folder / "reports").exists()


def test_serve_says_a_busy_port_before_announcing_a_url(folder, monkeypatch):
    build_market(folder / "m.db", until="2026-11-02")
    monkeypatch.setattr("analysis.serve.serve", lambda *a, **k: pytest.fail("served"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke("serve", "--db", "m.db", "--port", str(port))
    line = one_line(result, 2)
    assert line == f"Error: port {port} on 127.0.0.1 is already in use: pick another with --port"
    assert "http://" not in result.output


@pytest.mark.parametrize("args", [["rules"], ["paths"]])
def test_output_whose_reader_left_ends_quietly(tmp_path, args):
    """`keitrucks rules | head -1` said "Error: Broken pipe" and exited 2 (a usage error)."""
    import subprocess
    import sys

    script = Path(sys.executable).with_name("keitrucks")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "keitrucks.cli"]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KEITRUCKS_")}
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line is written
    try:
        result = subprocess.run(
            [*command, *args], cwd=tmp_path, env=environ, stdout=write, stderr=subprocess.PIPE
        )
    finally:
        os.close(write)
    assert result.stderr.decode() == ""
    assert result.returncode == 1


JAPANESE = '{"title": "スズキ キャリイ 4WD 1995", "source": "x", "listing_id": "1"}\n'


@pytest.mark.parametrize("charset", ["utf-8", "latin-1", "cp1252"])
def test_json_lines_are_utf8_whatever_the_locale(charset):
    """Under a Latin-1 locale, normalize read "スズキ" as mojibake: no make, no model."""
    result = CliRunner(charset=charset).invoke(
        cli, ["normalize"], obj={}, input=JAPANESE.encode("utf-8"), catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout_bytes.decode("utf-8"))
    assert (record["title"], record["make"], record["model"]) == (
        "スズキ キャリイ 4WD 1995",
        "Suzuki",
        "Suzuki Carry",
    )


@pytest.mark.parametrize(
    ("encoding", "written"),
    [("latin-1", b"\xa5 ? ???"), ("cp1252", b"\xa5 ? ???"), ("utf-8", "¥ ≈ スズキ".encode())],
)
def test_text_the_locale_cannot_show_is_replaced_not_an_error(encoding, written):
    """`appraise` under a Latin-1 locale ended in 'unexpected UnicodeEncodeError' on its '≈'."""
    stream = io.TextIOWrapper(io.BytesIO(), encoding=encoding)
    never_unencodable(stream)
    stream.write("¥ ≈ スズキ")
    stream.flush()
    assert stream.buffer.getvalue() == written


def test_the_console_script_prints_under_a_latin1_locale(tmp_path):
    import subprocess
    import sys

    script = Path(sys.executable).with_name("keitrucks")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "keitrucks.cli"]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KEITRUCKS_")}
    args = ["track", "add", "https://example.com/1", "--price", "5000", "--db", "k.db"]
    result = subprocess.run(
        [*command, *args, "--text", "1996 スズキ キャリイ 4WD"],
        cwd=tmp_path,
        env=environ | {"PYTHONIOENCODING": "latin-1"},
        capture_output=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"tracking '1996 ??? ???? 4WD'")


@pytest.mark.slow
def test_ctrl_c_during_the_demo_stops_with_one_line(tmp_path):
    """Ctrl-C reaches the whole process group, the crawls too, as in a terminal."""
    import signal
    import subprocess
    import sys
    import time

    script = Path(sys.executable).with_name("keitrucks")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "keitrucks.cli"]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KEITRUCKS_")}
    proc = subprocess.Popen(
        [*command, "demo", "--db", "d.db", "--out", "reports"],
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    first = proc.stdout.readline()  # the sample marketplace is up: crawls start now
    assert first.startswith("Sample marketplace on ")
    time.sleep(2)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err == "interrupted: stopping crawls\n"
    assert "did not start" not in out
