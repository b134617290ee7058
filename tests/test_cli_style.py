"""One command style: every command of the ``keitrucks`` tree (walked through click, so a command
added later is held to the same rules) has a one-line summary, help on every option, and the
shared options (``--db``, ``--config``, ``--as-of``, ``--out``) read the same everywhere: one
help text, one metavar, one error.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from keitrucks.cli import cli
from keitrucks.common_cli import SHARED_OPTIONS
from keitrucks.core.dates import as_of_error

ROOT = Path(__file__).resolve().parents[1]

#: What a shared option shows in the help's left column, whatever the command.
SHARED_DECLS = {
    "--db": "--db FILE",
    "--config": "--config FILE",
    "--as-of": "--as-of DATE",
    "--out": "--out DIRECTORY",
}


def commands(group: click.Group = cli, path: tuple[str, ...] = ()):
    """(path, command) of every command under ``group``, depth first."""
    for name in sorted(group.commands):
        command = group.commands[name]
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


COMMANDS = dict(commands())
NAMES = [" ".join(path) for path in COMMANDS]


def invoke(*args: str):
    environ = {k: None for k in os.environ if k.startswith("KEITRUCKS_")}
    return CliRunner().invoke(
        cli, list(args), obj={}, env=environ, prog_name="keitrucks", catch_exceptions=False
    )


def context_of(path: tuple[str, ...]) -> click.Context:
    ctx = click.Context(cli, info_name="keitrucks", obj={})
    command: click.Command = cli
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
        ctx = click.Context(command, info_name=name, parent=ctx)
    return ctx


def options(command: click.Command) -> list[click.Option]:
    return [p for p in command.params if isinstance(p, click.Option) and p.name != "help"]


def shared_records() -> dict[str, set[tuple[str, str]]]:
    """Each shared flag -> the set of (left column, help without its default) seen."""
    seen: dict[str, set[tuple[str, str]]] = {flag: set() for flag in SHARED_OPTIONS}
    for path, command in [((), cli), *COMMANDS.items()]:
        ctx = context_of(path)
        for option in options(command):
            flag = next((o for o in option.opts if o in SHARED_OPTIONS), None)
            if flag:
                decl, text = option.get_help_record(ctx)
                seen[flag].add((decl, re.sub(r"\s+\[(default|env var): [^]]*\]", "", text)))
    return seen


def test_the_tree_is_walked():
    assert {"demo", "nightly", "crawl", "report", "alerts", "health", "schedule"} <= set(NAMES)


@pytest.mark.parametrize("flag", list(SHARED_OPTIONS))
def test_a_shared_option_reads_the_same_in_every_command(flag):
    records = shared_records()[flag]
    assert records == {(SHARED_DECLS[flag], SHARED_OPTIONS[flag])}


@pytest.mark.parametrize("flag", list(SHARED_OPTIONS))
def test_a_shared_option_is_made_by_its_decorator(flag):
    """A hand-made ``--db`` with the right words but another type would slip past the help
    records: the type and the envvar must be the decorator's too."""
    found = [
        option
        for _, command in [((), cli), *COMMANDS.items()]
        for option in options(command)
        if flag in option.opts
    ]
    assert len(found) >= 2, f"{flag} is shared by at least two commands"
    kinds = {(type(o.type).__name__, o.envvar, o.metavar, o.expose_value) for o in found}
    assert len(kinds) == 1, kinds


@pytest.mark.parametrize("name", NAMES)
def test_every_command_has_a_one_line_summary_and_help_on_every_option(name):
    command = COMMANDS[tuple(name.split())]
    summary = command.get_short_help_str(limit=60)
    assert summary, f"{name} has no help"
    assert not summary.endswith("..."), f"{name}: first sentence over 60 characters: {summary}"
    missing = [o.opts[0] for o in options(command) if not (o.help or "").strip()]
    assert not missing, f"{name}: options without help: {missing}"


@pytest.mark.parametrize("name", NAMES)
def test_every_command_help_runs_and_shows_the_shared_options_as_declared(name):
    result = invoke(*name.split(), "--help")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: keitrucks {name} ")
    command = COMMANDS[tuple(name.split())]
    for option in options(command):
        flag = next((o for o in option.opts if o in SHARED_DECLS), None)
        if flag:
            assert re.search(rf"^\s+{re.escape(SHARED_DECLS[flag])}\s", result.output, re.M)


#: Commands whose help still lacks an example (appraise is another branch's file).
NO_EXAMPLE_YET = {"appraise"}


@pytest.mark.parametrize("name", [n for n in NAMES if n not in NO_EXAMPLE_YET])
def test_every_command_help_shows_an_example_of_itself(name):
    """renormalize, ingest, paths and the track commands said what they do but not how."""
    output = invoke(*name.split(), "--help").output
    example = re.search(r"^  Example[^\n]*:\n((?:    .*\n)+)", output, re.M)
    assert example, f"{name}: no example in its help"
    assert re.search(rf"keitrucks {name}\b", example.group(1)), example.group(1)


def test_the_root_help_lists_every_command_untruncated():
    result = invoke("--help")
    listing = result.output.split("Commands:", 1)[1]
    for name, command in cli.commands.items():
        assert re.search(rf"^\s+{re.escape(name)}\s+\S", listing, re.M), name
        assert not command.get_short_help_str(limit=60).endswith("...")


DATED = [
    name
    for name in NAMES
    if any("--as-of" in o.opts for o in options(COMMANDS[tuple(name.split())]))
]


def test_the_dated_commands_are_found():
    assert {"nightly", "crawl", "report", "alerts", "schedule"} <= set(DATED)


