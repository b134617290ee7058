"""The appraisal page of ``keitrucks serve``: a Datasette plugin route, ``/-/appraise``.

A text box for a listing's text as the seller wrote it; the answer is the appraisal card
(``analysis.appraise_card.card_html``) with links to each comparable's row in the database.
Read-only: a GET form, the market read through ``analysis.load``'s read-only connections, nothing
stored. ``register()`` (before a Datasette is built) adds the route; ``configure(datasette,
config)`` gives it the configuration (buyer state, deal and alert settings).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from datasette import hookimpl
from datasette.plugins import pm
from datasette.utils.asgi import Response

from analysis.appraise import appraise, read_market, with_landed_usd
from analysis.appraise_card import card_html
from analysis.appraise_input import NotAListingError, raw_from_text
from analysis.load import as_of_date
from pipelines.jsonl import normalize_record

logger = logging.getLogger(__name__)

PATH = "/-/appraise"
PLUGIN_NAME = "keitrucks-appraise"
#: The most text the page reads (characters): a listing, not a book.
MAX_TEXT = 20_000
_CONFIGS: dict[int, dict] = {}

STYLE = """
body { max-width: 60rem; padding: 0 1rem; margin: 0 auto; }
.appraisal ul { list-style: disc; padding-left: 1.5rem; }
textarea { width: 100%; font-size: 1rem; }
.appraisal { border: 2px solid #999; border-radius: 6px; padding: 0 1rem 1rem; margin-top: 1rem; }
.appraisal.deal { border-color: #2a7d2a; }
.appraisal.nodeal { border-color: #b55; }
.verdict { font-size: 1.25rem; font-weight: bold; }
.deal .verdict { color: #2a7d2a; }
.nodeal .verdict { color: #a33; }
.facts th { text-align: left; vertical-align: top; padding-right: 1rem; white-space: nowrap; }
.comparables td, .comparables th { padding: 0.2rem 0.6rem 0.2rem 0; text-align: left; }
.error { color: #a33; font-weight: bold; }
"""

EXAMPLE = (
    "96 Honda Acty 4x4 mini truck - $3,500 obo\n"
    "Runs and drives, clean title in hand, 41k miles, hi/lo works.\n"
    "Location: Knoxville, TN"
)


def register() -> None:
    """Register the page's plugin (once per process), before a Datasette is built: Datasette
    reads its plugins' routes when it is constructed."""
    if pm.get_plugin(PLUGIN_NAME) is None:
        import analysis.appraise_web as plugin

        pm.register(plugin, name=PLUGIN_NAME)


def configure(datasette, config: Mapping[str, Any] | None = None) -> None:
    """Give the page of ``datasette`` the configuration (buyer state, deal and alert settings)."""
    _CONFIGS[id(datasette)] = dict(config or {})


@hookimpl
def register_routes():
    return [(rf"^{PATH}$", appraise_page)]


@hookimpl
def menu_links(datasette):
    return [{"href": datasette.urls.path(PATH), "label": "Appraise a truck"}]


def _database(datasette):
    """(name, path) of the tracker's database this Datasette serves."""
    for name, database in datasette.databases.items():
        if database.path and not name.startswith("_"):
            return name, database.path
    return None, None


def row_link(datasette, db_name: str):
    def link(comparable: Mapping[str, Any]) -> str:
        query = urlencode({"source": comparable["source"], "listing_id": comparable["listing_id"]})
        return datasette.urls.table(db_name, "listings") + "?" + query

    return link


def appraise_text(text: str, db_path: str, config: Mapping, as_of: dt.date) -> dict:
    """The appraisal of a pasted text against the database (blocking: run in a thread)."""
    scraped_at = f"{as_of.isoformat()}T12:00:00+00:00"
    listing = with_landed_usd(
        normalize_record(raw_from_text(text, scraped_at=scraped_at), config=config), config
    )
    market = read_market(db_path, as_of, config, listing)
    return appraise(listing, market, as_of=as_of, config=config)


async def appraise_page(datasette, request):
    text = (request.args.get("text") or "")[:MAX_TEXT]
    config = _CONFIGS.get(id(datasette), {})
    db_name, db_path = _database(datasette)
    result_html = ""
    if text.strip():
        try:
            day = as_of_date(request.args.get("as_of") or dt.datetime.now(dt.UTC).date())
            result = await asyncio.to_thread(appraise_text, text, db_path, config, day)
            result_html = card_html(result, row_link(datasette, db_name))
        except (NotAListingError, ValueError) as exc:
            result_html = f'<p class="error">{html.escape(str(exc))}</p>'
        except Exception as exc:  # the page says it in one line; the log has the rest
            logger.exception("appraisal failed")
            result_html = f'<p class="error">could not appraise: {html.escape(repr(exc))}</p>'
    elif "text" in request.args:
        result_html = (
            '<p class="error">nothing to appraise: paste the listing\'s text '
            "(title, description, price, place)</p>"
        )
    return Response.html(_page(datasette, text, result_html, db_name))


def _page(datasette, text: str, result_html: str, db_name: str | None) -> str:
    e = html.escape
    home = datasette.urls.instance()
    market = f' against <a href="{e(datasette.urls.database(db_name))}">{e(db_name)}</a>'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Appraise a truck - Kei Truck Tracker</title>
<link rel="stylesheet" href="{e(datasette.urls.static("app.css"))}">
<style>{STYLE}</style></head>
<body><div class="page-header"><h1>Appraise a truck</h1></div>
<p><a href="{e(home)}">Kei Truck Tracker</a> &middot; paste a listing from anywhere (Facebook,
a dealer, a message): what it really is, what it is worth{market if db_name else ""}, whether
the tracker would alert on it as an underpriced 4WD, and what to ask the seller.</p>
<form action="{e(datasette.urls.path(PATH))}" method="get">
<textarea name="text" rows="8" placeholder="{e(EXAMPLE)}">{e(text)}</textarea>
<p><input type="submit" value="Appraise"></p>
</form>
{result_html}
</body></html>"""
