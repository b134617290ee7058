"""The column descriptions of a table page folded under one line ("What the N columns mean"),
so the rows come first on the screen; one click opens them."""

from __future__ import annotations

from datasette import hookimpl

from analysis.serve_plugins.config import plugin_config

_SCRIPT = """
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


@hookimpl
def extra_body_script(template, database, table, columns, view_name, request, datasette):
    if view_name != "table" or plugin_config(datasette, database) is None:
        return None
    return _SCRIPT