@pytest.mark.parametrize("name", DATED)
def test_a_bad_as_of_is_the_same_usage_line_in_every_command(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    result = invoke(name, "--db", "k.db", "--as-of", "someday")
    assert result.exit_code == 2
    assert result.stderr == f"Error: Invalid value for '--as-of': {as_of_error('someday')}\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--config", "{cfg}", "paths"], "{cfg}"),
        (["paths", "--config", "{cfg}"], "{cfg}"),
        (["--config", "{other}", "paths", "--config", "{cfg}"], "{cfg}"),
        (["paths"], "(built-in defaults)"),
    ],
    ids=["group", "command", "command-wins", "none"],
)
def test_config_reads_the_same_before_or_after_the_command(tmp_path, args, expected):
    cfg, other = tmp_path / "my.toml", tmp_path / "other.toml"
    cfg.write_text("", encoding="utf-8")
    other.write_text("", encoding="utf-8")
    names = {"cfg": str(cfg), "other": str(other)}
    result = invoke(*[a.format(**names) for a in args])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("config "))
    assert line.split(None, 1)[1] == expected.format(**names)


def test_the_environment_config_does_not_override_a_typed_group_config(tmp_path):
    cfg, env = tmp_path / "my.toml", tmp_path / "env.toml"
    cfg.write_text("", encoding="utf-8")
    env.write_text("", encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        ["--config", str(cfg), "paths"],
        obj={},
        env={"KEITRUCKS_CONFIG": str(env)},
        catch_exceptions=False,
    )
    line = next(x for x in result.output.splitlines() if x.startswith("config "))
    assert line.split(None, 1)[1] == str(cfg)


@pytest.mark.parametrize(
    "args",
    [["rules"], ["paths"], ["track", "list"], ["track", "add", "https://e.com/1", "--price", "5"]],
    ids=["rules", "paths", "track-list", "track-add"],
)
def test_a_bad_config_after_the_command_is_a_config_error(tmp_path, args):
    """`paths --config bad.toml` listed it as the configuration and exited 0; the track
    commands had no --config at all."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[band\n", encoding="utf-8")
    result = invoke(*args, "--config", str(bad))
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: ")
    assert str(bad) in result.stderr


# -- commands a user is told to type ------------------------------------------------------------


@pytest.fixture
def bin_dir(tmp_path):
    """A checkout's .venv/bin holding the two programs the demo's hint names."""
    folder = tmp_path / "checkout" / ".venv" / "bin"
    folder.mkdir(parents=True)
    for name in ("keitrucks", "sqlite-utils"):
        (folder / name).write_text("#!/bin/sh\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("on_path", "cwd", "expected"),
    [
        ("ours", "checkout", "keitrucks"),  # activated venv, or pipx's link
        (None, "checkout", ".venv/bin/keitrucks"),  # make demo on a fresh clone
        (None, "checkout/.venv", "bin/keitrucks"),
        (None, "checkout/.venv/bin", "./keitrucks"),
        (None, "elsewhere", "{bin}/keitrucks"),  # run from another folder: absolute
        ("another", "checkout", ".venv/bin/keitrucks"),  # another keitrucks on PATH
    ],
)
def test_command_for_prints_what_runs_this_installation(tmp_path, bin_dir, on_path, cwd, expected):
    from keitrucks.common_cli import command_for

    (tmp_path / "elsewhere").mkdir()
    other = tmp_path / "other-keitrucks"
    other.write_text("", encoding="utf-8")
    found = {"ours": str(bin_dir / "keitrucks"), "another": str(other), None: None}[on_path]
    shown = command_for("keitrucks", which=lambda name: found, bin_dir=bin_dir, cwd=tmp_path / cwd)
    assert shown == expected.format(bin=bin_dir)


def test_command_for_a_program_not_installed_is_its_name(tmp_path):
    from keitrucks.common_cli import command_for

    assert command_for("sqlite-utils", which=lambda n: None, bin_dir=tmp_path) == "sqlite-utils"


def test_the_demo_ends_with_commands_that_run(tmp_path):
    from keitrucks.demo import DemoSummary

    text = DemoSummary(db=Path("data/demo.db"), out=Path("out")).text(
        1, command=lambda name: f".venv/bin/{name}"
    )
    assert ".venv/bin/keitrucks serve --db data/demo.db" in text
    assert ".venv/bin/sqlite-utils data/demo.db 'select * from for_sale limit 5' --table" in text
    assert "sqlite3" not in text


def readme_commands() -> list[str]:
    """The lines of the README's sh blocks, comments and prompts aside."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```sh\n(.*?)^```", readme, flags=re.M | re.S)
    # a command continued on the next line with a backslash is one command
    joined = [re.sub(r"\\\n\s*", " ", block) for block in blocks]
    return [line.split("  #")[0].strip() for block in joined for line in block.splitlines()]


def test_the_readme_runs_only_programs_the_project_installs():
    """A fresh machine has Python and make, not sqlite3: every program a README command runs is
    make, pipx (its own install line), git, or one the project installs into .venv/bin/."""
    lines = [line for line in readme_commands() if line]
    assert lines
    installed = Path(sys.executable).parent
    for line in lines:
        program = line.split()[0]
        if program.startswith(".venv/bin/"):
            assert (installed / program.removeprefix(".venv/bin/")).exists(), line
        else:
            assert program in {"make", "pipx", "keitrucks"}, line


def test_the_readme_says_how_to_type_keitrucks_in_a_checkout():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    fresh = re.findall(r"^```sh\n(.*?)^```", quick, flags=re.M | re.S)[0]
    assert [line.split()[:2] for line in fresh.splitlines()] == [["make", "demo"], ["make", "test"]]
    assert "`.venv/bin/keitrucks`" in quick
