"""``keitrucks ingest``: store a Scrapyd job's feed by hand (after the night's host crashed).

A night stores each job's feed as the job ends. When the night's machine went down before it
did, the feeds are still on the Scrapyd hosts (``items_dir``, until ``jobs_to_keep`` deletes
them); this stores one, from its URL or a saved file. A job already stored changes nothing.
"""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

import click

from keitrucks.common_cli import (
    EXIT_FAILED,
    EXIT_USAGE,
    CliError,
    check_tracker_database,
    config_of,
    db_option,
)
from keitrucks.core.config import known_sources

#: What a feed line needs to be a listing (the fields of scrapers.items.Listing without default).
LISTING_KEYS = ("source", "listing_id", "url")


def _credentials_for(url: str, config: dict) -> str | None:
    """The ``auth_env`` credentials of the configured server ``url`` is on, if any."""
    from keitrucks.scrapyd import servers_from_config

    for client, _ in servers_from_config(config):
        if url.startswith(client.url):
            return client.credentials
    return None


def read_feed_bytes(where: str, config: dict) -> bytes:
    if "://" not in where:
        try:
            return Path(where).read_bytes()
        except OSError as exc:
            raise CliError(f"cannot read {where}: {exc.strerror or exc}", EXIT_FAILED) from None
    request = Request(where)
    credentials = _credentials_for(where, config)
    if credentials:
        token = base64.b64encode(credentials.encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urlopen(request, timeout=60) as response:
            return response.read()
    except HTTPError as exc:
        raise CliError(f"{where}: HTTP {exc.code} {exc.reason}", EXIT_FAILED) from None
    except (URLError, OSError) as exc:
        raise CliError(f"{where}: {getattr(exc, 'reason', exc)}", EXIT_FAILED) from None


def job_source(feed: str, data, given: str | None, folder: str) -> str:
    """The source a feed is stored as: ``--source``, else the one its run record or listings
    name, else its URL's folder; one line and exit 2 when it is no source the tracker knows or
    is not the one the feed names (its run would say that source crawled when it did not)."""
    from keitrucks.core.config import known_sources

    named = (data.record or {}).get("source") or next(
        (i.get("source") for i in data.items if i.get("source")), None
    )
    if given and named and given != named:
        raise CliError(f"{feed} is a job of {named}, not {given}: leave out --source", EXIT_USAGE)
    source = given or named or folder
    if source not in known_sources():  # a saved file's folder is no source name
        whose = f"{source!r} is no source the tracker knows" if source else "it names no source"
        raise CliError(
            f"{feed}: cannot tell whose feed this is ({whose}): give --source, one of "
            + ", ".join(known_sources()),
            EXIT_USAGE,
        )
    return source


@click.command()
@click.argument("feed")
@db_option()
@click.option(
    "--source",
    type=click.Choice(known_sources()),
    help="The job's source. Default: the feed's, or its URL's folder.",
)
@click.option("--job", "job_id", help="The job id. Default: the feed's file name, without .jl.")
@click.pass_context
def ingest(ctx, feed: str, db: str, source: str | None, job_id: str | None) -> None:
    """Store the feed of one Scrapyd job in the database.

    FEED is a URL such as http://host:6800/items/keitrucks/beforward/JOB.jl, or a saved file.

    Its listings go through the same pipelines as a night's, and its run is judged the same
    way; a feed without its run record (the job was killed) marks nothing gone. A job stored
    before is left as it is.

    \b
    Example:
      keitrucks ingest http://scrapyd.local:6800/items/keitrucks/beforward/JOB.jl
    """
    from keitrucks.remote_ingest import ingest_feed, read_feed
    from pipelines.storage import SourceBusyError

    config = config_of(ctx)
    check_tracker_database(db, must_exist=False)
    parts = Path(urlsplit(feed).path if "://" in feed else feed)
    data = read_feed(read_feed_bytes(feed, config).splitlines())
    record = data.record or {}
    source = job_source(feed, data, source, parts.parent.name)
    for number, item in enumerate(data.items, 1):  # the job's listings, as its spider made them
        item.setdefault("source", source)
        missing = [name for name in LISTING_KEYS if not item.get(name)]
        if missing:
            raise CliError(
                f"{feed}: listing {number} has no {', '.join(missing)}: not a feed of a "
                "keitrucks job",
                EXIT_USAGE,
            )
    job_id = job_id or parts.stem
    as_of = record.get("as_of") or (data.items[0].get("scraped_at") if data.items else None)
    if not as_of:
        raise CliError(f"{feed}: no listing and no run record: nothing to store", EXIT_FAILED)
    root = ctx.find_root().obj
    try:
        done = ingest_feed(
            Path(db),
            data,
            job_id=job_id,
            source=source,
            as_of=as_of,
            server=feed if "://" in feed else None,
            config_path=root.get("config_path") if isinstance(root, dict) else None,
        )
    except SourceBusyError as exc:  # a night crawling the same source: store it after
        raise CliError(f"{source}: {exc}; try again when it ends", EXIT_FAILED) from None
    if done.already:
        click.echo(f"{source}: job {job_id} was stored before (run {done.run_id}); nothing changed")
        return
    finished = "finished" if data.record else "did not finish: nothing marked gone"
    click.echo(
        f"{source}: job {job_id} stored, {done.items} listings, run {done.run_id} ({finished})"
    )
