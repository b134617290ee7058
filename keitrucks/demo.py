"""The whole night, three times, on the bundled sample marketplace: offline and reproducible."""

from __future__ import annotations

import logging
import shlex
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.load import read_listings
from keitrucks.common_cli import command_for
from keitrucks.core.dates import normalize_as_of
from keitrucks.night import NightResult, crawl_sources, finish_night
from keitrucks.sample.build import sample_config_toml
from keitrucks.sample.catalog import NIGHTS, SOURCES
from keitrucks.sample.site import SAMPLE_DIR, SampleServer
from pipelines.listings import count_summary
from pipelines.manual import add_listing
from pipelines.schema import open_db

logger = logging.getLogger(__name__)

#: Why a stored listing is kept out of deal scoring, first match wins: (words, column, test on
#: the column's values). Columns a database lacks (an older normalizer) set nothing aside.
SET_ASIDE = (
    ("parts", "kind", lambda v: v.eq("parts")),
    ("wanted", "kind", lambda v: v.eq("wanted")),
    ("not kei", "kind", lambda v: v.isin(("other_vehicle", "toy"))),
    ("not running", "runs", lambda v: v.eq(0)),
    ("title problems", "title_status", lambda v: v.notna() & v.ne("clean")),
    ("pending", "sale_pending", lambda v: v.eq(1)),
)


def set_aside(listings: pd.DataFrame) -> dict[str, int]:
    """How many stored listings each reason of :data:`SET_ASIDE` keeps out of deal scoring."""
    left = pd.Series(True, index=listings.index)
    counts: dict[str, int] = {}
    for words, column, test in SET_ASIDE:
        if column not in listings.columns:
            continue
        hit = left & test(listings[column].astype("object")).astype(bool)
        if hit.any():
            counts[words] = int(hit.sum())
        left &= ~hit
    return counts


def set_aside_text(counts: dict[str, int]) -> str:
    """ "7 (4 parts, 3 not running)", or "none" when nothing is set aside."""
    if not counts:
        return "none"
    detail = ", ".join(f"{n} {words}" for words, n in counts.items())
    return f"{sum(counts.values())} ({detail})"


@dataclass
class DemoSummary:
    db: Path
    out: Path
    nights: list[NightResult] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)
    #: listings kept out of deal scoring, by reason (:func:`set_aside`).
    set_aside: dict[str, int] = field(default_factory=dict)
    #: the truck the demo tracked by hand (:func:`track_demo_truck`), in words.
    by_hand: str = ""

    @property
    def ok(self) -> bool:
        return all(n.ok for n in self.nights)

    def text(self, seconds: float, command: Callable[[str], str] = command_for) -> str:
        """The closing summary; ``command(name)`` is how the user types an installed program
        (``keitrucks``, ``sqlite-utils``), which may not be on their PATH."""
        t = self.totals
        db = shlex.quote(str(self.db))
        lines = [
            "",
            f"Demo finished in {seconds:.0f}s: {len(self.nights)} nights, "
            f"{t.get('sources', 0)} sources.",
            f"  listings         {t.get('listings', 0)} ({t.get('trucks', 0)} kei trucks, "
            f"{t.get('active', 0)} still for sale)",
            f"  price changes    {t.get('price_changes', 0)}",
            f"  gone             {t.get('gone', 0)}",
            f"  relisted         {t.get('relisted', 0)}",
            f"  set aside        {set_aside_text(self.set_aside)} from deal scoring",
            *([f"  tracked by hand  {self.by_hand}"] if self.by_hand else []),
            f"  alerts           {t.get('alerts', 0)}",
            f"  database         {self.db}",
            f"  reports          {self.nights[-1].report_folder if self.nights else self.out}",
            "Explore it:",
            f"  {command('keitrucks')} serve --db {db}    (then open http://127.0.0.1:8001/)",
            f"  {command('sqlite-utils')} {db} 'select * from for_sale limit 5' --table",
        ]
        return "\n".join(lines)


#: The table and row that mark a database as the demo's own (the only kind it replaces).
META_TABLE = "keitrucks_meta"
DEMO_MARK = {"key": "created_by", "value": "demo"}


class NotADemoDatabaseError(Exception):
    """``--db`` names a file the demo did not create: replacing it needs ``--force``."""


def created_by_demo(db: Path) -> bool:
    """Whether ``db`` carries the demo's mark (a file that is not SQLite does not)."""
    try:
        with closing(sqlite3.connect(f"file:{db.resolve()}?mode=ro", uri=True)) as conn:
            found = conn.execute(
                f"SELECT 1 FROM {META_TABLE} WHERE key = ? AND value = ?",
                (DEMO_MARK["key"], DEMO_MARK["value"]),
            ).fetchone()
    except sqlite3.Error:
        return False
    return found is not None


