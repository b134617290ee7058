"""The ``appraise`` command: one truck from anywhere, against the tracker's market.

Input, one of: a listing's text (arguments, or stdin), JSON Lines of raw listings (stdin or a
file with ``--jsonl``), a saved page of a supported site (``--source SOURCE FILE``), or the URL
of a listing on a supported site. Output: a card per listing, or ``--json`` (one object per
line). The logic is ``analysis.appraise``; this module only gathers the input and prints.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import sys
from pathlib import Path

import click

from keitrucks.common_cli import (
    EXIT_DATABASE,
    EXIT_FAILED,
    EXIT_USAGE,
    CliError,
    as_of_option,
    cli_error,
    config_of,
    config_option,
    db_option,
)
from keitrucks.core.config import known_sources

logger = logging.getLogger(__name__)


def _read_stdin() -> str:
    if sys.stdin.isatty():  # nothing piped: say what to give rather than wait
        raise CliError(
            "nothing to appraise: give the listing's text (in quotes), a URL, or pipe it on stdin",
            EXIT_USAGE,
        )
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
    if isinstance(data, bytes):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CliError(f"stdin: {cli_error(exc).message}", EXIT_USAGE) from None
    return data


def _raw_listings(text_args, source, jsonl, scraped_at) -> list[tuple[str, dict | str]]:
    """(label, raw listing or an error line) per input listing."""
    from analysis.appraise_input import (
        NotAListingError,
        json_lines,
        raw_from_text,
        with_price_basis,
    )
    from keitrucks.appraise_pages import PageError, fetch_listing, listings_from_page

    try:
        if source:
            if len(text_args) != 1:
                raise CliError(
                    "--source takes one saved page: keitrucks appraise --source "
                    "craigslist page.html",
                    EXIT_USAGE,
                )
            path = Path(text_args[0])
            if not path.is_file():
                raise CliError(f"no such file: {path}", EXIT_USAGE)
            body = path.read_bytes()
            rows = listings_from_page(
                source, body, path.resolve().as_uri(), scraped_at, what=str(path)
            )
            return [(f"{path.name} #{i + 1}", row) for i, row in enumerate(rows)]
        text = Path(jsonl).read_text(encoding="utf-8") if jsonl else None
        if text is None:
            text = " ".join(text_args) if text_args else _read_stdin()
        stripped = text.strip()
        if stripped.startswith(("http://", "https://")) and len(stripped.split()) == 1:
            rows = fetch_listing(stripped, scraped_at)
            return [(stripped, row) for row in rows]
        records = json_lines(text)
        if records is not None or jsonl:
            if records is None:
                raise CliError(f"{jsonl}: not JSON Lines of raw listings", EXIT_USAGE)
            return [(f"line {i + 1}", with_price_basis(r)) for i, r in enumerate(records)]
        return [("text", raw_from_text(text, scraped_at=scraped_at))]
    except (NotAListingError, PageError) as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    except UnicodeDecodeError as exc:
        raise CliError(f"{jsonl or 'input'}: {cli_error(exc).message}", EXIT_USAGE) from None


@click.command()
@click.argument("text", nargs=-1)
@click.option(
    "--source",
    type=click.Choice(known_sources()),
    help="TEXT is a saved page of this site: read it with the site's parser.",
)
@click.option(
    "--jsonl",
    type=click.Path(dir_okay=False),
    help="A file of JSON Lines of raw listings (the `keitrucks normalize` shape).",
)
@db_option()
@config_option()
@as_of_option()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per listing.")
@click.pass_context
def appraise(ctx, text, source, jsonl, db, as_of, as_json) -> None:
    """Appraise one truck found anywhere against the market.

    What it is, what it is worth, whether it is a deal, and what to ask the seller.

    TEXT is the listing as the seller wrote it (title, description, price, place: paste it
    in quotes, or pipe it on stdin), a listing's URL on a site the tracker reads (fetched once,
    with the crawl's user agent and robots.txt rules), or with --source a saved page of that
    site. JSON Lines of raw listings on stdin (or --jsonl FILE) give one appraisal each.

    The card says what the truck is, whether the tracker would alert on it as an underpriced
    4WD (DEAL) or why not, its fair price with the comparables used, import eligibility, the
    landed cost of an exporter's price, your state's road rule ([buyer] state), and the
    questions to ask the seller. --json prints the same as one object per listing. --db is
    the market compared with; --as-of appraises against the market of that date.
    """
    from analysis.appraise import appraise as appraise_one
    from analysis.appraise import read_market, with_landed_usd
    from analysis.appraise_card import card_text
    from analysis.load import DatabaseMissing
    from pipelines.jsonl import normalize_record

    config = config_of(ctx)
    day = dt.date.fromisoformat(as_of[:10]) if as_of else dt.datetime.now(dt.UTC).date()
    scraped_at = as_of or f"{day.isoformat()}T12:00:00+00:00"
    if not Path(db).is_file():
        raise CliError(
            f"no database at {db}: run a crawl (or `keitrucks demo`) first, or pick one with --db",
            EXIT_DATABASE,
        )
    inputs = _raw_listings(text, source, jsonl, scraped_at)
    failed = 0
    for number, (label, raw) in enumerate(inputs):
        try:
            raw = {**raw, "scraped_at": raw.get("scraped_at") or scraped_at}
            listing = with_landed_usd(normalize_record(raw, config=config), config)
            market = read_market(db, day, config, listing)
            result = appraise_one(listing, market, as_of=day, config=config, market_name=str(db))
        except (DatabaseMissing, sqlite3.DatabaseError) as exc:  # the market, not the listing
            raise cli_error(exc) from None
        except Exception as exc:  # one bad listing must not stop the others
            failed += 1
            logger.debug("appraise failed on %s", label, exc_info=True)
            click.echo(f"{label}: could not appraise ({type(exc).__name__}: {exc})", err=True)
            continue
        if as_json:
            click.echo(json.dumps(result, ensure_ascii=False, default=str))
        else:
            if number:
                click.echo("")
            click.echo(card_text(result))
    if failed:
        raise CliError(f"{failed} of {len(inputs)} listing(s) could not be appraised", EXIT_FAILED)
