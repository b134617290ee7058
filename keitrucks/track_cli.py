"""``keitrucks track``: follow a truck found elsewhere (a Facebook post, a friend's ad) by hand.

The listing is stored as source ``manual`` and its price history is written by the crawl's own
code (``pipelines.manual``), so it is scored, reported and alerted like any crawled truck, and no
crawl ever marks it gone.
"""

from __future__ import annotations

import click

from keitrucks.common_cli import (
    EXIT_USAGE,
    AsOf,
    CliError,
    check_tracker_database,
    config_of,
    config_option,
    db_option,
)
from keitrucks.core.dates import AS_OF_FORMS, now_iso

#: Said when the text does not read as a kei truck (it is stored, but never scored as one).
NOT_A_TRUCK = "not read as a kei truck, so not scored: give the model and year in --text"
SEEN_HELP = f"When you saw it (default: now). DATE: {AS_OF_FORMS}."


def _seen_option(f):
    return click.option("--seen", "seen", type=AsOf(future=False), metavar="DATE", help=SEEN_HELP)(
        f
    )


def _open(db: str, *, must_exist: bool):
    from pipelines.schema import open_db

    check_tracker_database(db, must_exist=must_exist)
    return open_db(db)


def _describe(item) -> str:
    """'$6,500 US asking: 1996 Suzuki Carry 4WD, TN' from the stored listing."""
    what = " ".join(
        str(part)
        for part in (
            item.year,
            item.model or "unknown model",
            {True: "4WD", False: "2WD"}.get(item.is_4wd, ""),
        )
        if part
    )
    where = f", {item.state}" if item.state else ""
    claims = f" (seller says: {item.road_claims})" if item.road_claims else ""
    unread = "" if item.kind == "kei_truck" else f"; {NOT_A_TRUCK}"
    return f"${item.price_usd:,} US asking: {what}{where}{claims}{unread}"


def _us_dollars(price: str) -> str:
    """``price`` when it is in US dollars (or names no currency); a usage error otherwise. A
    yen price stored as "US asking" ($4,134 for 650,000 yen) was scored against US prices and
    alerted as 46% under, though freight, duty and fees are not in it."""
    from pipelines.normalize.price import normalize_price

    currency = normalize_price(price).currency
    if currency not in (None, "USD"):
        raise CliError(
            f"{price!r} is a price in {currency}: track takes the US asking price in dollars "
            "(6500 or $6,500); for a truck priced abroad, `keitrucks appraise` adds freight, "
            "duty and fees",
            EXIT_USAGE,
        )
    return price


def _events(events: dict[str, int]) -> str:
    return ", ".join(sorted(events)) or "no change"


@click.group()
def track() -> None:
    """Follow a truck you found elsewhere, by hand.

    Its price history, scores and alerts, like a crawled listing.

    `track add URL --price P --text "..."` stores it (source "manual"); `track price URL P`
    records a new price, `track gone URL` that it is no longer for sale; `track list` shows
    them. The history is written
    as a crawl writes it, and no crawl marks a tracked listing gone.

    \b
    Example:
      keitrucks track add https://www.facebook.com/marketplace/item/123 --price 6500 \\
          --text "1996 Suzuki Carry 4x4, 41k miles, runs great"
    """


@track.command()
@click.argument("url")
@click.option(
    "--price", required=True, help="The asking price as the seller gives it: 6500, $6,500."
)
@click.option("--title", help="The listing's title (default: the first sentence of --text).")
@click.option("--text", help="What the seller wrote (model, year, 4WD, miles, title ...).")
@click.option("--location", help="Where the truck is: 'Knoxville, TN', a ZIP code.")
@_seen_option
@db_option()
@config_option()
@click.pass_context
def add(ctx, url, price, title, text, location, seen, db) -> None:
    """Start tracking the listing at URL.

    Stores it with its price and what the seller wrote.

    The text is read like a crawled page (model, year, 4WD, miles, title, road claims); a URL
    already tracked is updated (a new price is a price change).

    \b
    Example:
      keitrucks track add https://www.facebook.com/marketplace/item/123 --price '$6,500' \\
          --text "1996 Suzuki Carry 4x4, 41k miles" --location "Knoxville, TN"
    """
    from pipelines.manual import ManualError, add_listing

    config = config_of(ctx)
    price = _us_dollars(price)
    database = _open(db, must_exist=False)
    try:
        item, events = add_listing(
            database,
            url=url,
            price=price,
            seen_at=seen or now_iso(),
            title=title,
            text=text,
            location=location,
            config=config,
        )
    except ManualError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    finally:
        database.close()
    click.echo(f"tracking {item.title!r}: {_describe(item)} [{_events(events)}]")


@track.command()
@click.argument("url")
@click.argument("new_price")
@_seen_option
@db_option()
@config_option()
@click.pass_context
def price(ctx, url, new_price, seen, db) -> None:
    """Record NEW_PRICE for the tracked listing at URL.

    \b
    Example:
      keitrucks track price https://www.facebook.com/marketplace/item/123 5900 --seen today
    """
    from pipelines.manual import ManualError, change_price

    config = config_of(ctx)
    new_price = _us_dollars(new_price)
    database = _open(db, must_exist=True)
    try:
        item, events = change_price(
            database, url=url, price=new_price, seen_at=seen or now_iso(), config=config
        )
    except ManualError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    finally:
        database.close()
    click.echo(f"{item.title!r}: {_describe(item)} [{_events(events)}]")


@track.command()
@click.argument("url")
@_seen_option
@db_option()
@config_option()
@click.pass_context
def gone(ctx, url, seen, db) -> None:
    """Mark the tracked listing at URL as no longer for sale.

    \b
    Example:
      keitrucks track gone https://www.facebook.com/marketplace/item/123
    """
    from pipelines.manual import ManualError, mark_listing_gone

    config_of(ctx)  # a bad --config is said, as by every command

    database = _open(db, must_exist=True)
    try:
        marked = mark_listing_gone(database, url=url, seen_at=seen or now_iso())
    except ManualError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    finally:
        database.close()
    click.echo(f"{url}: gone" if marked else f"{url}: already gone")


@track.command(name="list")
@db_option()
@config_option()
@click.pass_context
def list_command(ctx, db) -> None:
    """List the trucks you track by hand.

    Status, price, last seen, title and URL of each.

    \b
    Example:
      keitrucks track list --db data/keitrucks.db
    """
    from pipelines.manual import tracked_listings

    config_of(ctx)  # a bad --config is said, as by every command

    database = _open(db, must_exist=True)
    try:
        found = tracked_listings(database)
    finally:
        database.close()
    for row in found:
        price = f"${row['price_usd']:,}" if row["price_usd"] is not None else "no price"
        click.echo(
            f"{row['status']:<7} {price:>8}  {row['last_seen_at'][:10]}  "
            f"{row['title'] or ''}  {row['url']}"
        )
    click.echo(f"{len(found)} listing(s) tracked by hand")