def check_replaceable(db: Path, *, force: bool = False) -> None:
    """Raise ``NotADemoDatabaseError`` unless ``db`` is absent, the demo's own, or ``force``."""
    if force or not db.exists() or created_by_demo(db):
        return
    raise NotADemoDatabaseError(
        f"{db} was not created by the demo: not replacing it "
        "(choose another --db, or --force to replace it)"
    )


def _mark_as_demo(db: Path) -> None:
    database = open_db(db)
    try:
        database[META_TABLE].insert(DEMO_MARK, pk="key", replace=True)
    finally:
        database.close()


def _remove_db(db: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


#: The sample marketplace is around Knoxville: without a buyer state of the user's own, the
#: demo shows the road rules as a Tennessee buyer would read them.
DEMO_BUYER_STATE = "TN"


def with_demo_buyer(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with the demo's buyer state unless the user set one."""
    if config["buyer"].get("state"):
        return config
    return {**config, "buyer": {**config["buyer"], "state": DEMO_BUYER_STATE}}


#: The truck the demo tracks by hand on its first night, as `keitrucks track add` would.
DEMO_TRACKED = {
    "url": "https://www.facebook.com/marketplace/item/demo-kei-truck/",
    "price": "$6,200",
    "text": "1996 Suzuki Carry 4x4 DA51T, 5 speed, hi/lo, 52k miles, runs and drives great. "
    "Titled and tagged, street legal in TN.",
    "location": "Maryville, TN",
}


def track_demo_truck(db: Path, as_of: str, config: dict[str, Any]) -> str:
    """Track ``DEMO_TRACKED`` by hand, seen ``as_of``; the summary's words for it."""
    database = open_db(db)
    try:
        item, _ = add_listing(database, seen_at=as_of, config=config, **DEMO_TRACKED)
    finally:
        database.close()
    claims = f", seller says: {item.road_claims}" if item.road_claims else ""
    return (
        f"{item.year} {item.model}, ${item.price_usd:,} US asking ({DEMO_TRACKED['url']}{claims})"
    )


def run_demo(
    db: Path,
    out: Path,
    *,
    config: dict[str, Any],
    echo: Callable[[str], None] = logger.info,
    sample_dir: Path = SAMPLE_DIR,
    force: bool = False,
    on_counts: Callable[[str, dict[str, Any] | None], None] | None = None,
) -> DemoSummary:
    """Crawl the three sample nights into a fresh ``db``; report and alert after each night.

    Replaces ``db`` only when the demo created it (``check_replaceable``), or with ``force``.
    ``on_counts`` follows each running crawl (``keitrucks.night.crawl_sources``).
    """
    check_replaceable(db, force=force)
    config = with_demo_buyer(config)
    _remove_db(db)
    _mark_as_demo(db)
    summary = DemoSummary(db=db, out=out)
    sample_config = out / "sample-sources.toml"
    sample_config.parent.mkdir(parents=True, exist_ok=True)
    sample_config.write_text(sample_config_toml(), encoding="utf-8")
    with SampleServer(sample_dir) as server:
        echo(f"Sample marketplace on {server.base_url} (offline); database {db}")
        for index, night in enumerate(NIGHTS, start=1):
            server.night = index
            as_of = normalize_as_of(night)
            result = NightResult(as_of=as_of)

            def progress(source, outcome, index=index, night=night):
                mark = "ok  " if outcome.ok else "FAIL"
                echo(
                    f"night {index}/{len(NIGHTS)} {night} {source:<14} {mark} "
                    f"{outcome.line.removeprefix('ok: ')}"
                )

            result.outcomes = crawl_sources(
                db,
                list(SOURCES),
                as_of=as_of,
                base_url=server.base_url,
                config_path=str(sample_config),
                log_dir=db.parent / "logs",
                progress=progress,
                on_counts=on_counts,
            )
            if index == 1:  # then two crawl nights mark their own listings gone, never it
                summary.by_hand = track_demo_truck(db, as_of, config)
            finish_night(result, db, out, config=config, sources=list(SOURCES), echo=echo)
            raised = len(result.alerts.raised) if result.alerts is not None else 0
            echo(
                f"night {index}/{len(NIGHTS)} {night} report {result.report_folder}, "
                f"{raised} alert(s)"
            )
            summary.nights.append(result)
    summary.totals = count_summary(db)
    summary.set_aside = set_aside(read_listings(db))
    return summary
