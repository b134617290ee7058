"""Crawl the demo's nights of the sample marketplace in one Scrapy process, night after night.

The demo is many nights of eight small crawls each: one ``scrapy crawl`` process per source and
night would spend most of the demo starting Python and Scrapy. This module runs them all in
one process (``python -m keitrucks.demo_crawl PLAN.json BASE_URL DB LOG [CONFIG]``): the sources
of a night crawl side by side, each with its own spider, pipelines and ``runs`` row, exactly as
``scrapy crawl`` would, and a night starts only when the one before has finished, so gone
listings are marked in order.

The plan is a JSON list of ``{"night", "as_of", "sources", "wait"}``, crawled under one
``base_url`` (a listing's search scope includes it, so every night must use the same): before
each night the sample server is told to turn to it (``keitrucks.sample.site.NIGHT_CONTROL``).
After each night the process writes ``crawled night N`` on stdout; after a night with ``wait``
it reads a line on stdin before going on (the demo reports and alerts in between), and stops
at end of input.

Only for the sample server: the local settings of :data:`keitrucks.crawl.LOCAL_SETTINGS` (no
politeness delay) apply.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import urllib.request
from pathlib import Path
from typing import Any

from keitrucks.crawl import LOCAL_SETTINGS, SETTINGS_ENV
from keitrucks.sample.site import NIGHT_CONTROL

logger = logging.getLogger(__name__)


def turn_to(base_url: str, night: int) -> None:
    """Tell the sample server at ``base_url`` to serve ``night`` from now on."""
    with urllib.request.urlopen(f"{base_url}{NIGHT_CONTROL}?n={night}", timeout=10) as answer:
        answer.read()


def crawl_plan(
    plan: list[dict[str, Any]], *, base_url: str, db: Path, config: Path | None, log: Path
) -> int:
    """Run ``plan`` into ``db``; 0 when every crawl finished, 1 when one raised."""
    os.environ.update(SETTINGS_ENV)
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings
    from scrapy.utils.reactor import install_reactor
    from twisted.internet import defer

    settings = get_project_settings()
    overrides = {**LOCAL_SETTINGS, "KEITRUCKS_DB_PATH": str(db.resolve()), "LOG_FILE": str(log)}
    if config is not None:
        overrides["KEITRUCKS_CONFIG"] = str(config.resolve())
    settings.setdict(overrides, priority="cmdline")
    if settings.get("TWISTED_REACTOR"):
        install_reactor(settings["TWISTED_REACTOR"])
    process = CrawlerProcess(settings)
    failed: list[str] = []

    @defer.inlineCallbacks
    def run_nights():
        try:
            for night in plan:
                turn_to(base_url, night["night"])
                crawls = [
                    process.crawl(source, base_url=base_url, as_of=night["as_of"])
                    for source in night["sources"]
                ]
                for done, result in (yield defer.DeferredList(crawls, consumeErrors=True)):
                    if not done:
                        failed.append(f"{night['as_of']}: {result.getErrorMessage()}")
                sys.stdout.write(f"crawled night {night['night']}\n")
                sys.stdout.flush()
                if night.get("wait") and not sys.stdin.readline():
                    break  # the caller is gone
        except Exception as exc:  # the sample server unreachable ...: say why, then stop
            failed.append(f"{type(exc).__name__}: {exc}")
        finally:
            if reactor.running:  # not already stopped by Ctrl-C
                reactor.stop()

    from twisted.internet import reactor

    reactor.callWhenRunning(run_nights)
    process.start(stop_after_crawl=False)
    for line in failed:
        sys.stderr.write(line + "\n")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    plan_path, base_url, db, log = Path(args[0]), args[1], Path(args[2]), Path(args[3])
    config = Path(args[4]) if len(args) > 4 else None
    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    return crawl_plan(plan, base_url=base_url, db=db, config=config, log=log)


if __name__ == "__main__":
    sys.exit(main())
