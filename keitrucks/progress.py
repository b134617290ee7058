"""Progress on a terminal: live per-source counts while a night crawls, bars for long work.

Shown only to a person watching: when both stdout and stderr are a terminal (not in cron, not
piped, not redirected to a file) and ``TERM`` is not ``dumb`` (:func:`wants_progress`). Drawn
with rich on stderr and cleared when done, so what stays on the screen is the same as without
a terminal: one line per source, the command's own lines.

- :class:`CrawlBoard`: one live row per running crawl ("craigslist  12 pages, 40 listings"),
  fed by ``keitrucks.night.crawl_sources(on_counts=board.update)``; its ``echo`` prints a line
  above the rows.
- :func:`progress_bar`: a bar for work of known size (``renormalize``, ``report``).

Disabled, both do nothing and ``echo`` is ``click.echo``: the logic stays testable without a
terminal (a fake TTY stream turns them on).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

import click

#: Counts of a running crawl (``scrapers.progress.COUNTS``) shown in its row, with their words.
SHOWN_COUNTS = (("pages", "page", "pages"), ("items", "listing", "listings"))
#: Counts shown only when not zero.
PROBLEM_COUNTS = (("errors", "error", "errors"),)


def wants_progress(
    *streams: Any, quiet: bool = False, environ: Mapping[str, str] | None = None
) -> bool:
    """Whether to draw progress: not ``quiet``, every stream (default stdout and stderr) a
    terminal, and a terminal that can redraw (``TERM`` not ``dumb``)."""
    if quiet:
        return False
    environ = os.environ if environ is None else environ
    if environ.get("TERM") == "dumb":
        return False
    for stream in streams or (sys.stdout, sys.stderr):
        try:
            if stream is None or not stream.isatty():
                return False
        except (AttributeError, ValueError):  # no isatty, or a closed stream
            return False
    return True


def counts_text(counts: Mapping[str, Any] | None) -> str:
    """ "12 pages, 40 listings" (and ", 2 errors" when there are some); "starting" before the
    crawl wrote any count."""
    if not counts:
        return "starting"
    parts = []
    for key, one, many in SHOWN_COUNTS:
        n = int(counts.get(key) or 0)
        parts.append(f"{n} {one if n == 1 else many}")
    for key, one, many in PROBLEM_COUNTS:
        n = int(counts.get(key) or 0)
        if n:
            parts.append(f"{n} {one if n == 1 else many}")
    return ", ".join(parts)


def _console(stream: TextIO | None):
    from rich.console import Console

    return Console(file=stream or sys.stderr, highlight=False)


@contextmanager
def _logging_through(console) -> Iterator[None]:
    """While live rows are drawn, log lines to the terminal go through rich's redirected
    stderr (above the rows) instead of writing over them."""
    moved = []
    for handler in logging.getLogger().handlers:
        if type(handler) is logging.StreamHandler and handler.stream in (
            sys.__stderr__,
            console.file,
        ):
            moved.append((handler, handler.setStream(sys.stderr)))
    try:
        yield
    finally:
        for handler, old in moved:
            handler.setStream(old)


class CrawlBoard:
    """Live rows of the running crawls, one per source, while ``enabled``; else nothing."""

    def __init__(self, enabled: bool, stream: TextIO | None = None) -> None:
        self.enabled = enabled
        self.stream = stream
        #: source -> its last counts (None: started, no count yet), the sources running now.
        self.rows: dict[str, Mapping[str, Any] | None] = {}
        self._lock = threading.Lock()
        self._progress = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> CrawlBoard:
        if self.enabled:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("crawl {task.fields[source]:<14}"),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=_console(self.stream),
                transient=True,
            )
            self._progress.start()
            self._logs = _logging_through(self._progress.console)
            self._logs.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._logs.__exit__(*exc)
            self._progress.stop()
            self._progress = None

    @property
    def on_counts(self):
        """``update`` while the rows are drawn, else None: an unwatched crawl writes no counts."""
        return self.update if self.enabled else None

    def update(self, source: str, counts: Mapping[str, Any] | None) -> None:
        """A source's latest counts (``{}`` when it starts); ``None`` when it ended."""
        with self._lock:
            if counts is None:
                self.rows.pop(source, None)
                task = self._tasks.pop(source, None)
                if task is not None and self._progress is not None:
                    self._progress.remove_task(task)
                return
            self.rows[source] = counts or None
            if self._progress is None:
                return
            text = counts_text(counts)
            if source in self._tasks:
                self._progress.update(self._tasks[source], description=text)
            else:
                self._tasks[source] = self._progress.add_task(text, total=None, source=source)

    def echo(self, line: str, err: bool = False) -> None:
        """Print a line on stdout (``err``: stderr); above the rows while they are drawn, on
        the terminal they share."""
        if self._progress is not None:
            self._progress.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            click.echo(line, err=err)

    def say(self, line: str) -> None:
        """Print a line on stderr (Ctrl-C's "interrupted"), above the rows while drawn."""
        self.echo(line, err=True)


@contextmanager
def progress_bar(
    enabled: bool, total: int, label: str, stream: TextIO | None = None
) -> Iterator[Callable[..., None]]:
    """A bar for ``total`` units of work, while ``enabled``. Yields ``update(done, what=None)``
    (``what`` replaces the label: the step under way)."""
    if not enabled:
        yield lambda done, what=None: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=_console(stream),
        transient=True,
    )
    task = progress.add_task(label, total=total)

    def update(done: int, what: str | None = None) -> None:
        progress.update(task, completed=done, description=what or label)

    with progress:
        yield update
