"""Run one spider as its own process (Twisted's reactor cannot restart in one process)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
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


@dataclass
class CrawlResult:
    spider: str
    returncode: int
    log_path: Path | None
    stderr_tail: str


def crawl_command(
    spider: str,
    *,
    db: str | os.PathLike,
    base_url: str | None = None,
    as_of: str | None = None,
    settings: dict[str, str] | None = None,
    config: str | os.PathLike | None = None,
) -> list[str]:
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider, "-s", f"KEITRUCKS_DB_PATH={db}"]
    if base_url:
        cmd += ["-a", f"base_url={base_url}"]
        settings = {**LOCAL_SETTINGS, **(settings or {})}
    if as_of:
        cmd += ["-a", f"as_of={as_of}"]
    if config:
        cmd += ["-s", f"KEITRUCKS_CONFIG={config}"]
    for key, value in (settings or {}).items():
        cmd += ["-s", f"{key}={value}"]
    return cmd


def run_crawl(
    spider: str,
    *,
    db: str | os.PathLike,
    base_url: str | None = None,
    as_of: str | None = None,
    settings: dict[str, str] | None = None,
    config: str | os.PathLike | None = None,
    log_path: Path | None = None,
    timeout: float | None = 1800,
) -> CrawlResult:
    """Crawl ``spider`` into ``db`` in a subprocess; its log goes to ``log_path`` if given."""
    cmd = crawl_command(
        spider, db=db, base_url=base_url, as_of=as_of, settings=settings, config=config
    )
    if log_path:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        cmd += ["-s", f"LOG_FILE={log_path}"]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    logger.debug("running %s", " ".join(cmd))
    try:
        proc = subprocess.run(
            cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        tail = (exc.stderr or b"")[-2000:]
        tail = tail.decode(errors="replace") if isinstance(tail, bytes) else tail
        return CrawlResult(spider, -9, log_path, f"timed out after {timeout}s\n{tail}")
    return CrawlResult(spider, proc.returncode, log_path, proc.stderr[-4000:])
