"""An example value in each parameter box of the canned queries.

The example of each parameter (``analysis.serve.query_examples``: a real listing of the
database, its most common state, the defaults) is set as the box's placeholder, so a first
visit shows what to type; the query descriptions link to the same examples.
"""

from __future__ import annotations

import json

from datasette import hookimpl

from analysis.serve_plugins.config import plugin_config

_SCRIPT = """
(function () {
  const examples = %s;
  document.querySelectorAll("form.sql input[type=text]").forEach(function (box) {
    if (examples[box.name] !== undefined && !box.value) {
      box.placeholder = "e.g. " + examples[box.name];
    }
  });
})();
"""


@hookimpl
def extra_body_script(template, database, table, columns, view_name, request, datasette):
    config = plugin_config(datasette, database)
    if config is None or request is None or not template.startswith("query"):
        return None
    query = request.url_vars.get("table")
    examples = config.get("examples", {}).get(query)
    if not examples:
        return None
    return _SCRIPT % json.dumps(examples)
