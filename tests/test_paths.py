"""Default locations: $KEITRUCKS_HOME, else data/ in a checkout, else the user's data folder."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import platformdirs
import pytest
from click.testing import CliRunner

from keitrucks.core import paths


def _checkout(folder: Path) -> Path:
    (folder / "keitrucks").mkdir(parents=True)
    (folder / "scrapy.cfg").write_text("[settings]\ndefault = scrapers.settings\n")
    return folder


def test_a_checkout_keeps_the_readme_paths(tmp_path):
    where = paths.locations({}, _checkout(tmp_path))
    assert str(where["database"]) == "data/keitrucks.db"
    assert str(where["demo database"]) == "data/demo.db"
    assert str(where["reports"]) == "data/reports"
    assert str(where["demo reports"]) == "data/reports/demo"


def test_elsewhere_everything_goes_to_the_users_data_folder(tmp_path):
    where = paths.locations({}, tmp_path)
    data_dir = Path(platformdirs.user_data_dir("keitrucks", appauthor=False))
    assert where["database"] == data_dir / "keitrucks.db"
    assert where["logs"] == data_dir / "logs"
    assert where["jobstore"] == data_dir / "scheduler.sqlite"
    assert all(p.is_absolute() for p in where.values())


@pytest.mark.parametrize("checkout", [True, False])
def test_keitrucks_home_puts_everything_in_one_folder(tmp_path, checkout):
    cwd = _checkout(tmp_path / "repo") if checkout else tmp_path
    where = paths.locations({"KEITRUCKS_HOME": str(tmp_path / "home")}, cwd)
    assert {p.relative_to(tmp_path / "home").as_posix() for p in where.values()} == set(
        paths.LAYOUT.values()
    )


@pytest.mark.parametrize(
    "files",
    [["scrapy.cfg"], ["keitrucks/"], []],
    ids=["only scrapy.cfg", "only keitrucks/", "empty"],
)
def test_a_checkout_needs_both_markers(tmp_path, files):
    for name in files:
        if name.endswith("/"):
            (tmp_path / name).mkdir()
        else:
            (tmp_path / name).write_text("")
    assert not paths.is_checkout(tmp_path)
    assert paths.home({}, tmp_path) != paths.CHECKOUT_HOME


def test_the_config_comes_from_the_environment_or_nowhere(tmp_path):
    assert paths.config_file({}) is None
    assert paths.config_file({"KEITRUCKS_CONFIG": "k.toml"}) == Path("k.toml")


def test_the_example_config_ships_in_the_package():
    assert paths.EXAMPLE_CONFIG.is_file()
    assert paths.EXAMPLE_CONFIG.parent.name == "keitrucks"


def test_paths_command_prints_one_location_per_line(tmp_path, monkeypatch):
    from keitrucks.cli import cli

    monkeypatch.setenv("KEITRUCKS_HOME", str(tmp_path))
    monkeypatch.delenv("KEITRUCKS_CONFIG", raising=False)
    result = CliRunner().invoke(cli, ["paths"], obj={})
    assert result.exit_code == 0, result.output
    lines = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in result.output.splitlines())
    assert lines["database"] == str(tmp_path / "keitrucks.db")
    assert lines["reports"] == str(tmp_path / "reports")
    assert lines["logs"] == str(tmp_path / "logs")
    assert lines["config"] == "(built-in defaults)"


def test_version_option():
    from keitrucks.cli import cli

    result = CliRunner().invoke(cli, ["--version"], obj={}, prog_name="keitrucks")
    assert result.exit_code == 0
    assert result.output == f"keitrucks, version {version('keitrucks')}\n"
