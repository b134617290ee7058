"""Readers and the crawl share the database: nobody sees "database is locked".

Users keep Datasette or a sqlite3 shell open on the database while the nightly crawl writes.
Here a crawl writes one item per transaction (``KEITRUCKS_BATCH_SIZE=1``, the most write
transactions a crawl can make) while, all the time, plain sqlite3 readers run the queries users
run (one of them holding a read transaction open across the writes, as a slow query does) and an
in-process Datasette answers table and SQL requests. Readers use a short busy timeout, so any
waiting on a lock would show as an error rather than hide in a five-second default.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from datasette.app import Datasette

from keitrucks.sample.catalog import NIGHTS
from pipelines.schema import open_db
from tests.conftest import rows

pytestmark = pytest.mark.slow

QUERIES = (
    "SELECT count(*) FROM listings",
    "SELECT source, count(*), max(last_seen_at) FROM listings GROUP BY source",
    "SELECT * FROM price_history ORDER BY id DESC LIMIT 20",
    "SELECT * FROM active_trucks ORDER BY price_usd LIMIT 50",
    "SELECT * FROM latest_runs",
)
DATASETTE_PATHS = (
    "/busy/listings.json?_shape=array&_size=50",
    "/busy.json?sql=select+source,count(*)+as+n+from+price_history+group+by+source&_shape=array",
    "/busy/runs.json?_shape=array",
)


class Readers:
    """Background readers that count their queries and keep every error they hit."""

    def __init__(self, db: Path):
        self.db = db
        self.stop = threading.Event()
        self.done: Counter[str] = Counter()
        self.errors: list[str] = []
        self.threads = [
            threading.Thread(target=self._sqlite, args=(False,), daemon=True),
            threading.Thread(target=self._sqlite, args=(True,), daemon=True),
            threading.Thread(target=self._datasette, daemon=True),
        ]

    def __enter__(self) -> Readers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def _sqlite(self, long_transaction: bool) -> None:
        name = "sqlite3-snapshot" if long_transaction else "sqlite3"
        while not self.stop.is_set():
            conn = sqlite3.connect(self.db, timeout=0.2, isolation_level=None)
            try:
                if long_transaction:
                    conn.execute("BEGIN")
                for sql in QUERIES:
                    conn.execute(sql).fetchall()
                    self.done[name] += 1
                    if long_transaction:
                        time.sleep(0.05)
                if long_transaction:
                    conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self.errors.append(f"{name}: {exc}")
            finally:
                conn.close()
            time.sleep(0.01)

    def _datasette(self) -> None:
        async def run() -> None:
            ds = Datasette([str(self.db)])
            await ds.invoke_startup()
            while not self.stop.is_set():
                for path in DATASETTE_PATHS:
                    response = await ds.client.get(path)
                    if response.status_code != 200 or "database is locked" in response.text:
                        self.errors.append(
                            f"datasette {path}: {response.status_code} {response.text[:200]}"
                        )
                    else:
                        self.done["datasette"] += 1
                await asyncio.sleep(0.01)

        try:
            asyncio.run(run())
        except Exception as exc:  # a reader must never die silently
            self.errors.append(f"datasette: {exc!r}")


def test_readers_never_see_a_locked_database_while_crawls_write(tmp_path, sample_server, crawl):
    db = tmp_path / "busy.db"
    open_db(db).close()  # the schema exists before anyone reads, as `keitrucks nightly` does
    with Readers(db) as readers:
        result = crawl(
            "craigslist", sample_server, NIGHTS[0], db=db, settings={"KEITRUCKS_BATCH_SIZE": "1"}
        )
        assert result.returncode == 0, result.stderr_tail
        time.sleep(0.2)

    assert readers.errors == []
    assert min(readers.done[k] for k in ("sqlite3", "sqlite3-snapshot", "datasette")) > 10
    log = (tmp_path / "craigslist.log").read_text(encoding="utf-8")
    assert "database is locked" not in log
    assert "Traceback" not in log
    (run,) = rows(db, "SELECT source, status, complete, healthy, items FROM runs")
    assert (run["source"], run["status"], run["healthy"]) == ("craigslist", "finished", 1)
    assert rows(db, "SELECT count(*) AS n FROM listings")[0]["n"] == run["items"] > 40
    assert rows(db, "PRAGMA integrity_check")[0]["integrity_check"] == "ok"
