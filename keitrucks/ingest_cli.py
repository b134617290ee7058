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

    config = config_of(ctx)
    check_tracker_database(db, must_exist=False)
    parts = Path(urlsplit(feed).path if "://" in feed else feed)
    data = read_feed(read_feed_bytes(feed, config).splitlines())
    record = data.record or {}
    source = source or record.get("source") or parts.parent.name
    if source not in known_sources():  # a saved file's folder is no source name
        raise CliError(
            f"{feed}: cannot tell whose feed this is ({source or 'no source'}): "
            f"give --source ({', '.join(known_sources())})",
            EXIT_USAGE,
        )
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
    done = ingest_feed(
        Path(db),
        data,
        job_id=job_id,
        source=source,
        as_of=as_of,
        server=feed if "://" in feed else None,
        config_path=root.get("config_path") if isinstance(root, dict) else None,
    )
    if done.already:
        click.echo(f"{source}: job {job_id} was stored before (run {done.run_id}); nothing changed")
        return
    finished = "finished" if data.record else "did not finish: nothing marked gone"
    click.echo(
        f"{source}: job {job_id} stored, {done.items} listings, run {done.run_id} ({finished})"
    )
