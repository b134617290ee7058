"""Readable pages: a table's column descriptions folded under one line ("What the N columns
mean") so the rows come first on the screen, and long text columns (titles, descriptions, the
deal score's why) wide enough to read instead of one word per line."""

from __future__ import annotations

import json

from datasette import hookimpl

from analysis.serve_plugins.config import plugin_config

#: Columns holding sentences: at least this wide.
WIDE_COLUMNS = ("title", "description", "why", "reason", "popup", "attributes")

_FOLD = """
(function () {
  const notes = document.querySelector("dl.column-descriptions");
  if (!notes) { return; }
  const fold = document.createElement("details");
  const line = document.createElement("summary");
  line.textContent = "What the " + notes.querySelectorAll("dt").length + " columns mean";
  fold.appendChild(line);
  notes.parentNode.insertBefore(fold, notes);
  fold.appendChild(notes);
})();
"""

_WIDE = """
(function () {
  const style = document.createElement("style");
  style.textContent = %s;
  document.head.appendChild(style);
})();
"""


def _wide_css() -> str:
    cells = ", ".join(f".rows-and-columns td.col-{name}" for name in WIDE_COLUMNS)
    return f"{cells} {{ min-width: 16em; }}"


@hookimpl
def extra_body_script(template, database, table, columns, view_name, request, datasette):
    if plugin_config(datasette, database) is None:
        return None
    script = _WIDE % json.dumps(_wide_css())
    return script + (_FOLD if view_name == "table" else "")
