"""Progress: the crawl's counts file (``scrapers.progress``), the parent's reading of it while it
waits (``keitrucks.crawl``), and what a terminal shows (``keitrucks.progress``): drawn only for
a person at a terminal, never in cron or a pipe. No terminal and no clock: fake TTY streams and
fake processes.
"""

from __future__ import annotations

import io
import logging
import subprocess

import pytest
from click.testing import CliRunner
from test_analysis_helpers import build_market

from keitrucks import crawl as crawl_module
from keitrucks.cli import cli
from keitrucks.progress import CrawlBoard, counts_text, progress_bar, wants_progress
from scrapers.progress import ProgressFile, progress_counts, read_progress, write_progress


class Tty(io.StringIO):
    """A terminal as far as anyone asks."""

    def isatty(self) -> bool:
        return True


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


class Closed:
    def isatty(self) -> bool:
        raise ValueError("I/O operation on closed file")


# -- when to draw -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("streams", "quiet", "term", "drawn"),
    [
        ((Tty(), Tty()), False, "xterm", True),
        ((Tty(), Tty()), False, None, True),
        ((Tty(), Pipe()), False, "xterm", False),  # 2>log
        ((Pipe(), Tty()), False, "xterm", False),  # > log, or | less
        ((Pipe(), Pipe()), False, None, False),  # cron
        ((Tty(), Tty()), True, "xterm", False),  # --quiet
        ((Tty(), Tty()), False, "dumb", False),  # Emacs shell, some CI logs
        ((Tty(), None), False, "xterm", False),  # pythonw: no stderr
        ((Tty(), Closed()), False, "xterm", False),
        ((Tty(), object()), False, "xterm", False),  # no isatty at all
    ],
    ids=[
        "terminal",
        "terminal-no-term",
        "stderr-to-file",
        "stdout-to-file",
        "cron",
        "quiet",
        "dumb",
        "no-stderr",
        "closed",
        "no-isatty",
    ],
)
def test_progress_is_drawn_only_for_a_person_at_a_terminal(streams, quiet, term, drawn):
    environ = {} if term is None else {"TERM": term}
    assert wants_progress(*streams, quiet=quiet, environ=environ) is drawn


@pytest.mark.parametrize(
    ("counts", "text"),
    [
        (None, "starting"),
        ({}, "starting"),
        ({"pages": 0, "items": 0}, "0 pages, 0 listings"),
        ({"pages": 1, "items": 1, "errors": 0}, "1 page, 1 listing"),
        ({"pages": 12, "items": 40, "dropped": 3}, "12 pages, 40 listings"),
        ({"pages": 7, "items": 0, "errors": 2}, "7 pages, 0 listings, 2 errors"),
        ({"pages": 7, "items": 5, "errors": 1}, "7 pages, 5 listings, 1 error"),
    ],
)
def test_counts_text(counts, text):
    assert counts_text(counts) == text


# -- the crawl's side: the counts file ----------------------------------------------------------


@pytest.mark.parametrize(
    ("stats", "finished", "expected"),
    [
        ({}, False, {"pages": 0, "items": 0, "dropped": 0, "errors": 0, "finished": False}),
        (
            {
                "response_received_count": 12,
                "item_scraped_count": 40,
                "item_dropped_count": 3,
                "log_count/ERROR": 1,
                "downloader/request_count": 14,
            },
            True,
            {"pages": 12, "items": 40, "dropped": 3, "errors": 1, "finished": True},
        ),
        ({"item_scraped_count": None}, False, {"pages": 0, "items": 0, "dropped": 0, "errors": 0}),
    ],
)
def test_progress_counts_read_the_crawl_stats(stats, finished, expected):
    assert progress_counts(stats, finished=finished) == {"finished": finished, **expected}


def test_the_counts_file_is_replaced_whole_and_read_back(tmp_path):
    path = tmp_path / "progress.json"
    assert read_progress(path) is None
    write_progress(path, {"pages": 1, "items": 2})
    write_progress(path, {"pages": 3, "items": 4})
    assert read_progress(path) == {"pages": 3, "items": 4}
    assert [p.name for p in tmp_path.iterdir()] == ["progress.json"]  # no temporary left over


