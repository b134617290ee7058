"""Run one spider as its own process (Twisted's reactor cannot restart in one process).

``run_crawl`` starts ``python -m scrapy crawl <spider>`` with the database and the night's
settings, waits at most ``timeout`` seconds, and returns its exit code, log file and the tail
of its stderr. A crawl that runs over its time first gets SIGTERM (Scrapy then closes the
spider cleanly, so the run is recorded as not finished) and, ``kill_grace`` seconds later,
SIGKILL.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[1]

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


def crawl_command(
    spider: str,
    *,
    db: str | os.PathLike,
    base_url: str | None = None,
    as_of: str | None = None,
    settings: dict[str, str] | None = None,
    config: str | os.PathLike | None = None,
) -> list[str]:
    """The ``scrapy crawl`` command line. It runs in the project root, so the database and
    configuration paths are made absolute: relative ones are the caller's, not the project's."""
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
) -> CrawlResult:
    """Crawl ``spider`` into ``db`` in a subprocess; its log goes to ``log_path`` if given."""
    cmd = crawl_command(
        spider, db=db, base_url=base_url, as_of=as_of, settings=settings, config=config
    )
    if log_path:
        log_path = Path(log_path).resolve()  # the crawl runs in the project root
        log_path.parent.mkdir(parents=True, exist_ok=True)
        cmd += ["-s", f"LOG_FILE={log_path}"]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    if env.get("KEITRUCKS_CONFIG"):  # read by the crawl when no config is given: the same care
        env["KEITRUCKS_CONFIG"] = str(Path(env["KEITRUCKS_CONFIG"]).resolve())
    logger.debug("running %s", " ".join(cmd))
    proc = subprocess.Popen(
        cmd, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    timed_out = False
    _RUNNING.add(proc)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        logger.warning("%s: over its %ss, stopping it (pid %s)", spider, timeout, proc.pid)
        err = _stop(proc, kill_grace)
    except BaseException:  # Ctrl-C or a shutdown of the caller: never leave the crawl behind
        _stop(proc, kill_grace)
        raise
    finally:
        _RUNNING.discard(proc)
    tail = _text(err)[-4000:]
    if timed_out:
        tail = f"timed out after {timeout:g}s\n{tail}"
    return CrawlResult(spider, proc.returncode, log_path, tail, timed_out, timeout)


def _stop(proc: subprocess.Popen, grace: float) -> str:
    """SIGTERM (Scrapy closes the spider cleanly), then SIGKILL after ``grace`` seconds."""
    if grace > 0:
        if not stop_requested():  # request_stop() sent it already; a second forces Scrapy
            proc.send_signal(signal.SIGTERM)
        try:
            return _text(proc.communicate(timeout=grace)[1])
        except subprocess.TimeoutExpired:
            pass
    proc.kill()
    # communicate() keeps what it read before a timeout, so this is the whole stderr.
    return _text(proc.communicate()[1])
