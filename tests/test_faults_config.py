"""A wrong configuration gives one clear line and a non-zero exit from ``keitrucks``, never a
traceback, and never after a night of crawling that a check at start would have saved.

Most cases call the click group in process (``CliRunner``, from a directory that is not the
project). Where the console script itself matters (its exit path, log lines of libraries, the
crawl subprocesses) it runs as a user runs it: a subprocess, with no network (a proxy on a closed
local port makes every request fail at once).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from keitrucks.cli import cli
from keitrucks.sample.catalog import NIGHTS
from tests.conftest import refused_port, rows

pytestmark = pytest.mark.slow

SCRIPT = Path(sys.executable).with_name("keitrucks")
COMMAND = (
    [str(SCRIPT)]
    if SCRIPT.exists()
    else [sys.executable, "-c", "from keitrucks.cli import main; main()"]
)
PROXY_VARIABLES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")


def keitrucks(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The console script, offline: through a proxy on a local port that refuses."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KEITRUCKS_")}
    with refused_port() as port:
        offline = {var: f"http://127.0.0.1:{port}" for var in PROXY_VARIABLES}
        environ.update(offline | {"KEITRUCKS_DOWNLOAD_DELAY": "0"} | (env or {}))
        return subprocess.run(
            [*COMMAND, *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=120
        )


def one_clear_line(result: subprocess.CompletedProcess) -> str:
    """The single line the user reads; fails on a traceback or on extra noise."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


def invoke(*args: str, env: dict | None = None):
    """The ``keitrucks`` group in process; an escaping exception fails the test (a traceback)."""
    environ = {k: None for k in os.environ if k.startswith("KEITRUCKS_")} | (env or {})
    result = CliRunner().invoke(cli, list(args), obj={}, env=environ, catch_exceptions=False)
    result.returncode = result.exit_code
    return result


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    """A working directory outside the project, as under cron."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(folder: Path, name: str, text: str | bytes) -> str:
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return name


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "Error: configuration file not found: "),
        ("[band\nlow = 1", "Error: bad TOML in "),
        (b"\xff\xfe[band]\x00", "Error: bad TOML in "),
        (
            "[sources.myspace]\nenabled = true\n",
            "Error: k.toml:1: [sources] myspace: unknown source",
        ),
        ("[band]\nlow = 9000\nhigh = 100\n", "Error: k.toml:1: [band] needs numbers low < high"),
        (
            "[band]\nhihg = 12000\n",
            "Error: k.toml:2: [band] hihg: unknown key; did you mean 'high'?",
        ),
        ("[alert]\ndaily_cap = 3\n", "Error: k.toml:1: [alert]: unknown section; did you mean"),
        (
            "[sources.craigslist]\nenabeld = false\n",
            "Error: k.toml:2: [sources.craigslist] enabeld: unknown key; did you mean 'enabled'?",
        ),
    ],
    ids=[
        "missing-file",
        "bad-toml",
        "not-utf8",
        "unknown-source",
        "inverted-band",
        "misspelt-key",
        "unknown-section",
        "misspelt-source-key",
    ],
)
def test_a_bad_configuration_file_is_one_line_before_any_work(folder, content, message):
    name = "missing.toml" if content is None else write(folder, "k.toml", content)
    result = invoke("--config", name, "nightly", "--db", "k.db")
    assert one_clear_line(result).startswith(message)
    assert result.exit_code == 3  # bad configuration (README, "Exit codes")
    assert not (folder / "k.db").exists()


@pytest.mark.parametrize("command", ["crawl", "report", "alerts", "demo"])
def test_every_command_checks_the_configuration_first(folder, command):
    """The group reads the file before any command runs (the KEITRUCKS_CONFIG way too)."""
    result = invoke(command, "--db", "k.db", env={"KEITRUCKS_CONFIG": "nope.toml"})
    assert one_clear_line(result).startswith("Error: configuration file not found: nope.toml")
    assert not (folder / "k.db").exists()


def test_the_console_script_says_it_in_one_line_too(folder):
    result = keitrucks(folder, "--config", "missing.toml", "nightly", "--db", "k.db")
    assert one_clear_line(result) == "Error: configuration file not found: missing.toml"
    assert result.returncode == 3  # bad configuration


def test_an_unknown_source_on_the_command_line_is_a_usage_error(folder):
    result = invoke("crawl", "--db", "k.db", "--source", "myspace")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "Error: Invalid value for '--source': 'myspace' is not one of" in result.stderr
    assert not (folder / "k.db").exists()


BAD_APPRISE = '[notify]\nurls = ["notaservice://abc/def"]\n'
BAD_ALERTS = '[alerts]\nunderpriced_pct = "lots"\n'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            BAD_APPRISE,
            "Error: notification URL #1 (notaservice://...) is not a URL Apprise",
            id="bad-apprise-url",
        ),
        pytest.param(
            BAD_ALERTS,
            "Error: k.toml:2: [alerts] underpriced_pct: must be a number, not 'lots'",
            id="bad-alert-rule",
        ),
    ],
)
def test_bad_alert_settings_are_one_line_for_the_alerts_command(folder, content, message):
    """As the console script prints it: Apprise's own log lines would show here."""
    write(folder, "k.toml", content)
    result = keitrucks(folder, "--config", "k.toml", "alerts", "--db", "k.db", "--as-of", NIGHTS[0])
    assert one_clear_line(result).startswith(message)


@pytest.mark.parametrize(
    "content", [BAD_APPRISE, BAD_ALERTS], ids=["bad-apprise-url", "bad-alert-rule"]
)
def test_bad_alert_settings_stop_nightly_before_any_crawl(folder, content):
    write(folder, "k.toml", content)
    result = keitrucks(
        folder,
        "--config",
        str(folder / "k.toml"),
        "nightly",
        "--db",
        str(folder / "k.db"),
        "--source",
        "bringatrailer",
    )
    assert one_clear_line(result).startswith("Error: ")
    assert not (folder / "k.db").exists() or rows(folder / "k.db", "SELECT * FROM runs") == []


@pytest.mark.parametrize(
    "content", [BAD_APPRISE, BAD_ALERTS], ids=["bad-apprise-url", "bad-alert-rule"]
)
def test_bad_alert_settings_stop_the_demo_before_any_crawl(folder, content):
    write(folder, "k.toml", content)
    result = invoke("--config", "k.toml", "demo", "--db", "d.db", "--out", "reports")
    assert one_clear_line(result).startswith("Error: ")
    assert not (folder / "d.db").exists()
    assert not (folder / "reports").exists()


def test_relative_paths_work_from_any_directory(folder, sample_server):
    write(folder, "k.toml", "[band]\nlow = 5000\nhigh = 12000\n")
    result = keitrucks(
        folder,
        "--config",
        "k.toml",
        "crawl",
        "--db",
        "k.db",
        "--base-url",
        sample_server.base_url,
        "--as-of",
        NIGHTS[0],
        "--source",
        "bringatrailer",
        env={"no_proxy": "127.0.0.1", "NO_PROXY": "127.0.0.1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    runs = rows(folder / "k.db", "SELECT source, healthy FROM runs")
    assert runs == [{"source": "bringatrailer", "healthy": 1}]
    assert list((folder / "logs").glob("*bringatrailer.log"))
