"""Run one spider as its own process (Twisted's reactor cannot restart in one process).

``run_crawl`` starts ``python -m scrapy crawl <spider>`` with the database and the night's
settings, waits at most ``timeout`` seconds, and returns its exit code, log file and the tail
of its stderr. The crawl finds its settings through ``SCRAPY_SETTINGS_MODULE``, not a
``scrapy.cfg``, so it runs the same from a checkout or an installed copy, whatever the current
directory; a crawl that cannot start says why in one line (:func:`failure_line`). A crawl that
runs over its time first gets SIGTERM (Scrapy then closes the spider cleanly, so the run is
recorded as not finished) and, ``kill_grace`` seconds later, SIGKILL.

Progress: given ``on_progress``, the crawl writes its counts (pages, listings) to a small file
(``scrapers.progress``, on through the ``KEITRUCKS_PROGRESS_FILE`` setting) about once a
second, and ``run_crawl`` reads it while it waits and passes each change to ``on_progress``.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: Scrapy reads its settings module from here when no scrapy.cfg is in the current directory.
SETTINGS_ENV = {"SCRAPY_SETTINGS_MODULE": "scrapers.settings"}

#: Lines that say why a process could not start, in order of preference: an exception's last
#: line, Scrapy's complaint outside a project, a command-line error.
FAILURE_PATTERNS = (
    re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*"),
    re.compile(r"^Unknown command: .*"),
    re.compile(r"^(\S+: )?(error|usage error)\b.*", re.IGNORECASE),
)
#: Settings for crawling our own sample server on 127.0.0.1: politeness delays protect real
#: sites, and only slow the offline demo and tests down.
LOCAL_SETTINGS = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_DELAY_JITTER": "0",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "4",
    "RETRY_TIMES": "1",
    "DOWNLOAD_TIMEOUT": "10",
}
#: Seconds a crawl may run by default (a night's request budget at the polite delays fits).
DEFAULT_TIMEOUT = 1800
#: Seconds between SIGTERM (clean shutdown) and SIGKILL for a crawl over its time.
DEFAULT_KILL_GRACE = 30
#: Seconds between two writes of a crawl's progress file, and between two reads of it.
PROGRESS_INTERVAL = 1.0


#: Crawl processes running now, so a stopping night can stop them (see ``request_stop``).
_RUNNING: set[subprocess.Popen] = set()
_STOP = threading.Event()


def request_stop() -> None:
    """Stop the night: running crawls get SIGTERM (a clean shutdown), and none start after."""
    _STOP.set()
    for proc in list(_RUNNING):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)


def stop_requested() -> bool:
    return _STOP.is_set()


def clear_stop() -> None:
    _STOP.clear()


@dataclass
class CrawlResult:
    spider: str
    #: the exit code; negative is the signal that ended it (-9: killed).
    returncode: int
    log_path: Path | None
    stderr_tail: str
    timed_out: bool = False
    #: the timeout that was applied, in seconds.
    timeout: float | None = None
    #: the tail of its standard output (Scrapy prints some start-up errors there).
    stdout_tail: str = ""

    @property
    def reason(self) -> str:
        """Why the crawl failed, in one line (for a crawl that recorded no run). With its log
        going to a file, an error that killed the crawl is there, not on its stderr."""
        if self.stderr_tail.strip() or self.stdout_tail.strip():
            return failure_line(self.stderr_tail, self.stdout_tail, self.returncode)
        return last_error_in(self.log_path) or failure_line("", "", self.returncode)


def last_error_in(log_path: Path | None, tail_bytes: int = 16_000) -> str | None:
    """The last exception line (``pkg.SomeError: ...``) at the end of a crawl's log file."""
    try:
        with open(log_path, "rb") as f:  # type: ignore[arg-type]
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - tail_bytes))
            lines = f.read().decode(errors="replace").splitlines()
    except (OSError, TypeError):
        return None
    found = [line.strip() for line in lines if FAILURE_PATTERNS[0].match(line)]
    return found[-1] if found else None


def failure_line(stderr: str, stdout: str = "", returncode: int | None = None) -> str:
    """The one line that says why a process failed: the first that matches a
    :data:`FAILURE_PATTERNS` entry (stderr before stdout), else stderr's last line, else
    stdout's first, else "no output"."""
    streams = [stderr.strip().splitlines(), stdout.strip().splitlines()]
    for pattern in FAILURE_PATTERNS:
        for lines in streams:
            found = next((line.strip() for line in lines if pattern.match(line)), None)
            if found:
                return found
    if streams[0]:
        return streams[0][-1].strip()
    if streams[1]:
        return streams[1][0].strip()
    return "no output" if returncode is None else f"no output (exit code {returncode})"


def crawl_command(
    spider: str,
    *,
    db: str | os.PathLike,
    base_url: str | None = None,
    as_of: str | None = None,
    settings: dict[str, str] | None = None,
    config: str | os.PathLike | None = None,
) -> list[str]:
    """The ``scrapy crawl`` command line; run it with :func:`crawl_env`. The database and
    configuration paths are made absolute, so the crawl's working directory does not matter."""
    db = Path(db).resolve()
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider, "-s", f"KEITRUCKS_DB_PATH={db}"]
    if base_url:
        cmd += ["-a", f"base_url={base_url}"]
        settings = {**LOCAL_SETTINGS, **(settings or {})}
    if as_of:
        cmd += ["-a", f"as_of={as_of}"]
    if config:
        cmd += ["-s", f"KEITRUCKS_CONFIG={Path(config).resolve()}"]
    for key, value in (settings or {}).items():
        cmd += ["-s", f"{key}={value}"]
    return cmd


