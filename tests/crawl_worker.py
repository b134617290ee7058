"""Many crawls in one Scrapy process, one after the other: what makes the fault matrix cheap.

A ``scrapy crawl`` process spends most of a sample crawl starting up (Python, Scrapy, the
project's tables), so the matrix's ~90 crawls were mostly start-ups. :class:`CrawlWorker` starts
``python -m tests.crawl_worker`` once; each :meth:`CrawlWorker.crawl` sends it the very command
line ``keitrucks.crawl.crawl_command`` builds for ``run_crawl`` (its ``-s`` settings and ``-a``
spider arguments, plus the log file), and the worker runs that crawl in its reactor with a new
``Crawler`` on exactly those settings, at the ``cmdline`` priority ``scrapy crawl`` gives them:
its own downloader, middlewares, pipelines, stats, database and log file, as a process of its
own would have. Crawls never overlap, and the caller changes the sample server's faults between
them as before.

Protocol: one JSON line per crawl on stdin (``{"argv": [...]}``), one JSON line back on stdout
(``{"returncode": 0}``, or 1 with ``"error"`` when the crawl could not run: what a ``scrapy
crawl`` process's exit code says). End of stdin ends the worker.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from keitrucks.crawl import CrawlResult, crawl_command, crawl_env

ROOT = Path(__file__).resolve().parents[1]


def parse_command(argv: list[str]) -> tuple[str, dict[str, str], dict[str, str]]:
    """(spider, -s settings, -a spider arguments) of a ``scrapy crawl`` command line."""
    at = argv.index("crawl")
    spider, rest = argv[at + 1], argv[at + 2 :]
    settings: dict[str, str] = {}
    arguments: dict[str, str] = {}
    for flag, pair in zip(rest[::2], rest[1::2], strict=True):
        name, _, value = pair.partition("=")
        {"-s": settings, "-a": arguments}[flag][name] = value
    return spider, settings, arguments


class CrawlWorker:
    """One Scrapy process for many crawls; ``crawl`` has ``run_crawl``'s arguments and result.
    Use as a context manager; ``stderr_path`` receives the worker's own stderr."""

    def __init__(self, stderr_path: Path):
        self._stderr = open(stderr_path, "wb")  # noqa: SIM115 (closed in close())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.crawl_worker"],
            cwd=ROOT,
            env=crawl_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self._answers: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._answers.put(line)
        self._answers.put("")  # the worker ended

    def crawl(
        self,
        spider: str,
        *,
        db: Path,
        base_url: str | None = None,
        as_of: str | None = None,
        settings: dict[str, str] | None = None,
        config: Path | None = None,
        log_path: Path | None = None,
        timeout: float = 300,
    ) -> CrawlResult:
        argv = crawl_command(
            spider, db=db, base_url=base_url, as_of=as_of, settings=settings, config=config
        )
        if log_path:
            argv += ["-s", f"LOG_FILE={Path(log_path).resolve()}"]
        self.proc.stdin.write(json.dumps({"argv": argv}) + "\n")
        self.proc.stdin.flush()
        try:
            line = self._answers.get(timeout=timeout)
        except queue.Empty:
            self.proc.kill()
            self.close()
            raise TimeoutError(f"{spider}: the crawl took over {timeout:g}s") from None
        if not line:
            raise RuntimeError(f"the crawl worker died (exit code {self.proc.wait()})")
        answer = json.loads(line)
        return CrawlResult(spider, answer["returncode"], log_path, answer.get("error", ""))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=30)
        self.proc.stdout.close()
        self._stderr.close()

    def __enter__(self) -> CrawlWorker:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# -- the worker process -------------------------------------------------------------------------


def main() -> None:
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever else prints goes to stderr, never into the answers
    sys.stdout = sys.stderr

    from scrapy.crawler import Crawler, CrawlerProcess
    from scrapy.utils.log import install_scrapy_root_handler
    from scrapy.utils.project import get_project_settings
    from scrapy.utils.reactor import install_reactor

    base = get_project_settings()
    # the process ``scrapy crawl`` runs: its reactor, DNS resolver and thread pool (start())
    process = CrawlerProcess(base, install_root_handler=False)
    install_reactor(base["TWISTED_REACTOR"])  # what its first crawler would do
    from twisted.internet import reactor, threads

    def crawl(request: dict[str, Any]):
        spider, overrides, arguments = parse_command(request["argv"])
        settings = base.copy()
        settings.setdict(overrides, priority="cmdline")
        crawler = Crawler(process.spider_loader.load(spider), settings)
        install_scrapy_root_handler(settings)  # its LOG_FILE and LOG_LEVEL, as the process's
        return process.crawl(crawler, **arguments)

    def serve() -> None:
        for line in sys.stdin:
            try:
                threads.blockingCallFromThread(reactor, crawl, json.loads(line))
                answer = {"returncode": 0}
            except Exception as exc:  # the crawl could not run: a process would exit 1
                answer = {"returncode": 1, "error": f"{type(exc).__name__}: {exc}"}
            protocol.write(json.dumps(answer) + "\n")
        reactor.callFromThread(reactor.stop)

    threading.Thread(target=serve, daemon=True).start()
    process.start(stop_after_crawl=False, install_signal_handlers=False)


if __name__ == "__main__":
    main()
