"""Links from every listing to its full price history (the ``truck_history`` canned query).

Wherever a row shows a ``listing_id`` beside its ``source`` (the ``listings`` table and its row
pages, the views, ``price_history``, the canned queries), the cell links to the listing's row
and to the truck's price history, all its reposts joined; a listing's row page says it once
more under its title.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from datasette import hookimpl
from datasette.utils import tilde_decode, tilde_encode
from markupsafe import Markup, escape

from analysis.serve_plugins.config import plugin_config

#: The table a listing's row page belongs to.
LISTINGS = "listings"


def _get(row: Any, column: str) -> Any:
    try:
        return row[column]
    except (IndexError, KeyError, TypeError):
        return None


def history_url(datasette: Any, database: str, query: str, source: str, listing_id: str) -> str:
    """The address of the canned query ``query`` showing the truck of ``source:listing_id``."""
    base = datasette.urls.database(database) + "/" + tilde_encode(query)
    return f"{base}?{urlencode({'listing': f'{source}:{listing_id}'})}"


def listing_url(datasette: Any, database: str, source: str, listing_id: str) -> str:
    """The row page of one listing (``listings``' primary key is source, listing_id)."""
    row_path = f"{tilde_encode(str(source))},{tilde_encode(str(listing_id))}"
    return datasette.urls.row(database, LISTINGS, row_path)


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if column != "listing_id" or value is None:
        return None
    config = plugin_config(datasette, database)
    source = _get(row, "source")
    if config is None or source is None:
        return None
    history = history_url(datasette, database, config["history_query"], source, value)
    links = [f'<a href="{escape(history)}">price history</a>']
    if table != LISTINGS:  # a listings row already links to itself
        links.insert(
            0, f'<a href="{escape(listing_url(datasette, database, source, value))}">listing</a>'
        )
    return Markup(f"{escape(value)} <small>({' · '.join(links)})</small>")


_ROW_SCRIPT = """
(function () {
  const line = document.createElement("p");
  const link = document.createElement("a");
  link.href = %s;
  link.textContent = "Full price history of this truck (all its reposts)";
  line.appendChild(link);
  const title = document.querySelector("h1");
  title.parentNode.insertBefore(line, title.nextSibling);
})();
"""


@hookimpl
def extra_body_script(template, database, table, columns, view_name, request, datasette):
    """On a listing's row page, a line under the title links to the truck's price history."""
    if view_name != "row" or table != LISTINGS or request is None:
        return None
    config = plugin_config(datasette, database)
    pks = request.url_vars.get("pks", "")
    if config is None or pks.count(",") != 1:
        return None
    source, listing_id = (tilde_decode(part) for part in pks.split(","))
    url = history_url(datasette, database, config["history_query"], source, listing_id)
    return _ROW_SCRIPT % json.dumps(url)