def crawl_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The crawl's environment: the caller's, plus the settings module, with a relative
    ``$KEITRUCKS_CONFIG`` (read by the crawl when no config is given) made absolute."""
    env = {**(os.environ if environ is None else environ), **SETTINGS_ENV}
    if env.get("KEITRUCKS_CONFIG"):
        env["KEITRUCKS_CONFIG"] = str(Path(env["KEITRUCKS_CONFIG"]).resolve())
    return env


def _text(data: bytes | str | None) -> str:
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data or ""


def run_crawl(
    spider: str,
    *,
    db: str | os.PathLike,
    base_url: str | None = None,
    as_of: str | None = None,
    settings: dict[str, str] | None = None,
    config: str | os.PathLike | None = None,
    log_path: Path | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    kill_grace: float = DEFAULT_KILL_GRACE,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    progress_interval: float = PROGRESS_INTERVAL,
) -> CrawlResult:
    """Crawl ``spider`` into ``db`` in a subprocess; its log goes to ``log_path`` if given.

    ``on_progress(counts)`` gets the crawl's counts (``scrapers.progress.progress_counts``)
    each time they change, read every ``progress_interval`` seconds while it runs."""
    if on_progress is None:
        return _run_crawl(
            spider, db, base_url, as_of, settings, config, log_path, timeout, kill_grace, None
        )
    with tempfile.TemporaryDirectory(prefix="keitrucks-progress-") as folder:
        watch = ProgressWatch(Path(folder) / "progress.json", on_progress, progress_interval)
        settings = {
            **(settings or {}),
            "KEITRUCKS_PROGRESS_FILE": str(watch.path),
            "KEITRUCKS_PROGRESS_INTERVAL": f"{progress_interval:g}",
        }
        return _run_crawl(
            spider, db, base_url, as_of, settings, config, log_path, timeout, kill_grace, watch
        )


class ProgressWatch:
    """Reads a crawl's progress file and passes each change of its counts on."""

    def __init__(
        self, path: Path, on_progress: Callable[[dict[str, Any]], None], interval: float
    ) -> None:
        self.path = path
        self.on_progress = on_progress
        self.interval = interval
        self.last: dict[str, Any] | None = None

    def poll(self) -> None:
        from scrapers.progress import read_progress

        counts = read_progress(self.path)
        if counts is None or counts == self.last:
            return
        self.last = counts
        try:
            self.on_progress(counts)
        except Exception:  # a display's fault must not stop waiting for the crawl
            logger.debug("progress display failed", exc_info=True)


def _communicate(
    proc: subprocess.Popen, timeout: float | None, watch: ProgressWatch | None
) -> tuple[bytes, bytes]:
    """``proc.communicate(timeout)``, reading ``watch`` every ``watch.interval`` seconds
    meanwhile (communicate keeps what it read when it times out, so nothing is lost)."""
    if watch is None:
        return proc.communicate(timeout=timeout)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            out = proc.communicate(
                timeout=watch.interval if left is None else min(watch.interval, left)
            )
        except subprocess.TimeoutExpired:
            watch.poll()
            if left is not None and left <= watch.interval:
                raise
            continue
        watch.poll()
        return out


def _run_crawl(
    spider, db, base_url, as_of, settings, config, log_path, timeout, kill_grace, watch
) -> CrawlResult:
    cmd = crawl_command(
        spider, db=db, base_url=base_url, as_of=as_of, settings=settings, config=config
    )
    if log_path:
        log_path = Path(log_path).resolve()
        log_path.parent.mkdir(parents=True, exist_ok=True)
        cmd += ["-s", f"LOG_FILE={log_path}"]
    logger.debug("running %s", " ".join(cmd))
    # the caller's working directory: the settings come from the environment, paths are absolute
    proc = subprocess.Popen(cmd, env=crawl_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    timed_out = False
    _RUNNING.add(proc)
    try:
        out, err = _communicate(proc, timeout, watch)
    except subprocess.TimeoutExpired:
        timed_out = True
        logger.warning("%s: over its %ss, stopping it (pid %s)", spider, timeout, proc.pid)
        out, err = _stop(proc, kill_grace)
    except BaseException:  # Ctrl-C or a shutdown of the caller: never leave the crawl behind
        _stop(proc, kill_grace)
        raise
    finally:
        _RUNNING.discard(proc)
    tail = _text(err)[-4000:]
    if timed_out:
        tail = f"timed out after {timeout:g}s\n{tail}"
    return CrawlResult(
        spider, proc.returncode, log_path, tail, timed_out, timeout, _text(out)[-4000:]
    )


def _stop(proc: subprocess.Popen, grace: float) -> tuple[bytes, bytes]:
    """SIGTERM (Scrapy closes the spider cleanly), then SIGKILL after ``grace`` seconds."""
    if grace > 0:
        if not stop_requested():  # request_stop() sent it already; a second forces Scrapy
            proc.send_signal(signal.SIGTERM)
        try:
            return proc.communicate(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    proc.kill()
    # communicate() keeps what it read before a timeout, so this is the whole output.
    return proc.communicate()