@pytest.mark.parametrize("body", ["", '{"pages": 3', "[1, 2]", "\xff"])
def test_a_bad_counts_file_reads_as_no_counts(tmp_path, body):
    path = tmp_path / "progress.json"
    path.write_text(body, encoding="latin-1")
    assert read_progress(path) is None


class FakeStats:
    def __init__(self) -> None:
        self.values: dict = {}

    def get_stats(self) -> dict:
        return dict(self.values)


def test_the_extension_writes_only_changes_and_says_when_it_finished(tmp_path, monkeypatch):
    path = tmp_path / "progress.json"
    stats = FakeStats()
    extension = ProgressFile(stats, path)
    writes = []
    real = write_progress

    def counting(p, counts):
        writes.append(counts)
        real(p, counts)

    monkeypatch.setattr("scrapers.progress.write_progress", counting)
    extension.write()
    extension.write()  # nothing changed: nothing written
    stats.values["response_received_count"] = 2
    extension.write()
    stats.values["item_scraped_count"] = 5
    extension.write(finished=True)
    assert [(w["pages"], w["items"], w["finished"]) for w in writes] == [
        (0, 0, False),
        (2, 0, False),
        (2, 5, True),
    ]
    assert read_progress(path) == writes[-1]


def test_the_extension_never_stops_a_crawl_it_cannot_write_for(tmp_path):
    extension = ProgressFile(FakeStats(), tmp_path / "missing-folder" / "progress.json")
    extension.write()
    assert extension.last is None


# -- the parent's side: reading while it waits ---------------------------------------------------


class FakeProc:
    """``communicate`` times out ``waits`` times, each after the crawl wrote new counts."""

    def __init__(self, path, counts: list[dict]) -> None:
        self.path = path
        self.counts = list(counts)
        self.timeouts: list[float | None] = []

    def communicate(self, timeout=None):
        self.timeouts.append(timeout)
        if self.counts:
            write_progress(self.path, self.counts.pop(0))
            if self.counts:
                raise subprocess.TimeoutExpired("scrapy", timeout)
        return b"out", b"err"


def test_the_parent_passes_on_each_change_of_the_counts_while_it_waits(tmp_path):
    path = tmp_path / "progress.json"
    seen = []
    watch = crawl_module.ProgressWatch(path, seen.append, interval=0.5)
    a, b = {"pages": 1, "items": 0}, {"pages": 4, "items": 9, "finished": True}
    proc = FakeProc(path, [a, a, b])
    assert crawl_module._communicate(proc, None, watch) == (b"out", b"err")
    assert seen == [a, b]  # the repeat is not passed on
    assert proc.timeouts == [0.5, 0.5, 0.5]


def test_a_crawl_over_its_time_still_times_out_while_watched(tmp_path):
    path = tmp_path / "progress.json"
    seen = []
    watch = crawl_module.ProgressWatch(path, seen.append, interval=0.5)
    proc = FakeProc(path, [{"pages": 1}, {"pages": 2}])
    with pytest.raises(subprocess.TimeoutExpired):
        crawl_module._communicate(proc, 0, watch)
    assert proc.timeouts == [0]
    assert seen == [{"pages": 1}]


def test_a_broken_display_does_not_stop_the_wait(tmp_path):
    path = tmp_path / "progress.json"

    def broken(counts):
        raise RuntimeError("display")

    watch = crawl_module.ProgressWatch(path, broken, interval=1)
    write_progress(path, {"pages": 1})
    watch.poll()
    assert watch.last == {"pages": 1}


# -- what the terminal shows ---------------------------------------------------------------------


def test_a_disabled_board_draws_nothing_and_echoes_plainly(capsys):
    with CrawlBoard(False) as board:
        assert board.on_counts is None  # an unwatched crawl writes no counts file
        board.update("craigslist", {})
        board.update("craigslist", {"pages": 3, "items": 2})
        board.echo("crawl craigslist     ok   2 listings")
        assert board.rows == {"craigslist": {"pages": 3, "items": 2}}
        board.update("craigslist", None)
        assert board.rows == {}
    captured = capsys.readouterr()
    assert captured.out == "crawl craigslist     ok   2 listings\n"
    assert captured.err == ""


def test_a_board_on_a_terminal_shows_each_running_source_and_prints_lines_above(capsys):
    screen = Tty()
    with CrawlBoard(True, stream=screen) as board:
        assert board.on_counts == board.update
        board.update("craigslist", {})
        board.update("beforward", {})
        assert board.rows == {"craigslist": None, "beforward": None}
        board.update("craigslist", {"pages": 12, "items": 40})
        board.update("beforward", {"pages": 3, "items": 1, "errors": 2})
        board.update("beforward", None)
        board.echo("crawl beforward      FAIL failed: ...")
        assert list(board.rows) == ["craigslist"]
    text = screen.getvalue()
    assert "crawl craigslist     12 pages, 40 listings" in text
    assert "crawl beforward      FAIL failed: ..." in text
    assert capsys.readouterr().out == ""  # everything went to the terminal's stream


def test_log_lines_go_above_the_board_and_back_after(capsys):
    screen = Tty()
    root = logging.getLogger()
    handler = logging.StreamHandler(screen)
    root.addHandler(handler)
    try:
        with CrawlBoard(True, stream=screen):
            assert handler.stream is not screen  # through rich, above the rows
        assert handler.stream is screen
    finally:
        root.removeHandler(handler)


def test_a_bar_on_a_terminal_ends_at_its_total():
    screen = Tty()
    with progress_bar(True, 3, "renormalizing", stream=screen) as update:
        update(1)
        update(3, "renormalizing (done)")
    assert "3/3" in screen.getvalue()
    assert "renormalizing (done)" in screen.getvalue()


def test_a_disabled_bar_is_silent(capsys):
    with progress_bar(False, 3, "renormalizing") as update:
        update(2, "step")
    assert capsys.readouterr() == ("", "")


# -- the commands, away from a terminal: their lines alone ---------------------------------------


def test_renormalize_and_report_print_no_bar_when_not_on_a_terminal(tmp_path):
    db = tmp_path / "m.db"
    build_market(db, until="2026-11-02")
    runner = CliRunner()
    result = runner.invoke(cli, ["renormalize", "--db", str(db)], obj={}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        line for line in result.stdout.splitlines() if line.startswith("renormalized ")
    ]
    assert result.stderr == ""
    out = tmp_path / "out"
    args = ["report", "--db", str(db), "--out", str(out), "--as-of", "2026-11-02"]
    result = runner.invoke(cli, args, obj={}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [
        "Report 2026-11-02",
        f"  {out}/2026-11-02/report.html",
    ]
    assert result.stderr == ""


def test_renormalize_draws_its_bar_on_a_terminal(tmp_path, monkeypatch):
    db = tmp_path / "m.db"
    build_market(db, until="2026-11-02")
    screen = Tty()
    monkeypatch.setattr("keitrucks.progress.wants_progress", lambda *a, **k: True)
    monkeypatch.setattr("keitrucks.progress._console", _console_on(screen))
    result = CliRunner().invoke(
        cli, ["renormalize", "--db", str(db), "--batch-size", "2"], obj={}, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    count = int(result.stdout.split()[1])
    assert count > 2
    assert f"{count}/{count}" in screen.getvalue()


def _console_on(screen):
    from rich.console import Console

    return lambda stream: Console(file=screen, highlight=False)


def test_report_steps_reach_the_bar_in_order(tmp_path):
    from analysis.report import REPORT_STEPS, write_report

    db = tmp_path / "m.db"
    build_market(db, until="2026-11-02")
    steps = []
    write_report(db, tmp_path / "out", as_of="2026-11-02", step=lambda i, name: steps.append(i))
    assert steps == list(range(len(REPORT_STEPS) + 1))
